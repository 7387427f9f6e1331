import { InputError, OperationError } from '@xenkit/core';

/**
 * The xenstore wire format (xen/include/public/io/xs_wire.h). One message is a 16-byte header of
 * four host-order uint32 — every Xen host and guest xenkit targets is little-endian — then `len`
 * payload bytes:
 *
 *   offset 0  type    message type (XsType)
 *   offset 4  req_id  echoed in the reply; 0 in watch events
 *   offset 8  tx_id   transaction id, 0 outside a transaction
 *   offset 12 len     payload length, at most XENSTORE_PAYLOAD_MAX
 */
export const HEADER_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESTRICT: 20,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;
export type XsTypeName = keyof typeof XsType;

const TYPE_NAMES = new Map<number, XsTypeName>(Object.entries(XsType).map(([k, v]) => [v, k as XsTypeName]));

export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `type ${type}`;
}

/** The error names xenstored sends in an ERROR reply (xsd_errors). */
export const XS_ERRORS = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;
export type XsErrno = (typeof XS_ERRORS)[number];

export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Buffer;
}

/** A request xenstored refused: `errno` is the name from the ERROR reply (ENOENT, EACCES, EAGAIN…). */
export class XenstoreError extends OperationError {
  readonly errno: string;
  constructor(errno: string, op: string, path: string | undefined, message?: string) {
    super(`E_XS_${errno}`, message ?? `xenstore ${op}${path ? ` ${path}` : ''} failed: ${errno}`, {
      details: { errno, op, path },
    });
    this.errno = errno;
    this.name = 'XenstoreError';
  }
}

/** A malformed message on the wire (bad length, oversize payload). The connection cannot continue. */
export class XenstoreProtocolError extends InputError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
    this.name = 'XenstoreProtocolError';
  }
}

export function encodeMessage(msg: XsMessage): Buffer {
  if (msg.payload.length > XENSTORE_PAYLOAD_MAX) {
    throw new XenstoreProtocolError(
      'E_XS_PAYLOAD_TOO_LARGE',
      `xenstore ${typeName(msg.type)} payload is ${msg.payload.length} bytes; the protocol allows ${XENSTORE_PAYLOAD_MAX}`,
      { size: msg.payload.length, max: XENSTORE_PAYLOAD_MAX },
    );
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + msg.payload.length);
  out.writeUInt32LE(msg.type, 0);
  out.writeUInt32LE(msg.reqId >>> 0, 4);
  out.writeUInt32LE(msg.txId >>> 0, 8);
  out.writeUInt32LE(msg.payload.length, 12);
  msg.payload.copy(out, HEADER_SIZE);
  return out;
}

/**
 * Splits a byte stream into messages. Bytes arrive in arbitrary chunks (socket reads, partial device
 * reads); a header announcing more than XENSTORE_PAYLOAD_MAX is a protocol error, so the buffer never
 * grows past one maximal message.
 */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): XsMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: XsMessage[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const len = this.buf.readUInt32LE(12);
      if (len > XENSTORE_PAYLOAD_MAX) {
        throw new XenstoreProtocolError('E_XS_PAYLOAD_TOO_LARGE', `xenstore message announces ${len} payload bytes (max ${XENSTORE_PAYLOAD_MAX})`, {
          size: len,
        });
      }
      if (this.buf.length < HEADER_SIZE + len) break;
      out.push({
        type: this.buf.readUInt32LE(0),
        reqId: this.buf.readUInt32LE(4),
        txId: this.buf.readUInt32LE(8),
        payload: Buffer.from(this.buf.subarray(HEADER_SIZE, HEADER_SIZE + len)),
      });
      this.buf = this.buf.subarray(HEADER_SIZE + len);
    }
    return out;
  }
}

/** NUL-separated strings of a payload; a trailing NUL does not add an empty last element. */
export function splitStrings(payload: Buffer): string[] {
  if (payload.length === 0) return [];
  const text = payload.toString('utf8');
  const parts = text.split('\0');
  if (text.endsWith('\0')) parts.pop();
  return parts;
}

export function joinStrings(parts: readonly string[], trailingNul = true): Buffer {
  return Buffer.from(parts.join('\0') + (trailingNul ? '\0' : ''), 'utf8');
}

const PATH_CHARS = /^[A-Za-z0-9\-/_@]+$/;

/**
 * Is `path` a valid xenstore path? Alphanumerics and `-/_@`, no doubled or trailing `/`, within the
 * length limits. Special watch paths (`@introduceDomain`, `@releaseDomain`) are valid too.
 */
export function isValidPath(path: string): boolean {
  if (path.length === 0) return false;
  if (path.startsWith('@')) return path === '@introduceDomain' || path === '@releaseDomain';
  if (!PATH_CHARS.test(path)) return false;
  if (path.includes('//')) return false;
  if (path.length > 1 && path.endsWith('/')) return false;
  return path.startsWith('/') ? path.length <= XENSTORE_ABS_PATH_MAX : path.length <= XENSTORE_REL_PATH_MAX;
}

/** Permission entries as GET_PERMS / SET_PERMS carry them: `n0`, `r5`, `w3`, `b7`. */
export interface XsPerm {
  domid: number;
  perm: 'n' | 'r' | 'w' | 'b';
}

export function parsePerm(text: string): XsPerm | undefined {
  const m = /^([nrwb])(\d{1,10})$/.exec(text);
  if (!m) return undefined;
  const domid = Number(m[2]);
  if (domid > 0xffff) return undefined;
  return { perm: m[1] as XsPerm['perm'], domid };
}

export function formatPerm(p: XsPerm): string {
  return `${p.perm}${p.domid}`;
}
