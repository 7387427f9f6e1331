import { Command } from 'commander';
import { UsageError } from '@xenkit/core';
import { emit, type CliContext } from '../../context.js';
import { withXapi, type ConnectionFlags } from './connection.js';

/**
 * An argument as XAPI should get it. Names, uuids and refs are strings even when they look like JSON
 * (`2024`, `true`, `null`), so only text that starts as a JSON object, array or string is parsed.
 */
export function parseArg(text: string, allJson = false): unknown {
  if (!allJson && !/^\s*[[{"]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('E_USAGE', `argument is not valid JSON: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`);
  }
}

export function callCommand(ctx: CliContext): Command {
  return new Command('call')
    .description('call any XAPI method; the session is added (e.g. call VM.get_record OpaqueRef:…)')
    .argument('<method>', 'Class.method')
    .argument('[args...]', 'arguments: plain strings, or JSON when they start with { [ or "')
    .option('--json-args', 'parse every argument as JSON (for booleans and numbers: true, 5; strings then need quotes)', false)
    .action(async (method: string, args: string[], opts: { jsonArgs: boolean }, cmd: Command) => {
      const parsed = args.map((a) => parseArg(a, opts.jsonArgs));
      const result = await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), (x, _signal, lib) => lib.callMethod(x, method, parsed));
      emit(ctx, result, (r) => (typeof r === 'string' ? r : JSON.stringify(r, null, 2)));
    });
}
