import type { Writable } from 'node:stream';
import { silentLogger, type Logger } from '@xenkit/core';

/** Global options every command sees (commander's `optsWithGlobals()`). */
export interface GlobalOptions {
  json: boolean;
  logLevel: LogLevel;
  quiet: boolean;
  color: boolean;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What a command may touch. Commands write results to `stdout`, never to `process.stdout`, so tests
 * capture them; logs go through `logger`, which the entry point points at stderr.
 */
export interface CliContext {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Set by the preAction hook from the parsed global options. */
  globals: GlobalOptions;
  /** Commands set this to 1 when the operation ran but its verdict is "fail". */
  exitCode: number;
  /** Builds the logger once the global options are known. */
  makeLogger(options: GlobalOptions): Logger;
}

export interface ContextInit {
  stdout: CliContext['stdout'];
  stderr: CliContext['stderr'];
  env?: NodeJS.ProcessEnv;
  makeLogger?: (options: GlobalOptions) => Logger;
}

export function createContext(init: ContextInit): CliContext {
  return {
    stdout: init.stdout,
    stderr: init.stderr,
    env: init.env ?? process.env,
    logger: silentLogger,
    globals: { json: false, logLevel: 'warn', quiet: false, color: false },
    exitCode: 0,
    makeLogger: init.makeLogger ?? (() => silentLogger),
  };
}

/**
 * Print a command's result: the same data as JSON with `--json`, or rendered for people.
 * Keeping one data object per command is what guarantees `--json` never drifts from the human view.
 */
export function emit<T>(ctx: CliContext, data: T, human: (data: T, style: Style) => string): void {
  if (ctx.globals.json) {
    ctx.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const text = human(data, makeStyle(ctx.globals.color));
  if (text.length > 0) ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export function makeStyle(color: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}
