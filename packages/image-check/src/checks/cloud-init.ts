import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isFile, readText } from '../text.js';
import { datasourceList, defaultUser, readCloudConfig } from './cloud-config.js';
import { cloudInitState } from './cloud-init-state.js';
import type { Check } from './types.js';

const USABLE = ['ConfigDrive', 'OpenStack', 'Ec2'];

const DS_IDENTIFY = ['/usr/lib/cloud-init/ds-identify', '/usr/libexec/cloud-init/ds-identify'];

/** ds-identify is installed and its policy lets it disable cloud-init when it detects nothing. */
async function dsIdentifyDecides(fs: ReadOnlyFileSystem): Promise<boolean> {
  let present = false;
  for (const p of DS_IDENTIFY) if (await isFile(fs, p)) present = true;
  if (!present) return false;
  const cfg = (await readText(fs, '/etc/cloud/ds-identify.cfg')) ?? '';
  return !/^\s*policy:\s*(enabled|[^\n]*notfound=enabled)/m.test(cfg);
}

export const cloudInit: Check = {
  id: 'cloud-init',
  title: 'cloud-init processes user data and metadata',
  requirement: 'Process user data and other metadata (cloud-init)',
  async run(ctx) {
    const fs = ctx.fs;
    const cfg = await ctx.memo('cloud-config', () => readCloudConfig(fs));
    const pkgs = await ctx.packages();
    const pkg = pkgs?.get('cloud-init');
    if (!cfg.installed && !pkg) {
      return {
        status: 'fail',
        summary: 'cloud-init is not installed: user data, hostname and metadata are not processed',
        evidence: ['no /usr/bin/cloud-init', ...(pkgs ? ['cloud-init is not in the package database'] : [])],
        fix: 'Install the cloud-init package (and cloud-guest-utils / cloud-utils-growpart for resizing).',
      };
    }
    const evidence = [cfg.installedBy ? `${cfg.installedBy} present` : 'cloud-init package installed', ...(pkg?.version ? [`cloud-init ${pkg.version}`] : [])];
    const state = await cloudInitState(ctx);
    evidence.push(...state.evidence);
    if (state.stopped) return { status: 'fail', summary: state.stopped.summary, evidence: [...evidence, state.stopped.evidence], fix: state.stopped.fix };
    for (const b of cfg.broken) evidence.push(`${b}: not valid YAML, cloud-init will ignore or fail on it`);
    const list = datasourceList(cfg);
    const user = defaultUser(cfg);
    if (user) evidence.push(`default user: ${user}`);
    const properties = { cloud_init_installed: 'true' };
    if (list) {
      evidence.push(`datasource_list: [${list.join(', ')}]`);
      if (!list.some((d) => USABLE.includes(d))) {
        return { status: 'fail', summary: `no datasource usable on OpenStack in datasource_list (${list.join(', ')})`, evidence, fix: 'Set `datasource_list: [ ConfigDrive, OpenStack, None ]` (config drive, then the metadata service) in /etc/cloud/cloud.cfg.d/90_dpkg.cfg or a file of your own.', properties };
      }
    }
    const real = list?.filter((d) => d !== 'None');
    // ds-identify (run by cloud-init's generator) cannot recognise OpenStack from XenServer's DMI
    // ("HVM domU"); it finds a config drive by its label. A list it can settle without DMI — the
    // default list or one naming ConfigDrive (with nova attaching a drive), or a single pinned
    // source — works; several sources without ConfigDrive leave it nothing to detect.
    if (real && real.length > 1 && !real.includes('ConfigDrive') && (await dsIdentifyDecides(fs))) {
      return {
        status: 'warn',
        summary: `cloud-init is set up, but on XenServer ds-identify cannot detect any of ${real.join(', ')} (DMI says "HVM domU") and disables cloud-init`,
        evidence: [...evidence, 'ds-identify present; datasource_list names several sources and no ConfigDrive'],
        fix: 'Use `datasource_list: [ ConfigDrive, OpenStack, None ]` and have nova attach a config drive, or pin one datasource (`datasource_list: [ OpenStack, None ]`) so ds-identify enables cloud-init without detection.',
        properties,
      };
    }
    if (cfg.broken.length > 0) {
      return { status: 'warn', summary: 'cloud-init is enabled but some of its config files do not parse', evidence, fix: `Fix the YAML in ${cfg.broken.join(', ')}.`, properties };
    }
    return { status: 'pass', summary: `cloud-init is installed and enabled${user ? `; default user "${user}"` : ''}`, evidence, fix: '', properties };
  },
};
