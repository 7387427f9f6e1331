import type { ChunkSource } from '../image.js';
import { bunzip2 } from './bzip2.js';
import { gunzipChunks } from './gzip.js';
import { lz4Legacy } from './lz4.js';
import { unlzma } from './lzma.js';
import { unlzop } from './lzo.js';
import { unxz } from './xz.js';
import { unzstd } from './zstd.js';

export type Codec = 'gzip' | 'bzip2' | 'lzma' | 'xz' | 'lzo' | 'lz4' | 'zstd';

/**
 * Payload magics in the order Xen's bzImage loader (xg_dom_bzimageloader.c) tests them. Anything else is
 * "unknown compression format" to Xen, and so to us.
 */
const MAGICS: ReadonlyArray<readonly [Codec, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzma', [0x5d, 0x00]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['lz4', [0x02, 0x21]],
];

export function detectCodec(payload: Uint8Array): Codec | null {
  for (const [codec, magic] of MAGICS) {
    if (payload.length >= magic.length && magic.every((b, i) => payload[i] === b)) return codec;
  }
  return null;
}

/** `cap` bounds what a decoder may allocate for its window: nothing past the output cap is ever kept. */
type Decoder = (input: Uint8Array, label: string, cap: number) => Iterator<Uint8Array> | AsyncIterator<Uint8Array>;

const decoders: Record<Codec, Decoder> = {
  gzip: (input, label) => gunzipChunks(input, label),
  bzip2: (input, label) => bunzip2(input, label),
  lzma: (input, label, cap) => unlzma(input, label, cap),
  xz: (input, label, cap) => unxz(input, label, cap),
  lzo: (input, label) => unlzop(input, label),
  lz4: (input, label) => lz4Legacy(input, label),
  zstd: (input, label, cap) => unzstd(input, label, cap),
};

export function openDecoder(codec: Codec, input: Uint8Array, label: string, cap = 256 << 20): ChunkSource {
  return decoders[codec](input, label, cap);
}

/**
 * The uncompressed size Linux's build appends after every compressed payload (scripts/Makefile.lib
 * size_append), or gzip's ISIZE: a capacity hint, never trusted as a bound.
 */
export function sizeHint(payload: Uint8Array): number {
  if (payload.length < 8) return 0;
  const v = new DataView(payload.buffer, payload.byteOffset + payload.length - 4, 4).getUint32(0, true);
  return v < 1 << 30 ? v : 0;
}
