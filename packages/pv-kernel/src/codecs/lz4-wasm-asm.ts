/**
 * Source of the LZ4 block decoder's WebAssembly module (lz4-wasm.ts embeds the bytes this assembles; a
 * test checks they are equal — regenerate with `npx tsx packages/pv-kernel/src/codecs/lz4-wasm-asm.ts`).
 *
 * Memory (one linear memory, laid out by lz4.ts): an output window, then a chunk of compressed input.
 * Copies run 8 or 16 bytes at a time and may spill up to 16 bytes past a region's logical end, which is why
 * each region has WASM_SLACK bytes behind it; the logical bounds (input end, output length, how far back a
 * match may reach) are checked exactly, as in the JavaScript decoder, and reported as a status code for the
 * caller to turn into a KernelError. The engine's own bounds checks on linear memory are a second fence.
 */

import { Lz4Status } from './lz4-wasm.js';

// ---- a minimal WebAssembly assembler ----
type Code = Array<number | Code>;
const flat = (code: Code): number[] => {
  const out: number[] = [];
  const walk = (c: Code): void => {
    for (const x of c) typeof x === 'number' ? out.push(x) : walk(x);
  };
  walk(code);
  return out;
};
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const VOID = 0x40;
const block = (...body: Code): Code => [0x02, VOID, ...body, 0x0b];
const loop = (...body: Code): Code => [0x03, VOID, ...body, 0x0b];
const if_ = (...body: Code): Code => [0x04, VOID, ...body, 0x0b];
const ifElse = (then: Code, otherwise: Code): Code => [0x04, VOID, ...then, 0x05, ...otherwise, 0x0b];
const br = (depth: number): Code => [0x0c, depth];
const brIf = (depth: number): Code => [0x0d, depth];
const get = (local: number): Code => [0x20, local];
const set = (local: number): Code => [0x21, local];
const tee = (local: number): Code => [0x22, local];
const gset = (global: number): Code => [0x24, global];
const i32 = (n: number): Code => [0x41, ...sleb(n)];
const RETURN = 0x0f;
const EQZ = 0x45, EQ = 0x46, LT_U = 0x49, GT_U = 0x4b, LE_U = 0x4d, GE_U = 0x4f;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71, OR = 0x72, SHR_U = 0x76;
const load8 = (offset = 0): Code => [0x2d, 0, ...uleb(offset)];
const load16 = (offset = 0): Code => [0x2f, 0, ...uleb(offset)];
const load64 = (offset = 0): Code => [0x29, 0, ...uleb(offset)];
const store8 = (offset = 0): Code => [0x3a, 0, ...uleb(offset)];
const store64 = (offset = 0): Code => [0x37, 0, ...uleb(offset)];
const MEMORY_COPY: Code = [0xfc, 0x0a, 0x00, 0x00];
const inc = (local: number, n: number): Code => [get(local), i32(n), ADD, set(local)];

