import { Decompress } from 'fzstd';

/**
 * Zstandard through fzstd (pure JS, MIT, no dependencies): its streaming Decompress is pushed 128 kB of
 * input at a time and we yield whatever frames that completes, so decoding stops with the ELF parser.
 * Bytes after the frame (Linux's appended size) are not fed once the frame is done.
 */
export function* unzstd(input: Uint8Array): Generator<Uint8Array> {
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
