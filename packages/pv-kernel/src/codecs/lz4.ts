import { KernelError } from '../errors.js';

/**
 * LZ4 "legacy frame", the format `lz4 -l` writes and Linux's bzImage uses (lib/decompress_unlz4.c):
 * magic 0x184C2102, then blocks of [u32 LE compressed size][LZ4 block], each expanding to at most 8 MiB
 * and independent of the blocks before it. Linux appends the 4-byte uncompressed size after the last block.
 */
const LEGACY_MAGIC = 0x184c2102;
const BLOCK_MAX = 8 << 20;
// LZ4_compressBound(8 MiB): a larger "block size" can only be the trailer or garbage.
const BOUND = BLOCK_MAX + Math.floor(BLOCK_MAX / 255) + 16;

export function* lz4Legacy(input: Uint8Array, label: string): Generator<Uint8Array> {
  const out = new Uint8Array(BLOCK_MAX);
  for (const block of lz4LegacyBlocks(input, label)) {
    if (block.cut) {
      throw new KernelError('E_KERNEL_TRUNCATED', `${label}: LZ4 block at byte ${block.start - 4} runs past the end of the payload`, { offset: block.start - 4 });
    }
    yield out.subarray(0, lz4Block(input, block.start, block.end, out, label));
  }
}

/**
 * A 4-bit length field of 15 continues in the following bytes, each added, until one is not 255.
 * Reads from `cur.ip` and advances it.
 */
function extend(src: Uint8Array, cur: { ip: number }, end: number, length: number, fail: (what: string) => never): number {
  if (length !== 15) return length;
  let b: number;
  do {
    if (cur.ip >= end) fail('length runs past the block');
    b = src[cur.ip++] as number;
    length += b;
  } while (b === 255);
  return length;
}

/** Decode one LZ4 block into `out`; returns the byte count. Every read and write is bounds-checked. */
export function lz4Block(src: Uint8Array, start: number, end: number, out: Uint8Array, label: string): number {
  return lz4Resume(src, start, end, out, label, { ip: start, op: 0 }, Infinity);
}

/**
 * Decode sequences from `at` until the block ends or at least `stopAt` bytes exist; `at` is updated so a
 * later call resumes where this one stopped (sequences are never split). Returns the bytes written so far.
 */
export function lz4Resume(src: Uint8Array, start: number, end: number, out: Uint8Array, label: string, at: { ip: number; op: number }, stopAt: number): number {
  let ip = at.ip;
  let op = at.op;
  const fail = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt LZ4 block at byte ${start}: ${what}`, { offset: ip });
  };
  const cur = { ip };
  while (ip < end && op < stopAt) {
    const token = src[ip++] as number;
    cur.ip = ip;
    const lit = extend(src, cur, end, token >>> 4, fail);
    ip = cur.ip;
    if (ip + lit > end) fail('literals run past the block');
    if (op + lit > out.length) fail('output exceeds the 8 MiB block limit');
    // Short runs dominate; a byte loop beats creating a subarray for each of them.
    if (lit < 32) for (const stop = ip + lit; ip < stop; ) out[op++] = src[ip++] as number;
    else {
      out.set(src.subarray(ip, ip + lit), op);
      ip += lit;
      op += lit;
    }
    if (ip === end) break; // the last sequence has literals only
    if (ip + 2 > end) fail('match offset runs past the block');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) fail(`match offset ${offset} points before the block`);
    cur.ip = ip;
    const len = extend(src, cur, end, token & 15, fail) + 4;
    ip = cur.ip;
    if (op + len > out.length) fail('output exceeds the 8 MiB block limit');
    let from = op - offset;
    if (offset >= len && len >= 32) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping match: a run that repeats the last `offset` bytes, so copy forward byte by byte.
      for (const stop = op + len; op < stop; ) out[op++] = out[from++] as number;
    }
  }
  at.ip = ip;
  at.op = op;
  return op;
}

/** A block's decompressed size from its sequence headers alone: no bytes are copied. */
export function lz4BlockSize(src: Uint8Array, start: number, end: number, label: string): number {
  const cur = { ip: start };
  let size = 0;
  const fail = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt LZ4 block at byte ${start}: ${what}`, { offset: cur.ip });
  };
  while (cur.ip < end) {
    const token = src[cur.ip++] as number;
    const lit = extend(src, cur, end, token >>> 4, fail);
    cur.ip += lit;
    size += lit;
    if (cur.ip > end) fail('literals run past the block');
    if (cur.ip === end) break;
    cur.ip += 2;
    size += extend(src, cur, end, token & 15, fail) + 4;
    if (size > BLOCK_MAX) fail('output exceeds the 8 MiB block limit');
  }
  return size;
}

/** The legacy frame's blocks: [start, end) of each compressed block, without decoding any. */
export function lz4LegacyBlocks(input: Uint8Array, label: string): Array<{ start: number; end: number; cut: boolean }> {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 4 || view.getUint32(0, true) !== LEGACY_MAGIC) {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: not an LZ4 legacy stream (bad magic)`);
  }
  const blocks: Array<{ start: number; end: number; cut: boolean }> = [];
  let pos = 4;
  while (pos + 4 <= input.length) {
    const size = view.getUint32(pos, true);
    if (size === LEGACY_MAGIC) {
      pos += 4;
      continue;
    }
    if (size > BOUND || (pos + 4 + size > input.length && pos + 4 === input.length)) break;
    if (pos + 4 + size > input.length) {
      // A cut-off last block: an error only if a range the ELF reader needs lies in it.
      blocks.push({ start: pos + 4, end: input.length, cut: true });
      break;
    }
    blocks.push({ start: pos + 4, end: pos + 4 + size, cut: false });
    pos += 4 + size;
  }
  return blocks;
}

export const LZ4_BLOCK_MAX = BLOCK_MAX;
