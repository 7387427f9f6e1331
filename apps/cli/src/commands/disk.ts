import { Command } from 'commander';
import type { DiskReport, Volume } from '@xenkit/disk';
import { emit, type Style } from '../context.js';
import { bytes, table } from '../format.js';
import type { CommandModule } from '../program.js';

export const diskCommand: CommandModule = (ctx) =>
  new Command('disk')
    .description('show an image\'s format, backing chain, partitions, LVM volumes and filesystems (reads a few KiB)')
    .argument('<image>', 'raw, qcow2 or VHD image (format detected by content)')
    .option('--confine-backing <dir>', 'refuse backing files (qcow2 backing names, VHD parents) outside this directory, symlinks resolved; for untrusted images')
    .action(async (image: string, o: { confineBacking?: string }) => {
      const { inspectDisk } = await import('@xenkit/disk');
      const report = await inspectDisk(image, { logger: ctx.logger, ...(o.confineBacking === undefined ? {} : { confineBackingTo: o.confineBacking }) });
      emit(ctx, report, renderDisk);
    });

const BAR_WIDTH = 64;
const MARKS = '123456789abcdefghijklmnopqrstuvwxyz';

/** One character per 1/64 of the disk: the partition number occupying it, '.' where nothing is. */
export function layoutBar(report: DiskReport): string {
  const { size } = report.layout;
  const parts = report.layout.partitions;
  let bar = '';
  for (let i = 0; i < BAR_WIDTH; i++) {
    const lo = (size * i) / BAR_WIDTH;
    const hi = (size * (i + 1)) / BAR_WIDTH;
    const p = parts.find((x) => x.offset < hi && x.offset + x.size > lo);
    bar += p ? (MARKS[p.number - 1] ?? '#') : '.';
  }
  return `[${bar}]`;
}

function fsText(v: Volume): string {
  const fs = v.filesystem;
  if (!fs) return '-';
  const bits = [fs.type];
  if (fs.parted !== undefined && fs.parted !== fs.type) bits.push(`(parted: ${fs.parted ?? 'none'})`);
  if (fs.label) bits.push(`label=${fs.label}`);
  if (fs.uuid) bits.push(`uuid=${fs.uuid}`);
  if (fs.ext?.needsRecovery) bits.push('needs_recovery');
  return bits.join(' ');
}

export function renderDisk(r: DiskReport, s: Style): string {
  const out: string[] = [];
  out.push(`${s.bold(r.path)}: ${r.format}, virtual ${bytes(r.virtualSize)}, allocated ${bytes(r.allocatedSize)}, file ${bytes(r.fileSize)}`);
  if (r.chain.length > 1) out.push(`chain: ${r.chain.map((l) => `${l.path} (${l.format})`).join(' -> ')}`);
  const t = r.layout.table;
  const extra: string[] = [];
  if (t.diskId) extra.push(`id ${t.diskId}`);
  if (t.pmbr) extra.push(`${t.pmbr} MBR`);
  if (t.gptHeader) extra.push(`${t.gptHeader} header`);
  out.push(`partition table: ${t.scheme}${extra.length ? ` (${extra.join(', ')})` : ''}`);
  if (r.layout.partitions.length > 0) {
    out.push(`layout: ${layoutBar(r)}`);
    const rows = [['#', 'start', 'size', 'type', 'boot', 'filesystem']];
    for (const p of r.layout.partitions) {
      const v = r.layout.volumes.find((x) => x.partition === p.number);
      const name = p.name ? ` "${p.name}"` : '';
      rows.push([String(p.number), bytes(p.offset), bytes(p.size), `${p.kind === 'gpt' ? p.typeName : `${p.type} ${p.typeName}`}${name}`, p.bootable ? '*' : '', v ? fsText(v) : '-']);
    }
    out.push(...table(rows.map((row, i) => (i === 0 ? row.map((c) => s.dim(c)) : row))));
    if (t.extended) out.push(s.dim(`  (logical partitions live in extended partition ${t.extended.number}: ${bytes(t.extended.offset)} +${bytes(t.extended.size)})`));
  } else {
    const disk = r.layout.volumes.find((v) => v.kind === 'disk');
    out.push(`whole disk: ${disk ? fsText(disk) : '-'}`);
  }
  for (const vg of r.layout.lvm?.vgs ?? []) {
    out.push(`LVM volume group ${s.bold(vg.name)}: ${vg.pvs.length} PV(s), extent ${bytes(vg.extentSize)}`);
    const rows = [['lv', 'size', 'segments', 'filesystem']];
    for (const lv of vg.lvs) {
      const v = r.layout.volumes.find((x) => x.lv?.vg === vg.name && x.lv.name === lv.name);
      rows.push([lv.name, bytes(lv.size), lv.unmappable ? `unmapped: ${lv.unmappable}` : String(lv.segments.length), v ? fsText(v) : '-']);
    }
    out.push(...table(rows.map((row, i) => (i === 0 ? row.map((c) => s.dim(c)) : row))));
  }
  for (const i of r.layout.issues) out.push(s.yellow(`${i.code}: ${i.message}`));
  out.push(s.dim(`read ${bytes(r.layout.bytesRead)} to find the layout (${bytes(r.bytesRead)} in all)`));
  return out.join('\n');
}
