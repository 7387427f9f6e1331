import { Command } from 'commander';
import { analyzeKernel, type KernelAnalysis } from '@xenkit/pv-kernel';
import { emit, type CliContext, type Style } from '../context.js';

/** `xenkit kernel FILE`: can Xen's PV domain builder boot this kernel? Exit 0 yes, 1 no, 2 unreadable. */
export const kernelCommand = (ctx: CliContext): Command =>
  new Command('kernel')
    .description("decide, as Xen's domain builder does, whether a kernel can boot paravirtualised")
    .argument('<file>', 'kernel: bzImage (any codec), gzip-wrapped ELF (xenlinux) or vmlinux')
    .option('--exhaustive', 'also read the section table to report __xen_guest as readnotes does', false)
    .action(async (file: string, opts: { exhaustive: boolean }) => {
      const analysis = await analyzeKernel(file, { exhaustive: opts.exhaustive, logger: ctx.logger });
      if (!analysis.verdict.pv) ctx.exitCode = 1;
      emit(ctx, analysis, render);
    });

function render(a: KernelAnalysis, s: Style): string {
  const lines: string[] = [];
  const row = (k: string, v: string): void => void lines.push(`${s.bold(k.padEnd(10))} ${v}`);
  row('kernel', a.name);
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
