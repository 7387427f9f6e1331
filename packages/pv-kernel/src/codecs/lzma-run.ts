import { KernelError } from '../errors.js';
import type { LzmaCore } from './lzma-core.js';

const STATES = 12;
export const YIELD_EVERY = 1 << 21;
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
export const PROBS = REP_LEN + LEN_PROBS;
const TOP = 0x1000000;

function truncated(s: LzmaCore): never {
  throw new KernelError('E_KERNEL_TRUNCATED', `${s.label}: LZMA data ends early (truncated payload)`);
}

function corrupt(s: LzmaCore, ip: number, what: string): never {
  if (ip > s.end) truncated(s);
  throw new KernelError('E_KERNEL_CORRUPT', `${s.label}: corrupt LZMA data: ${what}`);
}

/**
 * Decode symbols until `left` runs out, the end marker, the ring's end, or YIELD_EVERY bytes are waiting.
 * Every "decode one bit" below is the same few lines (lzma-specification's DecodeBit, then Normalize).
 */
export function lzmaRun(s: LzmaCore): void {
  const win = s.window;
  const size = win.length;
  const input = s.input;
  const end = s.end;
  const P = s.probs;
  const lit = s.literal;
  const lc = s.lc;
  const pbMask = (1 << s.pb) - 1;
  const lpMask = (1 << s.lp) - 1;
  let ip = s.ip;
  let range = s.range;
  let code = s.code;
  let wpos = s.wpos;
  let dictLen = s.dictLen;
  let state = s.state;
  let rep0 = s.rep0;
  let rep1 = s.rep1;
  let rep2 = s.rep2;
  let rep3 = s.rep3;
  const stop = Math.min(size, s.flushed + YIELD_EVERY);
  // `left` may be Infinity (until the end marker); only what fits before `stop` matters to this call.
  const budget = Math.min(s.left, stop - wpos);
  const startPos = wpos;
  const limit = wpos + budget;
  let p = 0;
  let bound = 0;
  let pending = s.pendingLen;
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
    // Bytes past `end` may have been read by the last symbol (no check per byte); that stream was cut short.
    if (ip > end) truncated(s);
    const posState = dictLen & pbMask;
    // IS_MATCH[state][posState]
    let i = IS_MATCH + (state << 4) + posState;
    p = P[i] as number;
    bound = Math.imul(range >>> 11, p);
    if (code >>> 0 < bound >>> 0) {
      range = bound;
      P[i] = p + ((2048 - p) >>> 5);
      if (range >>> 0 < TOP) {
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
          range <<= 8;
          code = (code << 8) | (input[ip++] as number);
        }
        if (short) {
          if (rep0 >= dictLen || rep0 >= size) corrupt(s, ip, dictLen === 0 ? 'repeat before any output' : `match distance ${rep0 + 1} reaches before the data`);
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
            range <<= 8;
            code = (code << 8) | (input[ip++] as number);
          }
        }
        rep0 = (dist + rev) >>> 0;
      }
      if (rep0 === 0xffffffff) {
        s.marker = true;
        break;
      }
    }
    if (rep0 >= dictLen || rep0 >= size) corrupt(s, ip, dictLen === 0 ? 'repeat before any output' : `match distance ${rep0 + 1} reaches before the data`);
    // Bytes past this decode() call's limit are dropped; bytes past the ring's end wait for the next run().
    const allowed = s.left - (wpos - startPos);
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
  if (ip > end) truncated(s);
  s.left -= wpos - startPos;
  s.produced += wpos - startPos;
  s.ip = ip;
  s.range = range;
  s.code = code;
  s.wpos = wpos;
  s.dictLen = dictLen;
  s.state = state;
  s.rep0 = rep0;
  s.rep1 = rep1;
  s.rep2 = rep2;
  s.rep3 = rep3;
  s.pendingLen = pending;
}
