import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianKernel, exec, FIXTURE_CACHE, repackBzImage, requireTools, type DebianKernel } from '@xenkit/fixtures';
import { openDecoder, type Codec } from './codecs/index.js';
import { analyzeKernel } from './index.js';
import { READNOTES, readnotes } from './test-helpers/readnotes.js';

// Each codec's CLI, at a fast level (the kernel build uses -9; the stream format is the same). xz gets the
// BCJ x86 filter exactly as Linux's scripts/xz_wrap.sh gives it.
const TOOLS: Record<Codec, string> = {
  gzip: 'gzip -1 -n -c',
  bzip2: 'bzip2 -1 -c',
  lzma: 'lzma -1 -c',
  xz: 'xz --check=crc32 --x86 --lzma2=preset=1 -c',
  lzo: 'lzop -1 -c',
  lz4: 'lz4 -l -1 -c',
  zstd: 'zstd -3 -c',
};
const CODECS = Object.keys(TOOLS) as Codec[];

let k: DebianKernel;
let vmlinuxHash: string;
const payloads = new Map<Codec, Buffer>();

/** The Debian ELF recompressed by each tool, cached per machine beside the kernel. */
function variant(codec: Codec): Buffer {
  const dir = join(FIXTURE_CACHE, 'debian-cloud-kernel', 'variants');
  const path = join(dir, `${codec}.payload`);
  if (!existsSync(path) || statSync(path).mtimeMs < statSync(k.vmlinux).mtimeMs) {
    mkdirSync(dir, { recursive: true });
    exec('sh', ['-c', `${TOOLS[codec]} < "$0" > "$1.tmp"`, k.vmlinux, path]);
    renameSync(`${path}.tmp`, path);
  }
  // Linux's size_append: the uncompressed length after the stream.
  const size = Buffer.alloc(4);
  size.writeUInt32LE(statSync(k.vmlinux).size);
  return Buffer.concat([readFileSync(path), size]);
}

beforeAll(() => {
  requireTools(READNOTES, 'gzip', 'bzip2', 'lzma', 'xz', 'lzop', 'lz4', 'zstd');
  k = ensureDebianKernel();
  vmlinuxHash = createHash('sha256').update(readFileSync(k.vmlinux)).digest('hex');
  for (const c of CODECS) payloads.set(c, variant(c));
}, 300_000);

describe('every payload codec on the real Debian kernel', () => {
  it.each(CODECS)('%s: a bzImage with the real setup header gives the same notes as readnotes on the ELF', async (codec) => {
    const original = readFileSync(k.vmlinuz);
    const bz = repackBzImage(original, payloads.get(codec) as Buffer);
    const a = await analyzeKernel(bz, { name: `vmlinuz+${codec}` });
    expect(a.codec).toBe(codec);
    expect(a.container).toBe('bzImage');
    expect(k.package).toBe(`linux-image-${a.version}`);
    expect(a.notes.map((n) => n.display).filter((d) => d !== null)).toEqual(readnotes(k.vmlinux).lines);
    expect(a.verdict).toMatchObject({ pv: true, guestType: 'xen-3.0-x86_64' });
    expect(a.decompressedAll).toBe(false);
  });

  it.each(CODECS)('%s: decoding the whole payload reproduces the ELF byte for byte', async (codec) => {
    const hash = createHash('sha256');
    const source = await openDecoder(codec, payloads.get(codec) as Buffer, codec);
    for (;;) {
      const step = await source.next();
      if (step.done) break;
      hash.update(step.value);
    }
    expect(hash.digest('hex')).toBe(vmlinuxHash);
  });
});
