import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { serviceState } from '../services.js';
import { isFile } from '../text.js';
import { bootScripts } from './boot-hooks.js';
import { enabledModules } from './cloud-config.js';
import { cloudInitState } from './cloud-init-state.js';
import { novaAutoDiskConfigReason } from './nova.js';
import type { Check } from './types.js';

const GROWPART = ['/usr/bin/growpart', '/usr/sbin/growpart', '/bin/growpart', '/sbin/growpart'];
const GROWROOT = [
  '/usr/share/initramfs-tools/scripts/local-bottom/growroot',
  '/usr/share/initramfs-tools/scripts/local-premount/growroot',
  '/usr/lib/dracut/modules.d/50growroot/growroot.sh',
  '/usr/share/dracut/modules.d/50growroot/growroot.sh',
];

async function first(fs: ReadOnlyFileSystem, paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await isFile(fs, p)) return p;
  return undefined;
}

/** A boot script that extends LVM and the filesystem (the guide's LVM recipe), on non-comment lines. */
function growsLvm(lines: string[]): boolean {
  const lv = lines.some((l) => /\blv(extend|resize)\b/.test(l));
  const fsGrow = lines.some((l) => /\b(resize2fs|xfs_growfs)\b/.test(l) || /\blv(extend|resize)\b.*\s(-r|--resizefs)\b/.test(l));
  return lv && fsGrow;
}

export const resizeOnBoot: Check = {
  id: 'resize-on-boot',
  title: 'The root filesystem grows to the flavor disk at boot',
  requirement: 'Disk partitions and resize root partition on boot (cloud-init)',
  async run(ctx) {
    const fs = ctx.fs;
    const evidence: string[] = [];
    const growpart = await first(fs, GROWPART);
    evidence.push(growpart ? `${growpart} present` : 'no growpart (cloud-guest-utils / cloud-utils-growpart)');
    const state = await cloudInitState(ctx);
    const cfg = state.cfg;
    const mods = cfg.installed ? enabledModules(cfg) : new Set<string>();
    const ci = state.runs;
    if (state.stopped) evidence.push(`${state.stopped.summary} (${state.stopped.evidence})`);
    const growModule = ci && mods.has('growpart');
    const resizeModule = ci && mods.has('resizefs');
    const mode = (cfg.merged.growpart as { mode?: unknown } | undefined)?.mode;
    if (ci) evidence.push(`cloud-init modules: growpart ${growModule ? 'on' : 'off'}, resizefs ${resizeModule ? 'on' : 'off'}${mode !== undefined ? `, growpart mode ${String(mode)}` : ''}`);
    const growroot = await first(fs, GROWROOT);
    if (growroot) evidence.push(`${growroot} (growroot in the initramfs)`);
    const dib = await serviceState(fs, ['growroot.service'], ['growroot']);
    if (dib.enabled) evidence.push(...dib.evidence);
    if (await isFile(fs, '/etc/growroot-disabled')) evidence.push('/etc/growroot-disabled exists: growpart and growroot skip');
    const disabled = (await isFile(fs, '/etc/growroot-disabled')) || mode === 'off' || mode === false;
    const rootIsLvm = ctx.guest.root.kind === 'lv';
    const grows = !disabled && growpart !== undefined && ((growModule && resizeModule) || (growroot !== undefined && resizeModule) || dib.enabled);
    if (rootIsLvm) {
      const hooks = await bootScripts(ctx);
      const hit = hooks.scripts.find((sc) => growsLvm(sc.lines));
      if (hit) return { status: 'pass', summary: `the root is on LVM and ${hit.path} extends the LV and filesystem at boot`, evidence: [...evidence, `${hit.path} (${hit.how}) runs lvextend/lvresize and grows the filesystem`], fix: '' };
      evidence.push(...hooks.notes);
      return {
        status: 'fail',
        summary: 'the root is on LVM and no boot script extends the PV, VG, LV and filesystem',
        evidence,
        fix: 'Add a boot script that creates a partition in the free space, pvcreate + vgextend + lvextend it, and resize2fs/xfs_growfs the root (see the guide\'s LVM section), or rebuild without LVM and use cloud-init growpart.',
      };
    }
    if (grows) return { status: 'pass', summary: 'cloud-init/growroot grow the root partition and filesystem at boot', evidence, fix: '' };
    if (ctx.disk && novaAutoDiskConfigReason(ctx.disk.partitions) === null) {
      return {
        status: 'warn',
        summary: 'nothing in the guest grows the root; only nova\'s XenAPI auto_disk_config (a Xen-only image property) would',
        evidence,
        fix: 'Set auto_disk_config=True on the image for XenAPI, and install cloud-init + growpart (cloud-guest-utils / cloud-utils-growpart) for every other hypervisor.',
      };
    }
    return {
      status: 'fail',
      summary: 'nothing grows the root partition and filesystem at boot',
      evidence,
      fix: ci
        ? 'Install growpart (cloud-guest-utils on Debian/Ubuntu, cloud-utils-growpart on Fedora/RHEL) and keep cloud-init\'s growpart and resizefs modules enabled.'
        : 'Install cloud-init and growpart (cloud-guest-utils / cloud-utils-growpart), or cloud-initramfs-growroot on Debian/Ubuntu.',
    };
  },
};
