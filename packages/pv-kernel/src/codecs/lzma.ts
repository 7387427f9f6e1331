import { KernelError } from '../errors.js';
import { LzmaCore } from './lzma-core.js';

/**
 * LZMA "alone" (.lzma, the format `lzma` writes and Linux's bzImage uses): 13-byte header (properties byte,
 * u32 LE dictionary size, u64 LE uncompressed size or all-ones for "until the end marker"), then one LZMA
 * stream. No pure-JS npm package decodes it incrementally, so it runs on our own LzmaCore.
 */
export function* unlzma(input: Uint8Array, label: string, cap: number): Generator<Uint8Array> {
  if (input.length < 18) throw new KernelError('E_KERNEL_TRUNCATED', `${label}: LZMA stream shorter than its header`);
  const v = new DataView(input.buffer, input.byteOffset, input.length);
  const lo = v.getUint32(5, true);
  const hi = v.getUint32(9, true);
  const total = lo === 0xffffffff && hi === 0xffffffff ? Infinity : hi * 2 ** 32 + lo;
  const core = new LzmaCore(v.getUint32(1, true), label, cap);
  core.setProperties(input[0] as number);
  core.resetState();
  yield* core.decode(input, 13, input.length, total);
  yield* core.drain();
}
