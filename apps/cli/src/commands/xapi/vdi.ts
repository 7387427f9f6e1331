import { basename } from 'node:path';
import { Command, Option } from 'commander';
import type { TransferProgress } from '@xenkit/xen-api';
import { emit, type CliContext } from '../../context.js';
import { bytes, loadXenApi, withXapi, type ConnectionFlags } from './connection.js';

/** A one-line progress bar on a TTY stderr; nothing otherwise. */
function progressBar(ctx: CliContext): ((p: TransferProgress) => void) | undefined {
  if (!ctx.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200 && p.done < p.total) return;
    last = now;
    const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
    const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
    ctx.stderr.write(`\r[${bar}] ${pct}% ${bytes(p.done)}${p.done >= p.total ? '\n' : ''}`);
  };
}

export function vdiCommand(ctx: CliContext): Command {
  const vdi = new Command('vdi').description('import and export virtual disks');
  vdi
    .command('import')
    .description('create a VDI of the image’s virtual size on SR and upload the image (only its data)')
    .argument('<file>', 'disk image')
    .requiredOption('--sr <sr>', 'storage repository (uuid, ref or name)')
    .option('--name <label>', 'name-label of the new VDI (default: the file name)')
    .action(async (file: string, opts: { sr: string; name?: string }, cmd: Command) => {
      const source = await (await loadXenApi()).openUploadImage(file);
      try {
        const result = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, signal, lib) =>
          lib.importImage(x, { source, sr: opts.sr, name: opts.name ?? basename(file), signal, onProgress: progressBar(ctx) }),
        );
        emit(ctx, result, (r, s) => `${s.green('imported')} ${file} → VDI ${r.uuid} (${bytes(r.virtual_size)}, ${bytes(r.sent)} sent as ${r.format})`);
      } finally {
        if (source.kind === 'raw') await source.source.close();
      }
    });
  vdi
    .command('export')
    .description('download a VDI to a file')
    .argument('<vdi>', 'uuid, ref or name')
    .argument('<file>', 'output file')
    .addOption(new Option('--format <format>', 'raw or vhd').choices(['raw', 'vhd']).default('raw'))
    .action(async (id: string, file: string, opts: { format: 'raw' | 'vhd' }, cmd: Command) => {
      const result = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, signal, lib) =>
        lib.exportImage(x, { vdi: id, file, format: opts.format, signal, onProgress: progressBar(ctx) }),
      );
      emit(ctx, result, (r, s) => `${s.green('exported')} VDI ${id} → ${r.file} (${r.format}, ${bytes(r.bytes)})`);
    });
  return vdi;
}
