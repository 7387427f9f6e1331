import { Command } from 'commander';
import { UsageError, isXenkitError } from '@xenkit/core';
import type { CliContext } from '../../context.js';
import { withXapi, type ConnectionFlags } from './connection.js';

/** `--max`: a positive whole number, or a usage error (a NaN limit would never stop the stream). */
export function parseMax(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError('E_USAGE', `--max must be a positive whole number of events, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function eventsCommand(ctx: CliContext): Command {
  return new Command('events')
    .description('follow XAPI events as JSON lines until interrupted')
    .option('--class <class...>', 'classes to watch (vm, host, task…); default all')
    .option('--since <token>', "a token from an earlier run, '' for every object first, or now", 'now')
    .option('--max <n>', 'stop after n events')
    .action(async (opts: { class?: string[]; since: string; max?: string }, cmd: Command) => {
      const max = parseMax(opts.max);
      // A stream, not one result: each event is a JSON line as it arrives (the same with --json).
      await withXapi(ctx, cmd.optsWithGlobals<ConnectionFlags>(), async (x, signal, lib) => {
        let n = 0;
        try {
          for await (const event of x.events({ classes: opts.class, token: opts.since, signal })) {
            ctx.stdout.write(`${JSON.stringify(lib.toPlain(event))}\n`);
            if (max !== undefined && ++n >= max) break;
          }
        } catch (e) {
          // Ctrl-C is how a follow ends: what arrived has been printed, so it is a success.
          if (signal.aborted && isXenkitError(e) && e.code === 'E_XAPI_ABORTED') {
            ctx.logger.info({ events: n }, 'interrupted');
            return;
          }
          throw e;
        }
      });
    });
}
