import { KernelError } from '../errors.js';

/**
 * The LZMA decoder shared by .lzma and xz/LZMA2, written from the LZMA SDK's lzma-specification.txt.
 * State (probabilities, reps, the dictionary ring) lives on the object so LZMA2 can carry it across chunks.
 * Output goes into a dictionary-sized ring and is handed out as slices, at least every YIELD_EVERY bytes,
 * which the caller must copy before asking for more.
 *
 * Speed: `run()` is a plain method (V8 optimises a hot loop inside a generator poorly) that keeps the range
 * coder, the window position and the reps in locals and has every bit decode written out in place — a helper
 * closure over `range`/`code` would force them into a heap context and cost a call per bit.
 */
const STATES = 12;
const YIELD_EVERY = 1 << 21;
const LEN_PROBS = 2 + 16 * 8 * 2 + 256; // choice, choice2, low[16][8], mid[16][8], high[256]
// Offsets of each probability group inside `probs`.
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
const PROBS = REP_LEN + LEN_PROBS;
const TOP = 0x1000000;
const EMPTY = new Uint8Array(0);

export class LzmaCore {
  readonly window: Uint8Array;
  private wpos = 0;
  private flushed = 0;
  /** Bytes since the last dictionary reset (bounds match distances; positions for lp/pb count from it). */
  private dictLen = 0;
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private literal = new Uint16Array(0);
  private readonly probs = new Uint16Array(PROBS);
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  // The range coder of the current decode() call, and what run() has left to do in it.
  private input: Uint8Array = EMPTY;
  private ip = 0;
  private end = 0;
  private range = 0;
  private code = 0;
  /** Bytes this decode() call may still produce, and has produced. */
  private left = 0;
  private produced = 0;
  /** Bytes of a match still to copy once the ring has been handed out and wrapped. */
  private pendingLen = 0;
  private marker = false;

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
        this.run();
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

