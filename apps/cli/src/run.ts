import { CommanderError } from 'commander';
import { exitStatusFor, toXenkitError, type XenkitError } from '@xenkit/core';
import { createContext, type ContextInit } from './context.js';
import { createProgram, fromCommanderError, type CommandModule } from './program.js';
import { commands } from './commands/index.js';

export interface RunOptions extends ContextInit {
  /** Replace the command list (tests use this to drive the shell with a probe command). */
  modules?: CommandModule[];
}

/**
 * Parse `argv` (user arguments only, without `node xenkit`), run the command, and return the exit
 * status. Never calls process.exit and never throws: every failure becomes `code: message`.
 */
export async function runCli(argv: string[], init: RunOptions): Promise<number> {
  const ctx = createContext(init);
  const program = createProgram(ctx, init.modules ?? commands);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (thrown) {
    let error: XenkitError;
    if (thrown instanceof CommanderError) {
      const usage = fromCommanderError(thrown);
      if (!usage) return thrown.exitCode === 0 ? 0 : 2;
      error = usage;
    } else {
      error = toXenkitError(thrown);
    }
    report(ctx, error, argv);
    return exitStatusFor(error);
  }
}

function report(ctx: ReturnType<typeof createContext>, error: XenkitError, argv: string[]): void {
  // --json may not have been parsed when the usage error happened, so look at argv too.
  const json = ctx.globals.json || argv.includes('--json');
  if (json) {
    ctx.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
  } else {
    ctx.stderr.write(`${error.code}: ${error.message}\n`);
  }
  const debug = ctx.globals.logLevel === 'debug' || ctx.globals.logLevel === 'trace';
  if (error.category === 'internal' || debug) {
    const cause = error.cause instanceof Error ? error.cause : error;
    ctx.stderr.write(`${cause.stack ?? String(cause)}\n`);
  }
}
