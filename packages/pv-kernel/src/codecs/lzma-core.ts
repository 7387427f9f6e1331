import { KernelError } from '../errors.js';

/**
 * The LZMA decoder shared by .lzma and xz/LZMA2, written from the LZMA SDK's lzma-specification.txt.
 * State (probabilities, reps, the dictionary ring) lives on the object so LZMA2 can carry it across chunks;
 * each run copies it into locals for speed. Output goes into a dictionary-sized ring and is handed out as
 * slices, at least every YIELD_EVERY bytes, which the caller must copy before asking for more.
 */
const STATES = 12;
const YIELD_EVERY = 1 << 20;
const LEN_PROBS = 2 + 16 * 8 * 2 + 256; // choice, choice2, low[16][8], mid[16][8], high[256]

export class LzmaCore {
  readonly window: Uint8Array;
  private wpos = 0;
  private flushed = 0;
  /** Bytes since the last dictionary reset (bounds match distances). */
  private dictLen = 0;
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private literal = new Uint16Array(0);
  private readonly probs = new Uint16Array(STATES * 16 * 2 + STATES * 4 + 4 * 64 + 115 + 16 + LEN_PROBS * 2);
  private state = 0;
  private reps = [0, 0, 0, 0];

  /** The ring is the dictionary size, but never more than the output cap: no match can reach further back. */
  constructor(dictSize: number, private readonly label: string, cap: number) {
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
    this.reps = [0, 0, 0, 0];
  }

  resetDictionary(): void {
    this.dictLen = 0;
  }

  private fail(what: string): never {
    throw new KernelError('E_KERNEL_CORRUPT', `${this.label}: corrupt LZMA data: ${what}`);
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
    const label = this.label;
    let ip = start;
    const next = (): number => {
      if (ip >= end) throw new KernelError('E_KERNEL_TRUNCATED', `${label}: LZMA data ends early (truncated payload)`);
      return input[ip++] as number;
    };
    if (next() !== 0) this.fail('range coder does not start with 0');
    let range = 0xffffffff;
    let code = 0;
    for (let i = 0; i < 4; i++) code = ((code << 8) | next()) >>> 0;
    const bit = (probs: Uint16Array, i: number): number => {
      const p = probs[i] as number;
      const bound = (range >>> 11) * p;
      let b = 0;
      if (code < bound) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
      } else {
        range -= bound;
        code -= bound;
        probs[i] = p - (p >>> 5);
        b = 1;
      }
      if (range < 0x1000000) {
        range = (range * 256) >>> 0;
        code = ((code << 8) | next()) >>> 0;
      }
      return b;
    };
    const direct = (count: number): number => {
      let r = 0;
      for (let i = 0; i < count; i++) {
        range >>>= 1;
        let b = 0;
        if (code >= range) {
          code -= range;
          b = 1;
        }
        r = ((r << 1) | b) >>> 0;
        if (range < 0x1000000) {
          range = (range * 256) >>> 0;
          code = ((code << 8) | next()) >>> 0;
        }
      }
      return r;
    };
    const tree = (probs: Uint16Array, base: number, bits: number): number => {
      let m = 1;
      for (let i = 0; i < bits; i++) m = (m << 1) | bit(probs, base + m);
      return m - (1 << bits);
    };
    const reverse = (probs: Uint16Array, base: number, bits: number): number => {
      let m = 1;
      let sym = 0;
      for (let i = 0; i < bits; i++) {
        const b = bit(probs, base + m);
        m = (m << 1) | b;
        sym |= b << i;
      }
      return sym;
    };
    // Offsets of each probability group inside this.probs.
    const P = this.probs;
    const IS_MATCH = 0;
    const IS_REP0_LONG = STATES * 16;
    const IS_REP = STATES * 32;
    const IS_REP_G0 = IS_REP + STATES;
    const IS_REP_G1 = IS_REP_G0 + STATES;
    const IS_REP_G2 = IS_REP_G1 + STATES;
    const POS_SLOT = IS_REP_G2 + STATES;
    const POS_SPECIAL = POS_SLOT + 4 * 64;
    const ALIGN = POS_SPECIAL + 115;
    const MATCH_LEN = ALIGN + 16;
    const REP_LEN = MATCH_LEN + LEN_PROBS;
    const length = (base: number, posState: number): number => {
      if (bit(P, base) === 0) return tree(P, base + 2 + posState * 8, 3);
      if (bit(P, base + 1) === 0) return 8 + tree(P, base + 2 + 128 + posState * 8, 3);
      return 16 + tree(P, base + 2 + 256, 8);
    };

