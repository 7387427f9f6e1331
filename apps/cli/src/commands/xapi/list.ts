import { Command } from 'commander';
import { emit, type CliContext } from '../../context.js';
import { bytes, table, withXapi, type ConnectionFlags } from './connection.js';

export function hostsCommand(ctx: CliContext): Command {
  return new Command('hosts').description('list the pool’s hosts').action(async (_o, cmd: Command) => {
    const rows = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.listHosts(x));
    emit(ctx, rows, (r) => table(r as never, [['name_label', 'NAME'], ['address', 'ADDRESS'], ['api_version', 'API'], ['uuid', 'UUID']]));
  });
}

export function vmsCommand(ctx: CliContext): Command {
  return new Command('vms').description('list VMs: power state, PV/HVM/PVH, bootloader, kernel args').action(async (_o, cmd: Command) => {
    const rows = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.listVms(x));
    emit(ctx, rows, (r) =>
      table(r as never, [['name_label', 'NAME'], ['power_state', 'POWER'], ['domain_type', 'TYPE'], ['PV_bootloader', 'BOOTLOADER'], ['PV_args', 'PV_ARGS'], ['uuid', 'UUID']]),
    );
  });
}

export function srsCommand(ctx: CliContext): Command {
  return new Command('srs').description('list storage repositories').action(async (_o, cmd: Command) => {
    const rows = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.listSrs(x));
    emit(ctx, rows, (r) =>
      table(
        r.map((s) => ({ ...s, size: bytes(s.physical_size), used: bytes(s.physical_utilisation) })),
        [['name_label', 'NAME'], ['type', 'TYPE'], ['size', 'SIZE'], ['used', 'USED'], ['uuid', 'UUID']],
      ),
    );
  });
}

export function vdisCommand(ctx: CliContext): Command {
  return new Command('vdis')
    .description('list virtual disks')
    .option('--sr <sr>', 'only VDIs of this SR (uuid, ref or name)')
    .action(async (opts: { sr?: string }, cmd: Command) => {
      const rows = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.listVdis(x, opts.sr));
      emit(ctx, rows, (r) =>
        table(
          r.map((v) => ({ ...v, size: bytes(v.virtual_size) })),
          [['name_label', 'NAME'], ['sr', 'SR'], ['size', 'SIZE'], ['type', 'TYPE'], ['uuid', 'UUID']],
        ),
      );
    });
}
