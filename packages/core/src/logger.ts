/**
 * The logging contract libraries depend on. It is the subset of pino's API xenkit uses, so the CLI
 * passes its pino logger straight in and library users can pass pino, a console adapter or nothing.
 * Libraries never create a root logger of their own: where logs go is the application's decision.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => undefined;

/** A logger that drops everything; the default for library calls made without one. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/**
 * Log keys that must never reach a log line; the CLI's pino `redact` paths are built from this list
 * and every library that logs request data passes it through {@link redactSecrets} first.
 */
export const SECRET_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'session',
  'sessionId',
  'session_id',
  'authorization',
  'cookie',
  'key',
  'privateKey',
  'secret',
  'token',
];

const SECRET_QUERY = /([?&](?:session_id|password|token)=)[^&#\s]*/gi;

/** Replace secret values in a URL or free text (`session_id=…` query strings, `OpaqueRef:` sessions). */
export function redactText(text: string): string {
  return text.replace(SECRET_QUERY, '$1[redacted]');
}

/** Deep-copy `value` with secret keys and secret query strings replaced by "[redacted]". */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.includes(k) ? '[redacted]' : redactSecrets(v, depth + 1);
    }
    return out;
  }
  return value;
}
