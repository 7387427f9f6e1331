import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { withXapi, type ConnectionFlags } from './connection.js';

export function eventsCommand(ctx: CliContext): Command {
  return new Command('events')
    .description('follow XAPI events as JSON lines until interrupted')
    .option('--class <class...>', 'classes to watch (vm, host, task…); default all')
    .option('--since <token>', "a token from an earlier run, '' for every object first, or now", 'now')
    .option('--max <n>', 'stop after n events', (v) => Number.parseInt(v, 10))
    .action(async (opts: { class?: string[]; since: string; max?: number }, cmd: Command) => {
      // A stream, not one result: each event is a JSON line as it arrives (the same with --json).
      await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), async (x, signal, lib) => {
        let n = 0;
        for await (const event of x.events({ classes: opts.class, token: opts.since, signal })) {
          ctx.stdout.write(`${JSON.stringify(lib.toPlain(event))}\n`);
          if (opts.max !== undefined && ++n >= opts.max) break;
        }
      });
    });
}
