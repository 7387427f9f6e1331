import { KernelError } from '../errors.js';
import { LzmaCore } from './lzma-core.js';

/**
 * xz (.xz container → blocks → LZMA2 chunks on LzmaCore), with the BCJ x86 filter Linux's
 * scripts/xz_wrap.sh puts in front of LZMA2 for x86 kernels. We tried xz-decompress (xz-embedded as WASM):
 * its build has no BCJ filter, so it cannot read a real x86 kernel; hence this decoder. Header CRC32s are
 * verified; the block check is not, since we usually stop long before a block ends.
 */
const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FILTER_X86 = 0x04;
const FILTER_LZMA2 = 0x21;
const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function* unxz(input: Uint8Array, label: string, cap: number): Generator<Uint8Array> {
  const corrupt = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt xz stream: ${what}`);
  };
  const truncated = (): never => {
    throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the xz stream ends early (truncated payload)`);
  };
  const v = new DataView(input.buffer, input.byteOffset, input.length);
  if (input.length < 12) truncated();
  if (!MAGIC.every((b, i) => input[i] === b)) corrupt('bad magic');
  if (crc32(input.subarray(6, 8)) !== v.getUint32(8, true)) corrupt('stream header CRC32 mismatch');
  const check = (input[7] as number) & 0x0f;
  let p = 12;
  let core: LzmaCore | null = null;
  for (;;) {
    if (p >= input.length) truncated();
    const indicator = input[p] as number;
    if (indicator === 0) return; // the index: no more blocks
    const blockStart = p;
    const headerSize = (indicator + 1) * 4;
    if (p + headerSize > input.length) truncated();
    if (crc32(input.subarray(p, p + headerSize - 4)) !== v.getUint32(p + headerSize - 4, true)) corrupt('block header CRC32 mismatch');
    const header = input.subarray(p, p + headerSize - 4);
    const flags = header[1] as number;
    let h = 2;
    const vli = (): number => {
      let value = 0;
      for (let i = 0; i < 9; i++) {
        if (h >= header.length) corrupt('block header field runs past the header');
        const b = header[h++] as number;
        value += (b & 0x7f) * 2 ** (7 * i);
        if ((b & 0x80) === 0) return value;
      }
      return corrupt('variable-length integer too long');
    };
    if (flags & 0x40) vli(); // compressed size
    if (flags & 0x80) vli(); // uncompressed size
    const filters: Array<{ id: number; props: Uint8Array }> = [];
    for (let i = 0; i <= (flags & 3); i++) {
      const id = vli();
      const size = vli();
      if (h + size > header.length) corrupt('filter properties run past the header');
      filters.push({ id, props: header.subarray(h, h + size) });
      h += size;
    }
    const last = filters.at(-1);
    if (!last || last.id !== FILTER_LZMA2 || last.props.length !== 1) corrupt('the last filter is not LZMA2');
    for (const f of filters.slice(0, -1)) if (f.id !== FILTER_X86) corrupt(`filter 0x${f.id.toString(16)} is not supported (only BCJ x86 + LZMA2)`);
    const bits = (last as { props: Uint8Array }).props[0] as number;
    if (bits > 40) corrupt(`LZMA2 dictionary size code ${bits} out of range`);
    const dictSize = bits === 40 ? 0xffffffff : (2 | (bits & 1)) * 2 ** (Math.trunc(bits / 2) + 11);
    core = core && core.window.length >= Math.min(dictSize, cap) ? core : new LzmaCore(dictSize, label, cap);
    p += headerSize;
    const x86 = filters.find((f) => f.id === FILTER_X86);
    const start = x86 && x86.props.length === 4 ? new DataView(x86.props.buffer, x86.props.byteOffset, 4).getUint32(0, true) : 0;
    const chunks = lzma2(input, p, core, label, (end) => (p = end));
    yield* x86 ? bcjX86(chunks, start) : chunks;
    // Block padding to a multiple of four, then the check field.
    while ((p - blockStart) % 4 !== 0) p++;
    p += CHECK_SIZE[check] as number;
  }
}

