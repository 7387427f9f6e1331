import { Command } from 'commander';
import { emit, type CliContext } from '../../context.js';
import { withXapi, type ConnectionFlags } from './connection.js';

export function vmCommand(ctx: CliContext): Command {
  const vm = new Command('vm').description('one VM');
  vm.command('show')
    .description('every field of a VM (by uuid, ref or unique name)')
    .argument('<vm>', 'uuid, OpaqueRef or name-label')
    .action(async (id: string, _o, cmd: Command) => {
      const record = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.showVm(x, id));
      emit(ctx, record, (r) => {
        const keys = Object.keys(r).sort();
        const width = Math.max(...keys.map((k) => k.length));
        return keys.map((k) => `${k.padEnd(width)}  ${typeof r[k] === 'object' ? JSON.stringify(r[k]) : String(r[k])}`).join('\n');
      });
    });
  return vm;
}
