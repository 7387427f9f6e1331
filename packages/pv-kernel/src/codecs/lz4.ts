import { KernelError } from '../errors.js';
import { lz4BlockSizeJs, lz4Corrupt, lz4ResumeJs } from './lz4-js.js';
import { lz4Wasm, Lz4Status, WASM_SLACK, type Lz4Wasm } from './lz4-wasm.js';

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

/** Decode one LZ4 block into `out`; returns the byte count. Every read and write is bounds-checked. */
export function lz4Block(src: Uint8Array, start: number, end: number, out: Uint8Array, label: string): number {
  return lz4Resume(src, start, end, out, label, { ip: start, op: 0 }, Infinity);
}

const WHAT: Record<number, string> = {
  [Lz4Status.LengthPastEnd]: 'length runs past the block',
  [Lz4Status.LiteralsPastEnd]: 'literals run past the block',
  [Lz4Status.OutputLimit]: 'output exceeds the 8 MiB block limit',
  [Lz4Status.OffsetPastEnd]: 'match offset runs past the block',
};

/**
 * The module's memory holds the compressed bytes still to decode at address 0, then a window of output:
 * the block's output from position `from` on, up to `capacity` bytes, which is copied out to the caller's
 * buffer and slid down (keeping the 64 KiB a match may refer back to) whenever a sequence needs room. A
 * small window stays in cache, and spares faulting in a second 8 MiB beside the caller's buffer.
 */
interface Session {
  src: Uint8Array;
  end: number;
  out: Uint8Array;
  /** Where the last call stopped, so a call that continues it copies nothing in again. */
  ip: number;
  op: number;
  /** Address of src[0] (input addresses are src offsets plus this). */
  base: number;
  /** Address of the window and the block position its first byte holds. */
  window: number;
  from: number;
  capacity: number;
}
let session: Session | null = null;
const HISTORY = 65535;
const WINDOW = 1 << 20;

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function checkRange(src: Uint8Array, start: number, end: number, ip: number): void {
  if (!isIndex(start) || !isIndex(end) || !isIndex(ip) || start > ip || ip > end || end > src.length) {
    throw new RangeError(`LZ4 block range ${start}..${end} (at ${ip}) lies outside the ${src.length}-byte input`);
  }
}

/** The module's memory as bytes, grown to at least `size` bytes first. */
function memoryOf(w: Lz4Wasm, size: number): Uint8Array {
  const have = w.memory.buffer.byteLength;
  if (size > have) w.memory.grow(Math.ceil((size - have) / 65536));
  return new Uint8Array(w.memory.buffer);
}

/**
 * Decode sequences from `at` until the block ends or at least `stopAt` bytes exist; `at` is updated so a
 * later call resumes where this one stopped (sequences are never split). Returns the bytes written so far.
 * Between calls that resume one another, `src` and `out` must not change (the resumed sequences refer back
 * to up to 64 KiB of earlier output).
 */
export function lz4Resume(src: Uint8Array, start: number, end: number, out: Uint8Array, label: string, at: { ip: number; op: number }, stopAt: number): number {
  const w = lz4Wasm();
  if (w === null) return lz4ResumeJs(src, start, end, out, label, at, stopAt);
  let { ip, op } = at;
  checkRange(src, start, end, ip);
  if (!isIndex(op) || op > out.length) throw new RangeError(`LZ4 output position ${op} lies outside the ${out.length}-byte buffer`);
  const stop = stopAt >= 0x7fffffff ? 0x7fffffff : stopAt > 0 ? Math.ceil(stopAt) : 0;
  if (ip === end || op >= stop) return op;
  let s = session;
  let mem: Uint8Array;
  if (s !== null && s.src === src && s.out === out && s.end === end && s.ip === ip && s.op === op) {
    mem = new Uint8Array(w.memory.buffer);
  } else {
    const window = (end - ip + WASM_SLACK + 15) & ~15;
    const from = Math.max(0, op - HISTORY);
    s = { src, end, out, ip, op, base: -ip, window, from, capacity: WINDOW };
    mem = memoryOf(w, window + WINDOW + WASM_SLACK);
    mem.set(src.subarray(ip, end), 0);
    mem.set(out.subarray(from, op), window);
  }
  session = null;
  for (;;) {
    const shift = s.window - s.from; // address of block position p is p + shift
    const status = w.decode(ip + s.base, end + s.base, op + shift, out.length + shift, Math.min(stop, out.length + 1) + shift, s.window + s.capacity, -shift);
    const nip = w.ip() - s.base;
    if (status !== Lz4Status.Ok && status !== Lz4Status.NeedRoom) {
      const what = status === Lz4Status.BadOffset
        ? `match offset ${(mem[nip + s.base - 2] as number) | ((mem[nip + s.base - 1] as number) << 8)} points before the block`
        : (WHAT[status] ?? `decoder status ${status}`);
      lz4Corrupt(label, start, nip, what);
    }
    const nop = w.op() - shift;
    out.set(mem.subarray(op + shift, nop + shift), op);
    ip = nip;
    op = nop;
    if (status === Lz4Status.Ok) break;
    // Slide the window down to the last 64 KiB; a sequence longer than what that frees needs a larger window.
    const keep = Math.min(op, HISTORY);
    if (op - keep === s.from) {
      s.capacity *= 2;
      mem = memoryOf(w, s.window + s.capacity + WASM_SLACK);
    } else {
      mem.copyWithin(s.window, op + shift - keep, op + shift);
      s.from = op - keep;
    }
  }
  at.ip = ip;
  at.op = op;
  s.ip = ip;
  s.op = op;
  session = s;
  return op;
}

/** A block's decompressed size from its sequence headers alone: no bytes are copied. */
export function lz4BlockSize(src: Uint8Array, start: number, end: number, label: string): number {
  const w = lz4Wasm();
  if (w === null) return lz4BlockSizeJs(src, start, end, label);
  checkRange(src, start, end, start);
  session = null;
  const mem = memoryOf(w, end - start + WASM_SLACK);
  mem.set(src.subarray(start, end), 0);
  const status = w.size(0, end - start, BLOCK_MAX);
  if (status !== Lz4Status.Ok) lz4Corrupt(label, start, w.ip() + start, WHAT[status] ?? `decoder status ${status}`);
  return w.op();
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

