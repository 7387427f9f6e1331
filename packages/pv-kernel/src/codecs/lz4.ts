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
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 4 || view.getUint32(0, true) !== LEGACY_MAGIC) {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: not an LZ4 legacy stream (bad magic)`);
  }
  const out = new Uint8Array(BLOCK_MAX);
  let pos = 4;
  while (pos + 4 <= input.length) {
    const size = view.getUint32(pos, true);
    if (size === LEGACY_MAGIC) {
      pos += 4; // concatenated streams
      continue;
    }
    if (size > BOUND || (pos + 4 + size > input.length && pos + 4 === input.length)) return; // trailer
    if (pos + 4 + size > input.length) {
      throw new KernelError('E_KERNEL_TRUNCATED', `${label}: LZ4 block at byte ${pos} runs past the end of the payload`, {
        offset: pos,
        blockSize: size,
      });
    }
    const produced = lz4Block(input, pos + 4, pos + 4 + size, out, label);
    pos += 4 + size;
    yield out.subarray(0, produced);
  }
}

/** Decode one LZ4 block into `out`; returns the byte count. Every read and write is bounds-checked. */
export function lz4Block(src: Uint8Array, start: number, end: number, out: Uint8Array, label: string): number {
  let ip = start;
  let op = 0;
  const fail = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt LZ4 block at byte ${start}: ${what}`, { offset: ip });
  };
  while (ip < end) {
    const token = src[ip++] as number;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) fail('literal length runs past the block');
        b = src[ip++] as number;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end) fail('literals run past the block');
    if (op + lit > out.length) fail('output exceeds the 8 MiB block limit');
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip === end) break; // the last sequence has literals only
    if (ip + 2 > end) fail('match offset runs past the block');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) fail(`match offset ${offset} points before the block`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= end) fail('match length runs past the block');
        b = src[ip++] as number;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (op + len > out.length) fail('output exceeds the 8 MiB block limit');
    let from = op - offset;
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping match: a run that repeats the last `offset` bytes, so copy forward byte by byte.
      for (const stop = op + len; op < stop; ) out[op++] = out[from++] as number;
    }
  }
  return op;
}
