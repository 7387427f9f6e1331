import { Decompress } from 'fzstd';
import { KernelError } from '../errors.js';

/**
 * Zstandard through fzstd (pure JS, MIT, no dependencies): its streaming Decompress is pushed 128 kB of
 * input at a time and we yield whatever frames that completes, so decoding stops with the ELF parser.
 * Bytes after the frame (Linux's appended size) are not fed once the frame is done.
 */
export function* unzstd(input: Uint8Array, label: string, cap: number): Generator<Uint8Array> {
  const window = frameWindow(input);
  // fzstd allocates the frame's window up front; refuse a header that asks for more than we would keep.
  if (window > Math.max(cap, 8 << 20)) {
    throw new KernelError('E_KERNEL_OUTPUT_LIMIT', `${label}: the zstd frame asks for a ${window}-byte window, more than the ${cap}-byte output limit`, { window, maxOutputBytes: cap });
  }
  const out: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    out.push(chunk);
  });
  const SLICE = 128 << 10;
  // The trailing 4-byte size is not a zstd frame; stop feeding before it when it is there.
  const end = input.length >= 8 && !isFrameStart(input, input.length - 4) ? input.length - 4 : input.length;
  for (let at = 0; at < end; at += SLICE) {
    const stop = Math.min(end, at + SLICE);
    d.push(input.subarray(at, stop), stop === end);
    while (out.length > 0) yield out.shift() as Uint8Array;
  }
}

function isFrameStart(b: Uint8Array, at: number): boolean {
  return b[at] === 0x28 && b[at + 1] === 0xb5 && b[at + 2] === 0x2f && b[at + 3] === 0xfd;
}

/** The window a zstd frame header declares (RFC 8878 §3.1.1.1): Window_Descriptor, or the content size. */
function frameWindow(b: Uint8Array): number {
  if (b.length < 6) return 0;
  const fhd = b[4] as number;
  const single = (fhd & 0x20) !== 0;
  if (!single) {
    const wd = b[5] as number;
    const base = 2 ** (10 + (wd >>> 3));
    return base + (base / 8) * (wd & 7);
  }
  const fcsFlag = fhd >>> 6;
  const didBytes = [0, 1, 2, 4][fhd & 3] as number;
  const at = 5 + didBytes;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (fcsFlag === 0) return at < b.length ? (b[at] as number) : 0;
  if (fcsFlag === 1) return at + 2 <= b.length ? v.getUint16(at, true) + 256 : 0;
  if (fcsFlag === 2) return at + 4 <= b.length ? v.getUint32(at, true) : 0;
  return at + 8 <= b.length ? Number(v.getBigUint64(at, true)) : 0;
}
