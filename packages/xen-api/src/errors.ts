import { OperationError, UsageError, isXenkitError, redactText } from '@xenkit/core';

/** Error codes whose first parameter is a session handle, which is a credential. */
const SECRET_PARAM_CODES = new Set(['SESSION_INVALID', 'SESSION_NOT_REGISTERED']);

/**
 * A failure XAPI reported: `code` is XAPI's own error name (`SESSION_INVALID`, `HANDLE_INVALID`…,
 * stable across releases) and `params` its ErrorDescription parameters. The same class comes out of
 * the XML-RPC `ErrorDescription`, JSON-RPC v1 `error: [...]`, v2 `error: {code: 1, message, data}` and
 * a failed task's `error_info`, so callers branch on `code` whatever the transport.
 */
export class XapiError extends OperationError {
  readonly params: string[];
  /** The call that failed (`VM.start`), when known. */
  method: string | undefined;

  constructor(code: string, params: readonly unknown[], method?: string, options: { task?: string } = {}) {
    const shown = SECRET_PARAM_CODES.has(code) ? params.map(() => '[redacted]') : params.map((p) => redactText(String(p)));
    const where = method ? ` (in ${method})` : '';
    super(code, `XAPI error ${code}(${shown.join(', ')})${where}`, {
      details: { params: shown, method, ...(options.task ? { task: options.task } : {}) },
    });
    this.name = 'XapiError';
    this.params = params.map((p) => String(p));
    this.method = method;
  }

  /** Build from any of XAPI's error shapes; `undefined` when `raw` is none of them. */
  static from(raw: unknown, method?: string): XapiError | undefined {
    if (Array.isArray(raw) && raw.length > 0) return new XapiError(String(raw[0]), raw.slice(1), method);
    if (raw && typeof raw === 'object') {
      const o = raw as { message?: unknown; data?: unknown };
      if (typeof o.message === 'string') {
        const data = Array.isArray(o.data) ? o.data : o.data === undefined || o.data === null ? [] : [o.data];
        return new XapiError(o.message, data, method);
      }
    }
    return undefined;
  }
}

export type XapiProtocolCode =
  | 'E_XAPI_XML' // the XML-RPC body is not well-formed XML-RPC
  | 'E_XAPI_JSON' // the JSON-RPC body is not JSON-RPC
  | 'E_XAPI_RESPONSE' // well-formed, but not a XAPI response (no Status, no result)
  | 'E_XAPI_HTTP' // an HTTP status other than the one expected
  | 'E_XAPI_REDIRECT' // a redirect to another scheme or to a host outside the pool, refused
  | 'E_XAPI_TRANSPORT' // the connection failed or dropped
  | 'E_XAPI_TIMEOUT'
  | 'E_XAPI_TLS' // the host's certificate did not match the pinned fingerprint, or failed verification
  | 'E_XAPI_ABORTED'
  | 'E_XAPI_TASK' // a task vanished before it finished
  | 'E_XAPI_CONFIG'; // connect() options are unusable

/** The conversation with XAPI itself failed: bad bytes on the wire, HTTP errors, TLS, timeouts. */
export class XapiProtocolError extends OperationError {
  constructor(code: XapiProtocolCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, redactText(message), { details: redactDetails(details), cause });
    this.name = 'XapiProtocolError';
  }
}

/**
 * connect() options that contradict each other or cannot work (TLS options with an http: URL, a
 * malformed fingerprint): the caller's mistake, so a usage error (CLI exit 2), code E_XAPI_CONFIG.
 */
export class XapiConfigError extends UsageError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('E_XAPI_CONFIG', redactText(message), { details: redactDetails(details) });
    this.name = 'XapiConfigError';
  }
}

function redactDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === 'string' ? redactText(v) : v;
  return out;
}

/** Transport failures worth retrying (the request may not have reached XAPI, or its answer was lost). */
export function isTransportFailure(error: unknown): boolean {
  return isXenkitError(error) && (error.code === 'E_XAPI_TRANSPORT' || error.code === 'E_XAPI_TIMEOUT');
}

/**
 * `instanceof` on xenkit errors is a brand check shared by every subclass (see @xenkit/core), so tell
 * XAPI's own errors apart by their parameter list.
 */
export function isXapiError(error: unknown, code?: string): error is XapiError {
  return (
    isXenkitError(error) &&
    error.name === 'XapiError' &&
    Array.isArray((error as XapiError).params) &&
    (code === undefined || error.code === code)
  );
}
