import { KernelError } from '../errors.js';

/**
 * The LZ4 block decoder in plain JavaScript: used where WebAssembly is unavailable (node --jitless), and
 * as the second implementation the WebAssembly decoder is tested against. Same contract as lz4.ts.
 */

const LZ4_BLOCK_MAX = 8 << 20;

/** Thrown from outside the hot loops so they allocate no closure and keep `ip` in a register. */
export function lz4Corrupt(label: string, start: number, ip: number, what: string): never {
  throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt LZ4 block at byte ${start}: ${what}`, { offset: ip });
}

/** Where `extend` stopped reading (one module-level slot rather than an object per call). */
let cursor = 0;

/** A 4-bit length of 15 continues in the bytes from `ip`, each added, until one is not 255. */
function extend(src: Uint8Array, ip: number, end: number, length: number, label: string, start: number): number {
  let b: number;
  do {
    if (ip >= end) lz4Corrupt(label, start, ip, 'length runs past the block');
    b = src[ip++] as number;
    length += b;
  } while (b === 255);
  cursor = ip;
  return length;
}

/** A plain Uint8Array over the same bytes, so the hot loops only ever see one map (Buffer is another). */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Decode sequences from `at` until the block ends or at least `stopAt` bytes exist; `at` is updated so a
 * later call resumes where this one stopped (sequences are never split). Returns the bytes written so far.
 *
 * A sequence is [token: 4-bit literal length, 4-bit match length - 4][literal extension bytes][literals]
 * [u16 LE offset][match extension bytes]; a 4-bit field of 15 continues in bytes added to it until one is
 * not 255. Most sequences in a kernel have short fields and sit far from both ends, so they take a fast
 * path whose reads and writes are in bounds by construction; the rest take the fully checked path.
 */
export function lz4ResumeJs(input: Uint8Array, start: number, end: number, output: Uint8Array, label: string, at: { ip: number; op: number }, stopAt: number): number {
  const src = plain(input);
  const out = plain(output);
  let ip = at.ip;
  let op = at.op;
  const outLength = out.length;
  // A fast sequence reads at most 1 + 14 + 2 input bytes and writes at most 14 + 18 output bytes.
  const ipFast = end - 17;
  const opFast = outLength - 32;
  while (ip < end && op < stopAt) {
    const token = src[ip] as number;
    if (token < 0xf0 && (token & 15) !== 15 && ip <= ipFast && op <= opFast) {
      const lit = token >>> 4;
      ip++;
      for (const stop = ip + lit; ip < stop; ) out[op++] = src[ip++] as number;
      const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
      ip += 2;
      if (offset === 0 || offset > op) lz4Corrupt(label, start, ip, `match offset ${offset} points before the block`);
      let from = op - offset;
      // Forward byte copy: an overlapping match (offset < length) repeats its last `offset` bytes.
      for (const stop = op + (token & 15) + 4; op < stop; ) out[op++] = out[from++] as number;
      continue;
    }
    ip++;
    let lit = token >>> 4;
    if (lit === 15) {
      lit = extend(src, ip, end, lit, label, start);
      ip = cursor;
    }
    if (ip + lit > end) lz4Corrupt(label, start, ip, 'literals run past the block');
    if (op + lit > outLength) lz4Corrupt(label, start, ip, 'output exceeds the 8 MiB block limit');
    if (lit < 64) for (const stop = ip + lit; ip < stop; ) out[op++] = src[ip++] as number;
    else {
      out.set(src.subarray(ip, ip + lit), op);
      ip += lit;
      op += lit;
    }
    if (ip === end) break; // the last sequence has literals only
    if (ip + 2 > end) lz4Corrupt(label, start, ip, 'match offset runs past the block');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) lz4Corrupt(label, start, ip, `match offset ${offset} points before the block`);
    let len = (token & 15) + 4;
    if (len === 19) {
      len = extend(src, ip, end, len, label, start);
      ip = cursor;
    }
    if (op + len > outLength) lz4Corrupt(label, start, ip, 'output exceeds the 8 MiB block limit');
    let from = op - offset;
    if (len >= 64) {
      // A long match copied in chunks no longer than the offset, each doubling the repeated span
      // (copyWithin copies as if through a buffer, so one chunk must not overlap its own source).
      const stop = op + len;
      let chunk = offset;
      while (op < stop) {
        const n = Math.min(chunk, stop - op);
        out.copyWithin(op, from, from + n);
        op += n;
        chunk += n;
      }
    } else {
      for (const stop = op + len; op < stop; ) out[op++] = out[from++] as number;
    }
  }
  at.ip = ip;
  at.op = op;
  return op;
}

/** A block's decompressed size from its sequence headers alone: no bytes are copied. */
export function lz4BlockSizeJs(input: Uint8Array, start: number, end: number, label: string): number {
  return lz4SizeJs(input, start, end, label, { ip: start, size: 0 }, Infinity);
}

/** Add up to `sequences` sequences from `at` to `at.size`, advancing `at.ip`; returns the size so far. */
export function lz4SizeJs(input: Uint8Array, start: number, end: number, label: string, at: { ip: number; size: number }, sequences: number): number {
  const src = plain(input);
  let ip = at.ip;
  let size = at.size;
  for (let n = 0; ip < end && n < sequences; n++) {
    const token = src[ip++] as number;
    let lit = token >>> 4;
    if (lit === 15) {
      lit = extend(src, ip, end, lit, label, start);
      ip = cursor;
    }
    ip += lit;
    size += lit;
    if (ip > end) lz4Corrupt(label, start, ip, 'literals run past the block');
    if (ip === end) break;
    ip += 2;
    if (ip > end) lz4Corrupt(label, start, ip, 'match offset runs past the block');
    let len = (token & 15) + 4;
    if (len === 19) {
      len = extend(src, ip, end, len, label, start);
      ip = cursor;
    }
    size += len;
    if (size > LZ4_BLOCK_MAX) lz4Corrupt(label, start, ip, 'output exceeds the 8 MiB block limit');
  }
  at.ip = ip;
  at.size = size;
  return size;
}

