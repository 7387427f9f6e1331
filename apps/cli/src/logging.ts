import { createRequire } from 'node:module';
import pino from 'pino';
import { SECRET_KEYS, type Logger } from '@xenkit/core';
import type { GlobalOptions } from './context.js';

// Redact any secret key at the top level and one or two levels down: pino's paths do not recurse,
// and libraries log request metadata at most that deep.
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * The CLI's logger: JSON lines on stderr (stdout carries results), synchronous so nothing is lost when
 * the process exits, pretty-printed only on a TTY and only when pino-pretty (a dev dependency) is there.
 */
export function makeLogger(options: GlobalOptions, stderr: NodeJS.WriteStream = process.stderr): Logger {
  const level = options.quiet && options.logLevel === 'warn' ? 'error' : options.logLevel;
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
    const require = createRequire(import.meta.url);
    const mod = require('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return undefined;
  }
}
