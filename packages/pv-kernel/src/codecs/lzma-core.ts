import { KernelError } from '../errors.js';
import { lzmaRun, PROBS, YIELD_EVERY } from './lzma-run.js';

/**
 * The LZMA decoder shared by .lzma and xz/LZMA2, written from the LZMA SDK's lzma-specification.txt.
 * State (probabilities, reps, the dictionary ring) lives on the object so LZMA2 can carry it across chunks.
 * Output goes into a dictionary-sized ring and is handed out as slices, at least every YIELD_EVERY bytes,
 * which the caller must copy before asking for more.
 *
 * Speed: the symbol loop is `lzmaRun` (lzma-run.ts), a plain function, because V8 optimises a hot loop inside
 * a generator poorly; it keeps the range coder, window position and reps in locals and writes every bit decode
 * out in place — a helper closure over `range`/`code` would force them into a heap context and cost a call
 * per bit.
 */
const EMPTY = new Uint8Array(0);

/** Decoder state; its fields are shared with lzmaRun (lzma-run.ts) and private to this codec. */
export class LzmaCore {
  readonly window: Uint8Array;
  wpos = 0;
  flushed = 0;
  /** Bytes since the last dictionary reset (bounds match distances; positions for lp/pb count from it). */
  dictLen = 0;
  lc = 0;
  lp = 0;
  pb = 0;
  literal = new Uint16Array(0);
  readonly probs = new Uint16Array(PROBS);
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  // The range coder of the current decode() call, and what lzmaRun has left to do in it.
  input: Uint8Array = EMPTY;
  ip = 0;
  end = 0;
  range = 0;
  code = 0;
  /** Bytes this decode() call may still produce, and has produced. */
  left = 0;
  produced = 0;
  /** Bytes of a match still to copy once the ring has been handed out and wrapped. */
  pendingLen = 0;
  marker = false;

  /** The ring is the dictionary size, but never more than the output cap: no match can reach further back. */
  constructor(dictSize: number, readonly label: string, cap: number) {
    this.window = new Uint8Array(Math.min(Math.max(dictSize, 4096), cap));
  }

  /** lc/lp/pb from a properties byte (lzma-specification: "decoding of lc, lp, pb"). */
  setProperties(d: number): void {
    if (d >= 9 * 5 * 5) this.fail(`properties byte ${d} out of range`);
    this.lc = d % 9;
    this.lp = Math.trunc(d / 9) % 5;
    this.pb = Math.trunc(d / 45);
    if (this.literal.length !== 0x300 << (this.lc + this.lp)) this.literal = new Uint16Array(0x300 << (this.lc + this.lp));
  }

  resetState(): void {
    this.literal.fill(1024);
    this.probs.fill(1024);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  resetDictionary(): void {
    this.dictLen = 0;
  }

  private fail(what: string): never {
    throw new KernelError('E_KERNEL_CORRUPT', `${this.label}: corrupt LZMA data: ${what}`);
  }

  private truncated(): never {
    throw new KernelError('E_KERNEL_TRUNCATED', `${this.label}: LZMA data ends early (truncated payload)`);
  }

  /** Bytes [flushed, wpos) not yet handed out. */
  *drain(): Generator<Uint8Array> {
    if (this.wpos > this.flushed) yield this.window.subarray(this.flushed, this.wpos);
    this.flushed = this.wpos;
  }

  /** LZMA2 uncompressed chunk: copy into the dictionary. */
  *store(bytes: Uint8Array): Generator<Uint8Array> {
    const w = this.window;
    for (let i = 0; i < bytes.length; ) {
      const n = Math.min(bytes.length - i, w.length - this.wpos);
      w.set(bytes.subarray(i, i + n), this.wpos);
      this.wpos += n;
      this.dictLen += n;
      i += n;
      if (this.wpos === w.length) {
        yield* this.drain();
        this.wpos = 0;
        this.flushed = 0;
      }
    }
  }

  /**
   * Range-decode input[start, end) producing at most `limit` bytes (Infinity: until the end marker).
   * Returns where the range coder stopped reading and whether an end marker was seen.
   */
  *decode(input: Uint8Array, start: number, end: number, limit: number): Generator<Uint8Array, { ip: number; produced: number; marker: boolean }> {
    if (start + 5 > end) this.truncated();
    if (input[start] !== 0) this.fail('range coder does not start with 0');
    this.input = input;
    this.end = end;
    this.ip = start + 5;
    // range and code are unsigned 32-bit values kept in int32 form (V8 keeps them in registers); compare with >>> 0.
    this.range = -1;
    this.code = ((input[start + 1] as number) << 24) | ((input[start + 2] as number) << 16) | ((input[start + 3] as number) << 8) | (input[start + 4] as number);
    this.left = limit;
    this.produced = 0;
    this.pendingLen = 0;
    this.marker = false;
    const win = this.window;
    try {
      while (this.left > 0 && !this.marker) {
        lzmaRun(this);
        if (this.wpos === win.length) {
          yield win.subarray(this.flushed, this.wpos);
          this.wpos = 0;
          this.flushed = 0;
        } else if (this.wpos - this.flushed >= YIELD_EVERY) {
          yield win.subarray(this.flushed, this.wpos);
          this.flushed = this.wpos;
        }
      }
    } finally {
      this.input = EMPTY;
    }
    return { ip: this.ip, produced: this.produced, marker: this.marker };
  }
}
