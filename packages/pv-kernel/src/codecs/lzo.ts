import { KernelError } from '../errors.js';

/**
 * lzop files ("\x89LZO" — what Xen's bzImage loader and Linux's decompress_unlzo.c accept): a header, then
 * blocks of [u32 BE dst_len][u32 BE src_len][checksums][LZO1X data, or stored when src_len == dst_len],
 * ended by dst_len 0. No maintained pure-JS LZO1X decoder exists on npm (the packages are native bindings or
 * an FFmpeg WASM build), and LZO1X is small, so this is our own, following the stream format Linux documents
 * in Documentation/staging/lzo.rst.
 */
const MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_EXTRA_FIELD = 0x40;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
const F_H_FILTER = 0x800;
// lzop never writes bigger blocks; Linux's unlzo refuses them too.
const MAX_BLOCK = 256 << 10;

export function* unlzop(input: Uint8Array, label: string): Generator<Uint8Array> {
  const v = new DataView(input.buffer, input.byteOffset, input.length);
  let p = 0;
  const need = (n: number, what: string): void => {
    if (p + n > input.length) throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the lzop stream ends inside ${what} (truncated payload)`);
  };
  need(MAGIC.length + 7, 'its header');
  if (!MAGIC.every((b, i) => input[i] === b)) throw new KernelError('E_KERNEL_CORRUPT', `${label}: bad lzop magic`);
  p = MAGIC.length;
  const version = v.getUint16(p);
  p += 4; // version, library version
  if (version >= 0x0940) p += 2; // version needed to extract
  need(2, 'its header');
  const method = input[p++] as number;
  if (method < 1 || method > 3) throw new KernelError('E_KERNEL_CORRUPT', `${label}: lzop method ${method} is not LZO1X`);
  if (version >= 0x0940) p++; // level
  need(4, 'its header');
  const flags = v.getUint32(p);
  p += 4;
  if (flags & F_H_FILTER) p += 4;
  p += 8; // mode, mtime low
  if (version >= 0x0940) p += 4; // mtime high
  need(1, 'its header');
  p += 1 + (input[p] as number); // file name
  p += 4; // header checksum
  if (flags & F_H_EXTRA_FIELD) {
    need(4, 'its extra field');
    p += 4 + v.getUint32(p) + 4;
  }
  for (;;) {
    need(4, 'a block header');
    const dst = v.getUint32(p);
    p += 4;
    if (dst === 0) return;
    if (dst > MAX_BLOCK) throw new KernelError('E_KERNEL_CORRUPT', `${label}: lzop block of ${dst} bytes exceeds the 256 KiB limit`);
    need(4, 'a block header');
    const src = v.getUint32(p);
    p += 4;
    if (src > dst) throw new KernelError('E_KERNEL_CORRUPT', `${label}: lzop block compresses ${dst} bytes into ${src}`);
    if (flags & F_ADLER32_D) p += 4;
    if (flags & F_CRC32_D) p += 4;
    if (src < dst) {
      if (flags & F_ADLER32_C) p += 4;
      if (flags & F_CRC32_C) p += 4;
    }
    need(src, 'a block');
    const data = input.subarray(p, p + src);
    p += src;
    if (src === dst) yield data;
    else {
      const out = new Uint8Array(dst);
      const n = lzo1x(data, out, label);
      if (n !== dst) throw new KernelError('E_KERNEL_CORRUPT', `${label}: LZO1X block decoded to ${n} bytes, header says ${dst}`);
      yield out;
    }
  }
}

/** Decode one LZO1X block into `out` (its exact size); returns the bytes written. */
export function lzo1x(src: Uint8Array, out: Uint8Array, label: string): number {
  let ip = 0;
  let op = 0;
  const fail = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: corrupt LZO1X block: ${what}`, { offset: ip });
  };
  const byte = (): number => (ip < src.length ? (src[ip++] as number) : fail('instruction runs past the block'));
  // Variable-length count: the low bits, or (when zero) mask + 255 per zero byte + the next non-zero byte.
  const count = (low: number, mask: number): number => {
    if (low !== 0) return low;
    let n = mask;
    let b: number;
    while ((b = byte()) === 0) {
      n += 255;
      if (n > out.length) fail('length exceeds the block');
    }
    return n + b;
  };
  const literals = (n: number): void => {
    if (ip + n > src.length) fail('literals run past the block');
    if (op + n > out.length) fail('literals overflow the block');
    out.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const copy = (dist: number, len: number): void => {
    if (dist > op) fail(`match distance ${dist} reaches before the block`);
    if (op + len > out.length) fail('match overflows the block');
    let from = op - dist;
    for (const stop = op + len; op < stop; ) out[op++] = out[from++] as number;
  };

  let state = 0;
  if (src.length > 0 && (src[0] as number) > 17) {
    const t = byte() - 17;
    literals(t);
    state = t < 4 ? t : 4;
  }
  for (;;) {
    const t = byte();
    let s: number;
    if (t < 16) {
      if (state === 0) {
        literals(3 + count(t & 15, 15));
        state = 4;
        continue;
      }
      const h = byte();
      if (state < 4) copy((h << 2) + ((t >>> 2) & 3) + 1, 2);
      else copy((h << 2) + ((t >>> 2) & 3) + 2049, 3);
      s = t & 3;
    } else if (t < 32) {
      const len = 2 + count(t & 7, 7);
      const le = byte() | (byte() << 8);
      const dist = 16384 + ((t & 8) << 11) + (le >>> 2);
      if (dist === 16384) break; // end of stream
      copy(dist, len);
      s = le & 3;
    } else if (t < 64) {
      const len = 2 + count(t & 31, 31);
      const le = byte() | (byte() << 8);
      copy((le >>> 2) + 1, len);
      s = le & 3;
    } else {
      const h = byte();
      const len = t < 128 ? 3 + ((t >>> 5) & 1) : 5 + ((t >>> 5) & 3);
      copy((h << 3) + ((t >>> 2) & 7) + 1, len);
      s = t & 3;
    }
    literals(s);
    state = s;
  }
  return op;
}
