import { createRequire } from 'node:module';
import type { default as Pino } from 'pino';
import { SECRET_KEYS, type Logger } from '@xenkit/core';
import type { GlobalOptions, LogLevel } from './context.js';

// Redact any secret key at the top level and one or two levels down: pino's paths do not recurse,
// and libraries log request metadata at most that deep.
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
const require = createRequire(import.meta.url);

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const METHODS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/**
 * The CLI's logger: JSON lines on stderr (stdout carries results), synchronous so nothing is lost when
 * the process exits, pretty-printed only on a TTY and only when pino-pretty (a dev dependency) is there.
 * pino itself is loaded on the first line actually logged: at the default level most runs log nothing,
 * and every run would otherwise pay for loading it.
 */
export function makeLogger(options: GlobalOptions, stderr: NodeJS.WriteStream = process.stderr): Logger {
  const level = options.quiet && options.logLevel === 'warn' ? 'error' : options.logLevel;
  let root: Logger | undefined;
  const real = () => (root ??= createPino(level, options, stderr));
  return lazyLogger(level, () => real());
}

function lazyLogger(level: LogLevel, resolve: () => Logger): Logger {
  let logger: Logger | undefined;
  const get = () => (logger ??= resolve());
  const noop = () => undefined;
  const out = { child: (bindings: Record<string, unknown>) => lazyLogger(level, () => get().child(bindings)) } as Logger;
  for (const m of METHODS) {
    out[m] = RANK[m] >= RANK[level] ? (...args: unknown[]) => (get()[m] as (...a: unknown[]) => void)(...args) : noop;
  }
  return out;
}

function createPino(level: LogLevel, options: GlobalOptions, stderr: NodeJS.WriteStream): Logger {
  const pino = require('pino') as typeof Pino;
  const base = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: undefined };
  if (stderr.isTTY && !options.json) {
    const pretty = loadPretty();
    if (pretty) {
      return pino(base, pretty({ destination: 2, sync: true, colorize: options.color })) as unknown as Logger;
    }
  }
  return pino(base, pino.destination({ dest: 2, sync: true })) as unknown as Logger;
}

type PrettyFactory = (opts: Record<string, unknown>) => NodeJS.WritableStream;

function loadPretty(): PrettyFactory | undefined {
  try {
    const mod = require('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return undefined;
  }
}
