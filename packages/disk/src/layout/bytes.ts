import { crc32 as zlibCrc32 } from 'node:zlib';
/** Little-endian field readers over a byte array; out-of-range reads return 0 rather than throw. */
export function u8(b: Uint8Array, o: number): number {
  return b[o] ?? 0;
}
export function u16le(b: Uint8Array, o: number): number {
  return u8(b, o) | (u8(b, o + 1) << 8);
}
export function u32le(b: Uint8Array, o: number): number {
  return (u16le(b, o) + u16le(b, o + 2) * 0x10000) >>> 0;
}
/** A 64-bit little-endian value as a number; values beyond 2^53 become Infinity (callers bound-check). */
export function u64le(b: Uint8Array, o: number): number {
  const v = u32le(b, o) + u32le(b, o + 4) * 0x1_0000_0000;
  return Number.isSafeInteger(v) ? v : Number.POSITIVE_INFINITY;
}
export function u16be(b: Uint8Array, o: number): number {
  return (u8(b, o) << 8) | u8(b, o + 1);
}
export function u32be(b: Uint8Array, o: number): number {
  return (u16be(b, o) * 0x10000 + u16be(b, o + 2)) >>> 0;
}
export function u64be(b: Uint8Array, o: number): number {
  const v = u32be(b, o) * 0x1_0000_0000 + u32be(b, o + 4);
  return Number.isSafeInteger(v) ? v : Number.POSITIVE_INFINITY;
}
export function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = o; i < o + n && i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}
/** A NUL-padded string field, decoded as UTF-8 and trimmed at the first NUL. */
export function cstring(b: Uint8Array, o: number, n: number): string {
  const slice = b.subarray(o, Math.min(o + n, b.length));
  const end = slice.indexOf(0);
  return new TextDecoder().decode(end < 0 ? slice : slice.subarray(0, end));
}
export function hex(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = o; i < o + n; i++) s += u8(b, i).toString(16).padStart(2, '0');
  return s;
}
/** RFC 4122 text form of a 16-byte big-endian UUID (ext, xfs, btrfs, swap, LUKS store them so). */
export function uuidBE(b: Uint8Array, o: number): string {
  const h = hex(b, o, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
/** GPT GUIDs store the first three fields little-endian. */
export function guidLE(b: Uint8Array, o: number): string {
  const le = (off: number, n: number): string => {
    let s = '';
    for (let i = n - 1; i >= 0; i--) s += u8(b, o + off + i).toString(16).padStart(2, '0');
    return s;
  };
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(b, o + 8, 2)}-${hex(b, o + 10, 6)}`.toUpperCase();
}
export function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** CRC-32 (IEEE 802.3, reflected), as GPT uses for its header and entry array; zlib's native one (Node ≥ 20.15). */
export function crc32(b: Uint8Array): number {
  return zlibCrc32(b) >>> 0;
}
