/**
 * xenkit's one error model. Every package throws subclasses of {@link XenkitError}; each carries a
 * stable string `code` that callers and scripts may branch on, a message a user can act on, and
 * structured `details` for `--json` output. The `category` decides the CLI's exit status, so a new
 * error never needs a CLI change.
 */

/**
 * - `input`: the thing the user pointed us at is unusable (unreadable file, unknown format, corrupt
 *   structure). CLI exit 2.
 * - `usage`: the command line itself is wrong. CLI exit 2.
 * - `operation`: the input was fine but the operation failed (a XAPI call failed, a write was refused).
 *   CLI exit 1.
 * - `internal`: a bug in xenkit. CLI exit 1 and a stack trace.
 */
export type ErrorCategory = 'input' | 'usage' | 'operation' | 'internal';

export type ErrorDetails = Record<string, unknown>;

const brand = Symbol.for('xenkit.error');

export interface XenkitErrorOptions {
  category?: ErrorCategory;
  details?: ErrorDetails;
  cause?: unknown;
}

export class XenkitError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: XenkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'XenkitError';
    this.code = code;
    this.category = options.category ?? 'operation';
    this.details = options.details ?? {};
  }

  // Brand check instead of prototype identity: two copies of @xenkit/core in one process (a tool
  // depending on two xenkit packages at different versions) must still recognise each other's errors.
  get [brand](): true {
    return true;
  }

  /**
   * `x instanceof XenkitError` holds for any xenkit error; `x instanceof FsError` only for an FsError —
   * matched along the prototype chain by class name, so a second copy of the same class matches too.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[brand] !== true) return false;
    if (this === XenkitError || Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    for (let p: unknown = Object.getPrototypeOf(value); p; p = Object.getPrototypeOf(p)) {
      if ((p as { constructor?: { name?: string } }).constructor?.name === this.name) return true;
    }
    return false;
  }

  toJSON(): { code: string; message: string; category: ErrorCategory; details: ErrorDetails } {
    return { code: this.code, message: this.message, category: this.category, details: this.details };
  }
}

/** Input that cannot be parsed or used: corrupt images, bad magics, out-of-range offsets. */
export class InputError extends XenkitError {
  constructor(code: string, message: string, options: Omit<XenkitErrorOptions, 'category'> = {}) {
    super(code, message, { ...options, category: 'input' });
    this.name = 'InputError';
  }
}

/** The command line asks for something impossible or contradictory. */
export class UsageError extends XenkitError {
  constructor(code: string, message: string, options: Omit<XenkitErrorOptions, 'category'> = {}) {
    super(code, message, { ...options, category: 'usage' });
    this.name = 'UsageError';
  }
}

/** A well-formed request that failed while being carried out. */
export class OperationError extends XenkitError {
  constructor(code: string, message: string, options: Omit<XenkitErrorOptions, 'category'> = {}) {
    super(code, message, { ...options, category: 'operation' });
    this.name = 'OperationError';
  }
}

export function isXenkitError(value: unknown): value is XenkitError {
  return value instanceof XenkitError;
}

/** Exit status the CLI uses for an error: 2 for input and usage errors, 1 otherwise. */
export function exitStatusFor(error: unknown): 1 | 2 {
  if (isXenkitError(error) && (error.category === 'input' || error.category === 'usage')) return 2;
  return 1;
}

/**
 * Wrap an unknown thrown value (Node's ENOENT, EACCES…) into a XenkitError so the CLI can print a code.
 * File-system errors on the user's input are input errors; everything else is internal.
 */
export function toXenkitError(error: unknown, context: { path?: string } = {}): XenkitError {
  if (isXenkitError(error)) return error;
  const sys = error as NodeJS.ErrnoException | undefined;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const path = context.path ?? sys.path;
    const where = path ? ` ${path}` : '';
    const codes: Record<string, string> = {
      ENOENT: 'E_NOT_FOUND',
      EACCES: 'E_PERMISSION',
      EPERM: 'E_PERMISSION',
      EISDIR: 'E_IS_DIRECTORY',
      ENOTDIR: 'E_NOT_DIRECTORY',
    };
    const code = codes[sys.code];
    if (code) {
      return new InputError(code, `cannot ${sys.syscall}${where}: ${sys.message.replace(/^[A-Z]+: /, '')}`, {
        details: { path, errno: sys.code },
        cause: error,
      });
    }
    return new OperationError('E_SYSTEM', `${sys.syscall}${where} failed: ${sys.message}`, {
      details: { path, errno: sys.code },
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new XenkitError('E_INTERNAL', `internal error: ${message}`, { category: 'internal', cause: error });
}
