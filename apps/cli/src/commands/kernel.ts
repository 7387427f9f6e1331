import { Command } from 'commander';
import { UsageError } from '@xenkit/core';
import type { KernelAnalysis } from '@xenkit/pv-kernel';
import { emit, type CliContext, type Style } from '../context.js';

/**
 * `xenkit kernel FILE` or `xenkit kernel IMAGE --path /boot/vmlinuz-…`: can Xen's PV domain builder boot this
 * kernel? Exit 0 yes, 1 no, 2 unreadable.
 */
export const kernelCommand = (ctx: CliContext): Command =>
  new Command('kernel')
    .description("decide, as Xen's domain builder does, whether a kernel can boot paravirtualised")
    .argument('<file>', 'kernel: bzImage (any codec), gzip-wrapped ELF (xenlinux) or vmlinux; or a disk image with --path')
    .option('--path <path>', 'read the kernel from this path inside the disk image FILE (raw, qcow2, VHD; ext2/3/4)')
    .option('--volume <id>', 'the volume holding --path (p1, lv:vg/root… as `xenkit disk` names them); default: the one ext volume where it exists')
    .option('--exhaustive', 'also read the section table to report __xen_guest as readnotes does', false)
    .action(async (file: string, opts: { exhaustive: boolean; path?: string; volume?: string }) => {
      if (opts.volume !== undefined && opts.path === undefined) {
        throw new UsageError('E_USAGE', '--volume needs --path (the kernel\'s path inside the image)');
      }
      const input = opts.path === undefined ? file : { image: file, path: opts.path, ...(opts.volume !== undefined ? { volume: opts.volume } : {}) };
      const { analyzeKernel } = await import('@xenkit/pv-kernel');
      const analysis = await analyzeKernel(input, { exhaustive: opts.exhaustive, logger: ctx.logger });
      if (!analysis.verdict.pv) ctx.exitCode = 1;
      emit(ctx, analysis, render);
    });

function render(a: KernelAnalysis, s: Style): string {
  const lines: string[] = [];
  const row = (k: string, v: string): void => void lines.push(`${s.bold(k.padEnd(10))} ${v}`);
  row('kernel', a.name);
  if (a.image) {
    const link = a.image.realPath !== a.image.path ? ` -> ${a.image.realPath}` : '';
    row('image', `${a.image.image} (${a.image.format}), ${a.image.filesystem} on ${a.image.volume}, ${a.image.path}${link}`);
  }
  row('version', a.version ? `${a.version}${a.versionSource ? s.dim(` (from ${a.versionSource})`) : ''}` : s.dim('unknown'));
  const proto = a.bzImage ? ` (boot protocol ${a.bzImage.protocol})` : '';
  row('container', `${a.container}${proto}, codec ${a.codec}`);
  row('ELF', a.elf ? `${a.elf.class}-bit ${a.elf.machine}, ${a.elf.endian}-endian` : s.dim('not reached'));
  if (a.notes.length > 0) {
    lines.push(`${s.bold('notes')}      ${s.dim(`(${a.noteSource}, as readnotes prints them)`)}`);
    for (const n of a.notes) if (n.display !== null) lines.push(`  ${n.display}`);
  } else {
    row('notes', s.dim('no Xen notes'));
  }
  if (a.xenGuestRaw !== null) lines.push(`  __xen_guest: ${a.xenGuestRaw}`);
  const v = a.verdict;
  const kinds = [v.pv ? 'PV' : null, v.pvh ? 'PVH' : null].filter(Boolean).join(' and ');
  const verdict = v.pv
    ? s.green(`${kinds}-capable${v.guestType ? ` (${v.guestType})` : ''}`)
    : s.red(`not PV-capable${v.pvh ? ' (PVH only)' : ''}`);
  row('verdict', verdict);
  for (const r of v.reasons) lines.push(`  - ${r}`);
  return lines.join('\n');
}