  /**
   * Decode symbols until `left` runs out, the end marker, the ring's end, or YIELD_EVERY bytes are waiting.
   * Every "decode one bit" below is the same few lines (lzma-specification's DecodeBit, then Normalize).
   */
  private run(): void {
    const win = this.window;
    const size = win.length;
    const input = this.input;
    const end = this.end;
    const P = this.probs;
    const lit = this.literal;
    const lc = this.lc;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    let ip = this.ip;
    let range = this.range;
    let code = this.code;
    let wpos = this.wpos;
    let dictLen = this.dictLen;
    let state = this.state;
    let rep0 = this.rep0;
    let rep1 = this.rep1;
    let rep2 = this.rep2;
    let rep3 = this.rep3;
    const stop = Math.min(size, this.flushed + YIELD_EVERY);
    // `left` may be Infinity (until the end marker); only what fits before `stop` matters to this call.
    const budget = Math.min(this.left, stop - wpos);
    const startPos = wpos;
    const limit = wpos + budget;
    let p = 0;
    let bound = 0;
    let pending = this.pendingLen;
    if (pending > 0) {
      // The rest of a match cut off by the ring's end (wpos is 0 again now).
      const n = pending < limit - wpos ? pending : limit - wpos;
      let from = wpos - rep0 - 1;
      if (from < 0) from += size;
      for (let i = 0; i < n; i++) {
        win[wpos++] = win[from++] as number;
        if (from === size) from = 0;
      }
      pending -= n;
      dictLen += n;
    }
    while (wpos < limit) {
      const posState = dictLen & pbMask;
      // IS_MATCH[state][posState]
      let i = IS_MATCH + (state << 4) + posState;
      p = P[i] as number;
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        P[i] = p + ((2048 - p) >>> 5);
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
        // Literal.
        let prev = 0;
        if (dictLen > 0) prev = win[wpos === 0 ? size - 1 : wpos - 1] as number;
        const base = 0x300 * (((dictLen & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        if (state >= 7) {
          let m = wpos - rep0 - 1;
          if (m < 0) m += size;
          let matchByte = win[m] as number;
          while (sym < 0x100) {
            const mb = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            i = base + ((1 + mb) << 8) + sym;
            p = lit[i] as number;
            bound = Math.imul(range >>> 11, p);
            let b: number;
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              lit[i] = p + ((2048 - p) >>> 5);
              b = 0;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              lit[i] = p - (p >>> 5);
              b = 1;
            }
            if (range >>> 0 < TOP) {
              if (ip >= end) this.truncated();
              range <<= 8;
              code = (code << 8) | (input[ip++] as number);
            }
            sym = (sym << 1) | b;
            if (mb !== b) break;
          }
        }
        while (sym < 0x100) {
          i = base + sym;
          p = lit[i] as number;
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            lit[i] = p + ((2048 - p) >>> 5);
            sym <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            lit[i] = p - (p >>> 5);
            sym = (sym << 1) | 1;
          }
          if (range >>> 0 < TOP) {
            if (ip >= end) this.truncated();
            range <<= 8;
            code = (code << 8) | (input[ip++] as number);
          }
        }
        win[wpos++] = sym;
        dictLen++;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      P[i] = p - (p >>> 5);
      if (range >>> 0 < TOP) {
        if (ip >= end) this.truncated();
        range <<= 8;
        code = (code << 8) | (input[ip++] as number);
      }
      // IS_REP[state]: a new match, or a repeat of one of the last four distances.
      let lenBase: number;
      let isMatch: boolean;
      i = IS_REP + state;
      p = P[i] as number;
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        P[i] = p + ((2048 - p) >>> 5);
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
        isMatch = true;
        lenBase = MATCH_LEN;
        state = state < 7 ? 7 : 10;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        P[i] = p - (p >>> 5);
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
        isMatch = false;
        lenBase = REP_LEN;
        // IS_REP_G0[state]
        i = IS_REP_G0 + state;
        p = P[i] as number;
        bound = Math.imul(range >>> 11, p);
        let g0: boolean;
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          P[i] = p + ((2048 - p) >>> 5);
          g0 = true;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          P[i] = p - (p >>> 5);
          g0 = false;
        }
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
        if (g0) {
          // IS_REP0_LONG[state][posState]: 0 is a "short rep", one byte from rep0.
          i = IS_REP0_LONG + (state << 4) + posState;
          p = P[i] as number;
          bound = Math.imul(range >>> 11, p);
          let short: boolean;
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            P[i] = p + ((2048 - p) >>> 5);
            short = true;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            P[i] = p - (p >>> 5);
            short = false;
          }
          if (range >>> 0 < TOP) {
            if (ip >= end) this.truncated();
            range <<= 8;
            code = (code << 8) | (input[ip++] as number);
          }
          if (short) {
            if (rep0 >= dictLen || rep0 >= size) this.fail(dictLen === 0 ? 'repeat before any output' : `match distance ${rep0 + 1} reaches before the data`);
            state = state < 7 ? 9 : 11;
            let m = wpos - rep0 - 1;
            if (m < 0) m += size;
            win[wpos++] = win[m] as number;
            dictLen++;
            continue;
          }
        } else {
          // IS_REP_G1[state], then IS_REP_G2[state]: which older distance moves to the front.
          i = IS_REP_G1 + state;
          p = P[i] as number;
          bound = Math.imul(range >>> 11, p);
          let dist: number;
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            P[i] = p + ((2048 - p) >>> 5);
            dist = rep1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            P[i] = p - (p >>> 5);
            dist = -1;
          }
          if (range >>> 0 < TOP) {
            if (ip >= end) this.truncated();
            range <<= 8;
            code = (code << 8) | (input[ip++] as number);
          }
          if (dist < 0) {
            i = IS_REP_G2 + state;
            p = P[i] as number;
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              P[i] = p + ((2048 - p) >>> 5);
              dist = rep2;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              P[i] = p - (p >>> 5);
              dist = rep3;
              rep3 = rep2;
            }
            if (range >>> 0 < TOP) {
              if (ip >= end) this.truncated();
              range <<= 8;
              code = (code << 8) | (input[ip++] as number);
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        state = state < 7 ? 8 : 11;
      }
      // Length: choice → low[posState] (3 bits), choice2 → mid[posState] (3 bits), else high (8 bits).
      let treeBase: number;
      let bits: number;
      let len: number;
      i = lenBase;
      p = P[i] as number;
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        P[i] = p + ((2048 - p) >>> 5);
        treeBase = lenBase + 2 + (posState << 3);
        bits = 3;
        len = 2;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        P[i] = p - (p >>> 5);
        treeBase = -1;
        bits = 0;
        len = 0;
      }
      if (range >>> 0 < TOP) {
        if (ip >= end) this.truncated();
        range <<= 8;
        code = (code << 8) | (input[ip++] as number);
      }
      if (treeBase < 0) {
        i = lenBase + 1;
        p = P[i] as number;
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          P[i] = p + ((2048 - p) >>> 5);
          treeBase = lenBase + 2 + 128 + (posState << 3);
          bits = 3;
          len = 2 + 8;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          P[i] = p - (p >>> 5);
          treeBase = lenBase + 2 + 256;
          bits = 8;
          len = 2 + 16;
        }
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
      }
      let m = 1;
      for (let k = 0; k < bits; k++) {
        i = treeBase + m;
        p = P[i] as number;
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          P[i] = p + ((2048 - p) >>> 5);
          m <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          P[i] = p - (p >>> 5);
          m = (m << 1) | 1;
        }
        if (range >>> 0 < TOP) {
          if (ip >= end) this.truncated();
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
      }
      len += m - (1 << bits);

      if (isMatch) {
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        // Distance: a 6-bit slot (per length class), then reverse-coded or direct bits.
        treeBase = POS_SLOT + ((len < 5 ? len - 2 : 3) << 6);
        m = 1;
        for (let k = 0; k < 6; k++) {
          i = treeBase + m;
          p = P[i] as number;
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            P[i] = p + ((2048 - p) >>> 5);
            m <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            P[i] = p - (p >>> 5);
            m = (m << 1) | 1;
          }
          if (range >>> 0 < TOP) {
            if (ip >= end) this.truncated();
            range <<= 8;
            code = (code << 8) | (input[ip++] as number);
          }
        }
        const slot = m - 64;
        if (slot < 4) rep0 = slot;
        else {
          bits = (slot >>> 1) - 1;
          let dist = ((2 | (slot & 1)) * 2 ** bits) >>> 0;
          if (slot < 14) {
            treeBase = POS_SPECIAL + dist - slot;
          } else {
            let direct = 0;
            for (let k = bits - 4; k > 0; k--) {
              range >>>= 1;
              if (code >>> 0 >= range) {
                code = (code - range) | 0;
                direct = (direct << 1) | 1;
              } else direct <<= 1;
              if (range >>> 0 < TOP) {
                if (ip >= end) this.truncated();
                range <<= 8;
                code = (code << 8) | (input[ip++] as number);
              }
            }
            dist = (dist + direct * 16) >>> 0;
            treeBase = ALIGN;
            bits = 4;
          }
          m = 1;
          let rev = 0;
          for (let k = 0; k < bits; k++) {
            i = treeBase + m;
            p = P[i] as number;
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              P[i] = p + ((2048 - p) >>> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              P[i] = p - (p >>> 5);
              m = (m << 1) | 1;
              rev |= 1 << k;
            }
            if (range >>> 0 < TOP) {
              if (ip >= end) this.truncated();
              range <<= 8;
              code = (code << 8) | (input[ip++] as number);
            }
          }
          rep0 = (dist + rev) >>> 0;
        }
        if (rep0 === 0xffffffff) {
          this.marker = true;
          break;
        }
      }
      if (rep0 >= dictLen || rep0 >= size) this.fail(dictLen === 0 ? 'repeat before any output' : `match distance ${rep0 + 1} reaches before the data`);
      // Bytes past this decode() call's limit are dropped; bytes past the ring's end wait for the next run().
      const allowed = this.left - (wpos - startPos);
      if (len > allowed) len = allowed;
      const n = len < limit - wpos ? len : limit - wpos;
      pending = len - n;
      let from = wpos - rep0 - 1;
      if (from < 0) from += size;
      if (n > 32 && rep0 >= n && from + n <= size) {
        // Long and not overlapping itself: one memmove.
        win.copyWithin(wpos, from, from + n);
        wpos += n;
      } else if (from + n <= size) {
        for (let k = 0; k < n; k++) win[wpos++] = win[from++] as number;
      } else {
        for (let k = 0; k < n; k++) {
          win[wpos++] = win[from++] as number;
          if (from === size) from = 0;
        }
      }
      dictLen += n;
    }
    this.left -= wpos - startPos;
    this.produced += wpos - startPos;
    this.ip = ip;
    this.range = range;
    this.code = code;
    this.wpos = wpos;
    this.dictLen = dictLen;
    this.state = state;
    this.rep0 = rep0;
    this.rep1 = rep1;
    this.rep2 = rep2;
    this.rep3 = rep3;
    this.pendingLen = pending;
  }
}