// ---- decode(ip, end, op, limit, stopAt, room, hist, avail) -> status; globals 0/1 receive ip/op ----
// All positions are memory addresses. The block's input ends at `end`, but only bytes before `avail` are in
// memory; `limit` is where the caller's output buffer ends, `room` where the output window in memory ends,
// and `op + hist` is the output position within the block, which no match may reach back past. A sequence
// that needs input past `avail` or output past `room` is left whole (NeedInput / NeedRoom, with ip and op at
// its start) for the caller to bring in more input or make room, and call again.
// Locals: 0 ip, 1 end, 2 op, 3 limit, 4 stopAt, 5 room, 6 hist, 7 avail, 8 token, 9 lit, 10 b, 11 offset,
// 12 from, 13 mend (where the match ends), 14/15 ip/op at the start of the sequence.
const [IP, END, OP, LIMIT, STOP, ROOM, HIST, AVAIL, TOKEN, LIT, B, OFFSET, FROM, MEND, SIP, SOP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const leave = (status: Lz4Status): Code => if_(get(SIP), gset(0), get(SOP), gset(1), i32(status), RETURN);
const fail = (status: Lz4Status): Code => if_(get(IP), gset(0), get(OP), gset(1), i32(status), RETURN);
/** Input ran out: the block is corrupt if it really ends here, else the caller must bring in more. */
const past = (status: Lz4Status, sip: number, sop: number): Code =>
  if_(
    get(AVAIL), get(END), LT_U, if_(get(sip), gset(0), get(sop), gset(1), i32(Lz4Status.NeedInput), RETURN),
    get(IP), gset(0), get(OP), gset(1), i32(status), RETURN,
  );
/** Add 255-continued length bytes to local `into`; stop early once it passes `cap` (keeps sums in range). */
const extend = (into: number, cap: number, out: number, sip: number, sop: number, b: number): Code =>
  loop(
    get(IP), get(AVAIL), GE_U, past(Lz4Status.LengthPastEnd, sip, sop),
    get(IP), load8(), tee(b), get(into), ADD, set(into),
    inc(IP, 1),
    get(into), get(cap), GT_U, if_(get(IP), gset(0), get(out), gset(1), i32(Lz4Status.OutputLimit), RETURN),
    get(b), i32(255), EQ, brIf(0),
  );

const decodeBody: Code = [
  block(
    loop(
      get(IP), get(END), GE_U, brIf(1),
      get(OP), get(STOP), GE_U, brIf(1),
      get(IP), set(SIP), get(OP), set(SOP),
      get(IP), get(AVAIL), GE_U, leave(Lz4Status.NeedInput),
      get(IP), load8(), set(TOKEN),
      inc(IP, 1),
      get(TOKEN), i32(4), SHR_U, tee(LIT), i32(15), EQ, if_(extend(LIT, LIMIT, OP, SIP, SOP, B)),
      get(IP), get(LIT), ADD, get(AVAIL), GT_U, past(Lz4Status.LiteralsPastEnd, SIP, SOP),
      get(OP), get(LIT), ADD, get(LIMIT), GT_U, fail(Lz4Status.OutputLimit),
      get(OP), get(LIT), ADD, get(ROOM), GT_U, leave(Lz4Status.NeedRoom),
      get(LIT), i32(16), LE_U,
      ifElse(
        [get(OP), get(IP), load64(), store64(), get(OP), get(IP), load64(8), store64(8)],
        [get(OP), get(IP), get(LIT), MEMORY_COPY],
      ),
      get(IP), get(LIT), ADD, set(IP),
      get(OP), get(LIT), ADD, set(OP),
      get(IP), get(END), EQ, brIf(1), // the last sequence has literals only
      get(AVAIL), get(IP), SUB, i32(2), LT_U, past(Lz4Status.OffsetPastEnd, SIP, SOP),
      get(IP), load16(), set(OFFSET),
      inc(IP, 2),
      get(OFFSET), EQZ, get(OFFSET), get(OP), get(HIST), ADD, GT_U, OR, fail(Lz4Status.BadOffset),
      get(OP), get(TOKEN), i32(15), AND, ADD, i32(4), ADD, set(MEND),
      get(TOKEN), i32(15), AND, i32(15), EQ, if_(extend(MEND, LIMIT, OP, SIP, SOP, B)),
      get(MEND), get(LIMIT), GT_U, fail(Lz4Status.OutputLimit),
      get(MEND), get(ROOM), GT_U, leave(Lz4Status.NeedRoom),
      get(OP), get(OFFSET), SUB, set(FROM),
      get(OFFSET), i32(16), GE_U,
      ifElse(
        // Every 16-byte read lies below the write position, so overlapping matches repeat correctly.
        [loop(
          get(OP), get(FROM), load64(), store64(), get(OP), get(FROM), load64(8), store64(8),
          inc(OP, 16), inc(FROM, 16),
          get(OP), get(MEND), LT_U, brIf(0),
        )],
        [
          get(OFFSET), i32(8), LT_U,
          if_(
            // A period under 8: lay down 8 bytes one at a time, then copy from a whole number of periods
            // (at least 8) back, which 8-byte moves can read without overtaking the writes.
            get(OP), i32(8), ADD, set(B),
            loop(get(OP), get(FROM), load8(), store8(), inc(OP, 1), inc(FROM, 1), get(OP), get(B), LT_U, brIf(0)),
            get(OFFSET), set(B),
            block(loop(get(B), i32(8), GE_U, brIf(1), get(B), get(OFFSET), ADD, set(B), br(0))),
            get(OP), get(B), SUB, set(FROM),
          ),
          loop(get(OP), get(FROM), load64(), store64(), inc(OP, 8), inc(FROM, 8), get(OP), get(MEND), LT_U, brIf(0)),
        ],
      ),
      get(MEND), set(OP),
      br(0),
    ),
  ),
  get(IP), gset(0), get(OP), gset(1), i32(Lz4Status.Ok),
];

// ---- size(ip, end, limit, size, _, _, _, avail) -> status; global 0 receives ip, global 1 the size ----
// Counts on from `size`; input as in decode (NeedInput leaves ip and size at the sequence's start). The
// unused parameters put `avail` in the same local as decode's, so both share the helpers above.
// Locals: 0 ip, 1 end, 2 limit, 3 size, 4-6 unused, 7 avail, 8 token, 9 lit, 10 b, 11/12 ip/size at the
// start of the sequence.
const [S_LIMIT, S_SIZE, S_TOKEN, S_LIT, S_B, S_SIP, S_SSIZE] = [2, 3, 8, 9, 10, 11, 12];
const sizeFail = (status: Lz4Status): Code => if_(get(IP), gset(0), get(S_SIZE), gset(1), i32(status), RETURN);
const sizeBody: Code = [
  block(
    loop(
      get(IP), get(END), GE_U, brIf(1),
      get(IP), set(S_SIP), get(S_SIZE), set(S_SSIZE),
      get(IP), get(AVAIL), GE_U, if_(get(S_SIP), gset(0), get(S_SSIZE), gset(1), i32(Lz4Status.NeedInput), RETURN),
      get(IP), load8(), set(S_TOKEN),
      inc(IP, 1),
      get(S_TOKEN), i32(4), SHR_U, tee(S_LIT), i32(15), EQ, if_(extend(S_LIT, S_LIMIT, S_SIZE, S_SIP, S_SSIZE, S_B)),
      get(IP), get(S_LIT), ADD, set(IP),
      get(S_SIZE), get(S_LIT), ADD, set(S_SIZE),
      get(IP), get(END), GT_U, sizeFail(Lz4Status.LiteralsPastEnd),
      get(IP), get(END), EQ, brIf(1),
      inc(IP, 2),
      get(IP), get(END), GT_U, sizeFail(Lz4Status.OffsetPastEnd),
      get(S_TOKEN), i32(15), AND, i32(4), ADD, set(S_LIT),
      get(S_LIT), i32(19), EQ, if_(extend(S_LIT, S_LIMIT, S_SIZE, S_SIP, S_SSIZE, S_B)),
      get(S_SIZE), get(S_LIT), ADD, tee(S_SIZE), get(S_LIMIT), GT_U, sizeFail(Lz4Status.OutputLimit),
      br(0),
    ),
  ),
  get(IP), gset(0), get(S_SIZE), gset(1), i32(Lz4Status.Ok),
];

export function moduleBytes(): Uint8Array {
  const body = (locals: number, code: Code): number[] => {
    const b = [...vec([[...uleb(locals), I32]]), ...flat(code), 0x0b];
    return [...uleb(b.length), ...b];
  };
  const mutableI32 = [I32, 0x01, ...i32(0), 0x0b] as number[];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 8 }, () => [I32])), ...vec([[I32]])]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0], [0]])),
    ...section(6, vec([mutableI32, mutableI32])),
    ...section(7, vec([[...name('decode'), 0x00, 0], [...name('size'), 0x00, 1], [...name('ip'), 0x03, 0], [...name('op'), 0x03, 1]])),
    ...section(10, vec([body(8, decodeBody), body(5, sizeBody)])),
  ]);
}


if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${Buffer.from(moduleBytes()).toString('base64')}\n`);
