import { isXenkitError } from '@xenkit/core';
import { FsError } from '@xenkit/disk';
import { bootFilePath, pygrubEntry, pygrubNothingReason } from '../boot/find.js';
import type { Check } from './types.js';


function below3(version: string | undefined): boolean | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  return m ? Number(m[1]) < 3 : undefined;
}

export const pvKernel: Check = {
  id: 'pv-kernel',
  title: 'The default kernel can boot paravirtualised on Xen',
  requirement: 'Paravirtualized Xen support in the kernel (Xen hypervisor only)',
  async run(ctx) {
    const boot = await ctx.boot();
    // A PV boot runs what pygrub picks, not grub's (grubenv) default.
    const entry = boot ? (pygrubEntry(boot.config) ?? boot.entry) : undefined;
    const linux = { os_type: 'linux' };
    if (!boot || !entry?.kernel) {
      return { status: 'skip', summary: 'no default boot entry with a kernel to examine (see console-log)', evidence: [], fix: '', properties: linux };
    }
    if (boot.config.pygrubIndex < 0) {
      const why = pygrubNothingReason(boot.config);
      return {
        status: 'warn',
        summary: `pygrub cannot boot this image paravirtualised: ${why}`,
        evidence: [`${boot.config.file} (${boot.config.format}): ${boot.config.entries.length} entries, none pygrub can boot`],
        fix: boot.config.pygrubError
          ? `For PV boot write every menuentry in ${boot.config.file} as \`menuentry 'Title' ... {\` (quoted title, a space before the brace), or regenerate it with grub-mkconfig; HVM boot is unaffected.`
          : 'For PV boot set GRUB_ENABLE_BLSCFG=false in /etc/default/grub and regenerate grub.cfg (grub2-mkconfig -o /boot/grub2/grub.cfg); HVM boot is unaffected.',
        properties: { ...linux, vm_mode: 'hvm' },
      };
    }
    const path = await bootFilePath(ctx.fs, boot.config, entry.kernel);
    if (!path) {
      return { status: 'fail', summary: `the default entry's kernel ${entry.kernel} is not in the image`, evidence: [`${boot.config.file}: "${entry.title}" → ${entry.kernel}`], fix: 'Regenerate the boot loader config for the kernels actually installed.', properties: linux };
    }
    if (!ctx.kernelAnalyzer) {
      return { status: 'skip', summary: 'kernel analysis is not available in this build', evidence: [`default kernel ${path}`], fix: '', properties: linux };
    }
    let facts;
    try {
      facts = await ctx.kernelAnalyzer(ctx.fs, path);
    } catch (e) {
      // The image's filesystem failing is not the kernel's fault: the runner reports it as an error.
      if (e instanceof FsError || !isXenkitError(e) || e.category !== 'input') throw e;
      // Xen's loaders would reject the same bytes.
      return { status: 'fail', summary: `Xen cannot load the default kernel ${path}: ${e.message}`, evidence: [`${e.code}: ${e.message}`], fix: 'Make the default boot entry point at a real Linux kernel built with Xen support.', properties: linux };
    }
    const evidence = [`default kernel ${path}${facts.version ? ` (Linux ${facts.version})` : ''}`, ...facts.reasons];
    const old = below3(facts.version);
    if (facts.pv) {
      return { status: 'pass', summary: `Linux ${facts.version ?? '?'} boots as a Xen PV guest`, evidence, fix: '', properties: { ...linux, vm_mode: 'xen' } };
    }
    if (old === false) {
      return {
        status: 'warn',
        summary: `Linux ${facts.version} (≥ 3.0) shows no Xen PV support; it boots HVM, and PV only with a kernel built with CONFIG_XEN`,
        evidence,
        fix: 'Boot it HVM (vm_mode=hvm), or install a distribution kernel built with CONFIG_XEN/CONFIG_XEN_PV.',
        properties: { ...linux, vm_mode: 'hvm' },
      };
    }
    return {
      status: 'fail',
      summary: `Linux ${facts.version ?? '(unknown version)'} is older than 3.0 and has no Xen support compiled in: it cannot boot paravirtualised`,
      evidence,
      fix: 'Install the distribution\'s Xen kernel (e.g. kernel-xen on RHEL/CentOS 5, linux-image-xen on old Debian) and make it the default boot entry, or boot HVM.',
      properties: { ...linux, vm_mode: 'hvm' },
    };
  },
};
