import { isFile } from '../text.js';
import { datasourceList, defaultUser, readCloudConfig } from './cloud-config.js';
import { cloudInitState } from './cloud-init-state.js';
import type { Check } from './types.js';

const USABLE = ['ConfigDrive', 'OpenStack', 'Ec2'];

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
        return { status: 'fail', summary: `no datasource usable on OpenStack in datasource_list (${list.join(', ')})`, evidence, fix: 'Set `datasource_list: [ ConfigDrive, OpenStack, Ec2, None ]` in /etc/cloud/cloud.cfg.d/90_dpkg.cfg or a file of your own.', properties };
      }
    }
    const real = list?.filter((d) => d !== 'None');
    if ((!real || real.length > 1) && (await isFile(fs, '/usr/lib/cloud-init/ds-identify'))) {
      return {
        status: 'warn',
        summary: 'cloud-init is set up, but on XenServer ds-identify cannot recognise OpenStack (DMI says "HVM domU") and disables cloud-init when no config drive is attached',
        evidence: [...evidence, `/usr/lib/cloud-init/ds-identify present; datasource_list ${list ? 'lists several sources' : 'is the default list'}`],
        fix: 'Attach a config drive, or pin one datasource (`datasource_list: [ OpenStack, None ]`) so ds-identify enables cloud-init without detection.',
        properties,
      };
    }
    if (cfg.broken.length > 0) {
      return { status: 'warn', summary: 'cloud-init is enabled but some of its config files do not parse', evidence, fix: `Fix the YAML in ${cfg.broken.join(', ')}.`, properties };
    }
    return { status: 'pass', summary: `cloud-init is installed and enabled${user ? `; default user "${user}"` : ''}`, evidence, fix: '', properties };
  },
};
