import { Command } from 'commander';
import { UsageError } from '@xenkit/core';
import type { InspectReport } from '@xenkit/image-check';
import { emit, type Style } from '../context.js';
import type { CommandModule } from '../program.js';

export function renderInspect(r: InspectReport, st: Style): string {
  const lines: string[] = [];
  for (const os of r.operatingSystems) {
    lines.push(st.bold(`${os.root}: ${os.prettyName ?? os.productName ?? os.distro ?? 'Linux'}`));
    const row = (k: string, v: string | number | undefined) => v !== undefined && lines.push(`  ${k.padEnd(18)} ${v}`);
    row('name', os.name);
    row('arch', os.arch);
    row('distro', os.distro);
    row('version', `${os.majorVersion}.${os.minorVersion}`);
    row('package format', os.packageFormat);
    row('package manager', os.packageManagement);
    row('hostname', os.hostname);
    for (const m of os.mountpoints) row(`mount ${m.mountpoint}`, m.device);
    for (const f of os.filesystems) row(`fs ${f.device}`, [f.type, f.label && `label=${f.label}`, f.uuid && `uuid=${f.uuid}`].filter(Boolean).join(' '));
    row('applications', os.applications ? `${os.applications.length} installed` : 'unknown (package database not readable)');
    lines.push('');
  }
  return lines.join('\n');
}

export const inspectCommand: CommandModule = (ctx) =>
  new Command('inspect')
    .description('inventory the operating systems on an image or root tree, like virt-inspector (no appliance, no root)')
    .argument('[image]', 'disk image file')
    .option('--root <dir>', 'inspect an unpacked root directory tree instead of an image')
    .option('--xml', "print virt-inspector's XML", false)
    .action(async (image: string | undefined, flags: { root?: string; xml: boolean }) => {
      if ((image === undefined) === (flags.root === undefined)) {
        throw new UsageError('E_USAGE', 'give an IMAGE or --root DIR (exactly one) (see xenkit inspect --help)');
      }
      if (flags.xml && ctx.globals.json) {
        throw new UsageError('E_USAGE', '--xml and --json each choose the output format: give one of them (see xenkit inspect --help)');
      }
      const { inspectImage, inspectXml } = await import('@xenkit/image-check');
      const report = await inspectImage(flags.root !== undefined ? { root: flags.root } : { image: image as string }, { logger: ctx.logger, syncReads: true });
      if (flags.xml) {
        ctx.stdout.write(inspectXml(report));
        return;
      }
      emit(ctx, report, renderInspect);
    });