/** LZMA2 chunks from `p` until the end-of-data control byte; reports where it stopped through `done`. */
function* lzma2(input: Uint8Array, p: number, core: LzmaCore, label: string, done: (end: number) => void): Generator<Uint8Array> {
  const truncated = (): never => {
    throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the xz stream ends inside an LZMA2 chunk (truncated payload)`);
  };
  let needDictReset = true;
  let needProps = true;
  for (;;) {
    if (p >= input.length) truncated();
    const control = input[p++] as number;
    if (control === 0) break;
    if (control === 1 || control === 2) {
      if (p + 2 > input.length) truncated();
      const size = (((input[p] as number) << 8) | (input[p + 1] as number)) + 1;
      p += 2;
      if (control === 1) {
        core.resetDictionary();
        needDictReset = false;
      } else if (needDictReset) corrupt(label, 'first chunk does not reset the dictionary');
      if (p + size > input.length) truncated();
      yield* core.store(input.subarray(p, p + size));
      p += size;
      continue;
    }
    if (control < 0x80) corrupt(label, `invalid LZMA2 control byte 0x${control.toString(16)}`);
    if (p + 4 > input.length) truncated();
    const unpacked = ((control & 0x1f) << 16) + (((input[p] as number) << 8) | (input[p + 1] as number)) + 1;
    const packed = (((input[p + 2] as number) << 8) | (input[p + 3] as number)) + 1;
    p += 4;
    const mode = (control >>> 5) & 3;
    if (mode === 3) {
      core.resetDictionary();
      needDictReset = false;
    } else if (needDictReset) corrupt(label, 'first chunk does not reset the dictionary');
    if (mode >= 2) {
      if (p >= input.length) truncated();
      const props = input[p++] as number;
      core.setProperties(props);
      needProps = false;
    } else if (needProps) corrupt(label, 'LZMA chunk without properties');
    if (mode >= 1) core.resetState();
    if (p + packed > input.length) truncated();
    const r = yield* core.decode(input, p, p + packed, unpacked);
    if (r.produced !== unpacked) corrupt(label, `LZMA2 chunk decoded to ${r.produced} bytes, header says ${unpacked}`);
    p += packed;
  }
  yield* core.drain();
  done(p);
}

function corrupt(label: string, what: string): never {
  throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt xz stream: ${what}`);
}

const TEST_MS = (b: number): boolean => b === 0x00 || b === 0xff;
const ALLOWED = [true, true, true, false, true, false, false, false];
const BIT_NUM = [0, 1, 2, 2, 3, 3, 3, 3];

/**
 * The x86 BCJ decoder: turns the absolute CALL/JMP (E8/E9) targets the encoder wrote back into relative ones.
 * Up to four trailing bytes of each piece wait for the next piece; the last ones pass through unfiltered.
 */
export function* bcjX86(source: Iterable<Uint8Array>, startOffset = 0): Generator<Uint8Array> {
  let pending = new Uint8Array(0);
  let pos = startOffset;
  let prevMask = 0;
  for (const chunk of source) {
    const buf = new Uint8Array(pending.length + chunk.length);
    buf.set(pending);
    buf.set(chunk, pending.length);
    if (buf.length <= 4) {
      pending = buf;
      continue;
    }
    const limit = buf.length - 4;
    let prevPos = -1;
    let i = 0;
    for (; i < limit; i++) {
      if (((buf[i] as number) & 0xfe) !== 0xe8) continue;
      const gap = i - prevPos;
      if (gap > 3) prevMask = 0;
      else {
        prevMask = (prevMask << (gap - 1)) & 7;
        if (prevMask !== 0) {
          const b = buf[i + 4 - (BIT_NUM[prevMask] as number)] as number;
          if (!ALLOWED[prevMask] || TEST_MS(b)) {
            prevPos = i;
            prevMask = (prevMask << 1) | 1;
            continue;
          }
        }
      }
      prevPos = i;
      if (TEST_MS(buf[i + 4] as number)) {
        let src = ((buf[i + 1] as number) | ((buf[i + 2] as number) << 8) | ((buf[i + 3] as number) << 16) | ((buf[i + 4] as number) << 24)) >>> 0;
        let dest: number;
        for (;;) {
          dest = (src - (pos + i + 5)) >>> 0;
          if (prevMask === 0) break;
          const j = (BIT_NUM[prevMask] as number) * 8;
          const b = (dest >>> (24 - j)) & 0xff;
          if (!TEST_MS(b)) break;
          src = (dest ^ (2 ** (32 - j) - 1)) >>> 0;
        }
        dest &= 0x01ffffff;
        if (dest & 0x01000000) dest |= 0xfe000000;
        buf[i + 1] = dest & 0xff;
        buf[i + 2] = (dest >>> 8) & 0xff;
        buf[i + 3] = (dest >>> 16) & 0xff;
        buf[i + 4] = (dest >>> 24) & 0xff;
        i += 4;
      } else {
        prevMask = (prevMask << 1) | 1;
      }
    }
    const gap = i - prevPos;
    prevMask = gap > 3 ? 0 : prevMask << (gap - 1);
    pos += i;
    yield buf.subarray(0, i);
    pending = buf.slice(i);
  }
  if (pending.length > 0) yield pending;
}
