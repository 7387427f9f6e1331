import { readFileSync } from 'node:fs';
import { analyzeKernel } from '@xenkit/pv-kernel';
import { repackBzImage } from '@xenkit/fixtures';
const orig = readFileSync('/tmp/pvk/x/boot/vmlinuz-6.1.0-56-cloud-amd64');
for (const c of ['gzip', 'bzip2', 'lzma', 'xz', 'lzop', 'lz4', 'zstd']) {
  const p = readFileSync(`/tmp/pvk/v.${c}`);
  const size = Buffer.alloc(4); size.writeUInt32LE(53243444);
  const bz = repackBzImage(orig, Buffer.concat([p, size]));
  const t = Date.now();
  try {
    const a = await analyzeKernel(bz, { exhaustive: process.argv[2] === 'x' });
    console.log(c, Date.now() - t, 'ms', a.codec, a.notes.length, a.verdict.pv, a.decompressedBytes);
  } catch (e) { console.log(c, 'ERR', (e as Error).message); }
}
