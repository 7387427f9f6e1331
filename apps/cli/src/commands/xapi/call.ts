import { Command } from 'commander';
import { emit, type CliContext } from '../../context.js';
import { withXapi, type ConnectionFlags } from './connection.js';

/** A JSON argument, or the text itself when it is not JSON (so refs and names need no quoting). */
function parseArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function callCommand(ctx: CliContext): Command {
  return new Command('call')
    .description('call any XAPI method; the session is added (e.g. call VM.get_record OpaqueRef:…)')
    .argument('<method>', 'Class.method')
    .argument('[args...]', 'arguments, as JSON where not plain strings')
    .action(async (method: string, args: string[], _o, cmd: Command) => {
      const result = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.callMethod(x, method, args.map(parseArg)));
      emit(ctx, result, (r) => (typeof r === 'string' ? r : JSON.stringify(r, null, 2)));
    });
}
