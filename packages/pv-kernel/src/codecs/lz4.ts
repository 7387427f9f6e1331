import { KernelError } from '../errors.js';
import { lz4BlockSizeJs, lz4Corrupt, lz4ResumeJs, lz4SizeJs } from './lz4-js.js';
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
 * The module's memory holds a window of output at address 0 — the block's output from position `from` on,
 * up to `capacity` bytes — then a chunk of the compressed input, [`chunk`, `avail`). Output is copied out to
 * the caller's buffer and the window slid down (keeping the 64 KiB a match may refer back to) whenever a
 * sequence needs room; input is brought in a chunk at a time. Both regions stay small and so stay in cache,
 * and no megabytes are faulted in beside the caller's own buffers.
 */
interface Session {
  src: Uint8Array;
  end: number;
  out: Uint8Array;
  /** Where the last call stopped, so a call that continues it copies nothing in again. */
  ip: number;
  op: number;
  from: number;
  capacity: number;
  chunk: number;
  avail: number;
  chunkSize: number;
}
let session: Session | null = null;
const HISTORY = 65535;
/** Sizes of the output window and input chunk in the module's memory; tests shrink them. */
export const lz4WasmSizes = { window: 512 << 10, chunk: 512 << 10 };

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

/** Address of the input chunk: behind the output window and its slack. */
function inputAt(capacity: number): number {
  return (capacity + WASM_SLACK + 15) & ~15;
}

/** Copy src[at, at + chunkSize) (or to the block's end) in; returns where the copied bytes end. */
function bringIn(w: Lz4Wasm, src: Uint8Array, at: number, end: number, address: number, chunkSize: number): number {
  const avail = Math.min(end, at + chunkSize);
  memoryOf(w, address + chunkSize + WASM_SLACK).set(src.subarray(at, avail), address);
  return avail;
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
  if (s === null || s.src !== src || s.out !== out || s.end !== end || s.ip !== ip || s.op !== op) {
    const from = Math.max(0, op - HISTORY);
    // The window must hold the 64 KiB of history and then some; the chunk, at least one byte.
    const capacity = Math.max(lz4WasmSizes.window, HISTORY + 256);
    s = { src, end, out, ip, op, from, capacity, chunk: ip, avail: 0, chunkSize: Math.max(1, lz4WasmSizes.chunk) };
    memoryOf(w, s.capacity).set(out.subarray(from, op), 0);
    s.avail = bringIn(w, src, ip, end, inputAt(s.capacity), s.chunkSize);
  }
  session = null;
  // After a sequence decoded in JavaScript the position may already be past `stop`, or at the end.
  while (ip < end && op < stop) {
    const shift = -s.from; // output position p is at address p + shift, input position q at q + base
    const base = inputAt(s.capacity) - s.chunk;
    const stopAddress = Math.min(stop, out.length + 1) + shift;
    const status = w.decode(ip + base, end + base, op + shift, out.length + shift, stopAddress, s.capacity, s.from, s.avail + base);
    const nip = w.ip() - base;
    const nop = w.op() - shift;
    const mem = new Uint8Array(w.memory.buffer);
    if (status !== Lz4Status.Ok && status !== Lz4Status.NeedRoom && status !== Lz4Status.NeedInput) {
      const what = status === Lz4Status.BadOffset
        ? `match offset ${(mem[nip + base - 2] as number) | ((mem[nip + base - 1] as number) << 8)} points before the block`
        : (WHAT[status] ?? `decoder status ${status}`);
      lz4Corrupt(label, start, nip, what);
    }
    out.set(mem.subarray(op + shift, nop + shift), op);
    ip = nip;
    op = nop;
    if (status === Lz4Status.Ok) break;
    const keep = Math.min(op, HISTORY);
    if (status === Lz4Status.NeedRoom ? op - keep === s.from : ip === s.chunk) {
      // One sequence longer than the window or the input chunk: decode it straight into `out` in JavaScript
      // (copyWithin and set do the long runs), then start the window afresh from `out`. The memory never grows.
      const one = { ip, op };
      lz4ResumeJs(src, start, end, out, label, one, op + 1);
      ({ ip, op } = one);
      s.from = Math.max(0, op - HISTORY);
      mem.set(out.subarray(s.from, op), 0);
      s.avail = bringIn(w, src, ip, end, inputAt(s.capacity), s.chunkSize);
      s.chunk = ip;
    } else if (status === Lz4Status.NeedRoom) {
      // Slide the window down to the 64 KiB a match may reach back into.
      mem.copyWithin(0, op + shift - keep, op + shift);
      s.from = op - keep;
    } else {
      // The next chunk starts at the sequence that ran out of input.
      s.avail = bringIn(w, src, ip, end, inputAt(s.capacity), s.chunkSize);
      s.chunk = ip;
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
  let ip = start;
  let size = 0;
  for (;;) {
    // The chunk sits at address 0: input position q is at q - ip.
    const avail = bringIn(w, src, ip, end, 0, Math.max(1, lz4WasmSizes.chunk));
    const status = w.size(0, end - ip, BLOCK_MAX, size, 0, 0, 0, avail - ip);
    const nip = w.ip() + ip;
    if (status === Lz4Status.Ok) return w.op();
    if (status !== Lz4Status.NeedInput) lz4Corrupt(label, start, nip, WHAT[status] ?? `decoder status ${status}`);
    const at = { ip: nip, size: w.op() };
    // A sequence whose literals outrun a whole chunk: step over it in JavaScript.
    if (nip === ip) lz4SizeJs(src, start, end, label, at, 1);
    ({ ip, size } = at);
  }
}

/** The stream's first word must be the legacy magic. */
export function checkLegacyMagic(head: Uint8Array, label: string): void {
  if (head.length < 4 || new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) !== LEGACY_MAGIC) {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: not an LZ4 legacy stream (bad magic)`);
  }
}

/**
 * What the u32 at `pos` of a legacy stream of `length` bytes says: the magic of a concatenated stream
 * (skip it), the end (Linux's appended size, or anything no block can be), or a block of `size` bytes —
 * cut when it runs past the end, an error only if a range the ELF reader needs lies in it.
 */
export function legacyWord(word: number, pos: number, length: number): { kind: 'magic' } | { kind: 'end' } | { kind: 'block'; size: number; cut: boolean } {
  if (word === LEGACY_MAGIC) return { kind: 'magic' };
  if (word > BOUND || (pos + 4 + word > length && pos + 4 === length)) return { kind: 'end' };
  return { kind: 'block', size: word, cut: pos + 4 + word > length };
}

/** The legacy frame's blocks: [start, end) of each compressed block, without decoding any. */
export function lz4LegacyBlocks(input: Uint8Array, label: string): Array<{ start: number; end: number; cut: boolean }> {
  checkLegacyMagic(input, label);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const blocks: Array<{ start: number; end: number; cut: boolean }> = [];
  let pos = 4;
  while (pos + 4 <= input.length) {
    const word = legacyWord(view.getUint32(pos, true), pos, input.length);
    if (word.kind === 'end') break;
    if (word.kind === 'magic') {
      pos += 4;
      continue;
    }
    blocks.push({ start: pos + 4, end: Math.min(pos + 4 + word.size, input.length), cut: word.cut });
    if (word.cut) break;
    pos += 4 + word.size;
  }
  return blocks;
}

export const LZ4_BLOCK_MAX = BLOCK_MAX;