    const win = this.window;
    const size = win.length;
    const lit = this.literal;
    const lc = this.lc;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    let { wpos, flushed, dictLen, state } = this;
    let [rep0, rep1, rep2, rep3] = this.reps as [number, number, number, number];
    let produced = 0;
    let marker = false;
    const byteAt = (dist: number): number => {
      const i = wpos - dist - 1;
      return win[i < 0 ? i + size : i] as number;
    };
    while (produced < limit) {
      if (wpos - flushed >= YIELD_EVERY) {
        yield win.subarray(flushed, wpos);
        flushed = wpos;
      }
      // Positions for lp/pb count from the last dictionary reset (each xz block starts at 0).
      const pos = dictLen;
      const posState = pos & pbMask;
      if (bit(P, IS_MATCH + (state << 4) + posState) === 0) {
        const prev = dictLen > 0 ? byteAt(0) : 0;
        const base = 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        if (state >= 7) {
          let matchByte = byteAt(rep0);
          while (sym < 0x100) {
            const mb = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const b = bit(lit, base + ((1 + mb) << 8) + sym);
            sym = (sym << 1) | b;
            if (mb !== b) break;
          }
        }
        // The plain literal loop is the hottest path: the bit decoder is written out here.
        while (sym < 0x100) {
          const i = base + sym;
          const p = lit[i] as number;
          const bound = (range >>> 11) * p;
          if (code < bound) {
            range = bound;
            lit[i] = p + ((2048 - p) >>> 5);
            sym <<= 1;
          } else {
            range -= bound;
            code -= bound;
            lit[i] = p - (p >>> 5);
            sym = (sym << 1) | 1;
          }
          if (range < 0x1000000) {
            range = (range * 256) >>> 0;
            code = ((code << 8) | next()) >>> 0;
          }
        }
        win[wpos++] = sym - 0x100;
        produced++;
        dictLen++;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      } else {
        let len: number;
        if (bit(P, IS_REP + state) === 0) {
          rep3 = rep2;
          rep2 = rep1;
          rep1 = rep0;
          len = length(MATCH_LEN, posState);
          state = state < 7 ? 7 : 10;
          const slot = tree(P, POS_SLOT + ((len < 3 ? len : 3) << 6), 6);
          if (slot < 4) rep0 = slot;
          else {
            const bits = (slot >>> 1) - 1;
            const dist = ((2 | (slot & 1)) << bits) >>> 0;
            if (slot < 14) rep0 = (dist + reverse(P, POS_SPECIAL + dist - slot, bits)) >>> 0;
            else rep0 = (dist + ((direct(bits - 4) << 4) >>> 0) + reverse(P, ALIGN, 4)) >>> 0;
          }
          if (rep0 === 0xffffffff) {
            marker = true;
            break;
          }
        } else {
          if (bit(P, IS_REP_G0 + state) === 0) {
            if (bit(P, IS_REP0_LONG + (state << 4) + posState) === 0) {
              if (dictLen === 0) this.fail('repeat before any output');
              state = state < 7 ? 9 : 11;
              win[wpos] = byteAt(rep0);
              wpos++;
              produced++;
              dictLen++;
              if (wpos === size) {
                yield win.subarray(flushed, wpos);
                wpos = 0;
                flushed = 0;
              }
              continue;
            }
          } else {
            let dist: number;
            if (bit(P, IS_REP_G1 + state) === 0) dist = rep1;
            else {
              if (bit(P, IS_REP_G2 + state) === 0) dist = rep2;
              else {
                dist = rep3;
                rep3 = rep2;
              }
              rep2 = rep1;
            }
            rep1 = rep0;
            rep0 = dist;
          }
          len = length(REP_LEN, posState);
          state = state < 7 ? 8 : 11;
        }
        len += 2;
        if (rep0 >= dictLen || rep0 >= size) this.fail(`match distance ${rep0 + 1} reaches before the data`);
        if (len > limit - produced) len = limit - produced;
        let from = wpos - rep0 - 1;
        if (from < 0) from += size;
        for (let i = 0; i < len; i++) {
          win[wpos++] = win[from++] as number;
          if (from === size) from = 0;
          if (wpos === size) {
            yield win.subarray(flushed, wpos);
            wpos = 0;
            flushed = 0;
          }
        }
        produced += len;
        dictLen += len;
        continue;
      }
      if (wpos === size) {
        yield win.subarray(flushed, wpos);
        wpos = 0;
        flushed = 0;
      }
    }
    Object.assign(this, { wpos, flushed, dictLen, state });
    this.reps = [rep0, rep1, rep2, rep3];
    return { ip, produced, marker };
  }
}
