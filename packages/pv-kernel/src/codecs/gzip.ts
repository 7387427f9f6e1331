import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const SLICE = 256 << 10;

function* slices(input: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < input.length; at += SLICE) {
    const end = Math.min(input.length, at + SLICE);
    yield Buffer.from(input.buffer, input.byteOffset + at, end - at);
  }
}

/**
 * gzip through node:zlib. The input is fed in slices through a piped stream, so back-pressure keeps zlib
 * only a little ahead of what the ELF parser asked for; returning early destroys both ends. Bytes after the
 * gzip member (Linux's appended size) are ignored, as Linux and Xen ignore them.
 */
export async function* gunzipChunks(input: Uint8Array): AsyncGenerator<Uint8Array> {
  const source = Readable.from(slices(input), { objectMode: false });
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
}
