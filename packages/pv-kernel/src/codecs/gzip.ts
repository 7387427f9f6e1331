import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { KernelError } from '../errors.js';

const SLICE = 256 << 10;

function* slices(input: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < input.length; at += SLICE) {
    const end = Math.min(input.length, at + SLICE);
    yield Buffer.from(input.buffer, input.byteOffset + at, end - at);
  }
}

/**
 * Where the deflate data of a gzip member starts (RFC 1952 §2.3: 10 fixed bytes, then FEXTRA, FNAME,
 * FCOMMENT, FHCRC as the flags say).
 */
export function gzipDataOffset(input: Uint8Array, label: string): number {
  const bad = (what: string): never => {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: bad gzip header: ${what}`);
  };
  if (input.length < 18 || input[0] !== 0x1f || input[1] !== 0x8b) bad('no 1f 8b magic or too short');
  if (input[2] !== 8) bad(`compression method ${input[2]} is not deflate`);
  const flags = input[3] as number;
  let at = 10;
  if (flags & 4) {
    const xlen = (input[at] as number) | ((input[at + 1] as number) << 8);
    at += 2 + xlen;
  }
  const skipString = (): void => {
    const end = input.indexOf(0, at);
    if (end < 0) bad('unterminated file name or comment');
    at = end + 1;
  };
  if (flags & 8) skipString();
  if (flags & 16) skipString();
  if (flags & 2) at += 2;
  if (at >= input.length) bad('header runs past the data');
  return at;
}

/**
 * gzip through node:zlib's raw inflate: we parse the member header ourselves so whatever follows the deflate
 * stream (Linux's appended size, padding) is never mistaken for a second member — Xen reads one member too.
 * The input is fed in slices through a pipe, so back-pressure keeps zlib only a little ahead of what the ELF
 * parser asked for; returning early destroys both ends.
 */
export async function* gunzipChunks(input: Uint8Array, label: string): AsyncGenerator<Uint8Array> {
  const start = gzipDataOffset(input, label);
  const source = Readable.from(slices(input.subarray(start)), { objectMode: false });
  const inflate = createInflateRaw({ chunkSize: 1 << 20 });
  source.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'Z_BUF_ERROR') {
      throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the gzip stream ends early (truncated payload)`, {}, error);
    }
    throw error;
  } finally {
    source.unpipe(inflate);
    source.destroy();
    inflate.destroy();
  }
}
