import type { ChunkSource } from '../image.js';

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

// A kernel uses one codec, so only that decoder is loaded: the others (fzstd, seek-bzip, the LZMA core)
// would cost every `xenkit check` their module loading for nothing.
const decoders: Record<Codec, () => Promise<Decoder>> = {
  gzip: async () => (await import('./gzip.js')).gunzipChunks,
  bzip2: async () => (await import('./bzip2.js')).bunzip2,
  lzma: async () => (await import('./lzma.js')).unlzma,
  xz: async () => (await import('./xz.js')).unxz,
  lzo: async () => (await import('./lzo.js')).unlzop,
  lz4: async () => (await import('./lz4.js')).lz4Legacy,
  zstd: async () => (await import('./zstd.js')).unzstd,
};

export async function openDecoder(codec: Codec, input: Uint8Array, label: string, cap = 256 << 20): Promise<ChunkSource> {
  return (await decoders[codec]())(input, label, cap);
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
