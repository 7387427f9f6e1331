import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isXenkitError } from '@xenkit/core';
import { ensureDebianKernel, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { openDecoder, type Codec } from './codecs/index.js';

// The LZMA decoder's edge paths on streams the real tools write: a match crossing the point where output is
// handed out (big dictionaries), the dictionary ring wrapping (tiny ones), LZMA2 stored chunks (random data),
// and an end marker with no size in the header.
const tmp = tempDir('xenkit-pvk-lzma-');
afterAll(() => tmp.cleanup());

let input: string;
let sha: string;
beforeAll(() => {
  requireTools('xz', 'lzma');
  const elf = readFileSync(ensureDebianKernel().vmlinux);
  const seed = createHash('sha256').update('xenkit').digest();
  // Real code, incompressible bytes, the same code again (long matches far back), a run of one byte.
  const noise = Buffer.concat(Array.from({ length: 64 }, (_, i) => createHash('sha512').update(seed).update(String(i)).digest()));
  const data = Buffer.concat([elf.subarray(0, 3 << 19), noise, Buffer.alloc(1 << 16, 0x90), elf.subarray(1 << 19, 4 << 19), noise]);
  input = join(tmp.path, 'input');
  writeFileSync(input, data);
  sha = createHash('sha256').update(data).digest('hex');
}, 120_000);

async function decodeAll(codec: Codec, bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  const source = await openDecoder(codec, bytes, codec);
  for (;;) {
    const step = await source.next();
    if (step.done) break;
    hash.update(step.value);
  }
  return hash.digest('hex');
}

function compress(name: string, command: string): Buffer {
  const out = join(tmp.path, name);
  exec('sh', ['-c', `${command} < "$0" > "$1"`, input, out]);
  return readFileSync(out);
}

describe('LZMA / LZMA2 decoder against the xz tools', () => {
  it.each([
    ['lzma -9 (64 MiB dictionary: matches cross the 2 MiB hand-out points)', 'lzma', 'lzma -9 -c'],
    ['lzma, 4 KiB dictionary (the ring wraps mid-match)', 'lzma', 'xz --format=lzma --lzma1=dict=4KiB,lc=3,lp=0,pb=2 -c'],
    ['lzma with lc=0 lp=2 pb=0', 'lzma', 'xz --format=lzma --lzma1=dict=64KiB,lc=0,lp=2,pb=0 -c'],
    ['xz -9e --x86', 'xz', 'xz --check=crc32 --x86 --lzma2=preset=9e -c'],
    ['xz, 4 KiB dictionary, several blocks', 'xz', 'xz --block-size=1MiB --lzma2=dict=4KiB -c'],
  ] as const)('%s: byte for byte', async (_name, codec, command) => {
    const packed = compress(command.replace(/\W+/g, '_'), command);
    expect(await decodeAll(codec, packed)).toBe(sha);
  });

  it('an .lzma stream from a pipe (unknown size, end marker) decodes whole', async () => {
    const packed = compress('pipe.lzma', 'cat | lzma -6 -c');
    expect(packed.readUInt32LE(5)).toBe(0xffffffff);
    expect(await decodeAll('lzma', packed)).toBe(sha);
  });

  it('a stream cut anywhere ends in a coded error, never a hang or a wrong byte count', async () => {
    const packed = compress('cut.lzma', 'lzma -1 -c');
    for (const at of [14, 100, 4096, packed.length >> 1, packed.length - 8]) {
      const err = await decodeAll('lzma', packed.subarray(0, at)).catch((e: unknown) => e);
      expect(isXenkitError(err) ? err.code : err).toMatch(/^E_KERNEL_(TRUNCATED|CORRUPT)$/);
    }
  });
});
