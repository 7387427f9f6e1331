import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { vhdChecksum } from '../../formats/vhd/structs.js';

/** Copy `src` to `dst` and let `edit` change its bytes in place. */
export function mutated(src: string, dst: string, edit: (b: Buffer) => Buffer | void): string {
  const b = readFileSync(src);
  writeFileSync(dst, edit(b) ?? b);
  return dst;
}

export function truncated(src: string, dst: string, length: number): string {
  copyFileSync(src, dst);
  truncateSync(dst, length);
  return dst;
}

/** Recompute the checksum of a VHD footer (checksum at +64) or dynamic header (at +36) after an edit. */
export function resealVhd(b: Buffer, at: number, kind: 'footer' | 'header'): void {
  const len = kind === 'footer' ? 512 : 1024;
  const cs = kind === 'footer' ? 64 : 36;
  const s = b.subarray(at, at + len);
  s.writeUInt32BE(vhdChecksum(s, cs), cs);
}

export function u64be(b: Buffer, at: number, v: bigint): void {
  b.writeBigUInt64BE(v, at);
}
