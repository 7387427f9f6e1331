// Benchmark: xenkit's PV verdict on Debian's real cloud kernel vs Xen's own tools doing the same job —
// unwrap the bzImage payload with the codec CLI, then `readnotes` on the ELF — measured in the same run.
// Goal: within 2× of the pipeline. Run with `npm run bench -- pv-kernel`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bzPayload, ensureDebianKernel, FIXTURE_CACHE, repackBzImage, requireTools, tempDir } from '@xenkit/fixtures';
import { analyzeKernel } from '../src/index.js';

const READNOTES = '/usr/lib/xen-4.17/bin/readnotes';
const RUNS = Number(process.env.BENCH_RUNS ?? '15');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const k = ensureDebianKernel();
requireTools(READNOTES, k.codec);
const file = readFileSync(k.vmlinuz);
const { start, length } = bzPayload(file);
const tmp = tempDir('xenkit-pvk-bench-');
try {
  // The pipeline a Xen admin would run: cut the payload out, decompress it (Linux's trailing size dropped),
  // then readnotes. One shell, so process start-up is counted once per tool as it would be.
  const script = `tail -c +$((${start} + 1)) "$0" | head -c ${length - 4} | ${k.codec} -dc > "$1" && ${READNOTES} "$1" > /dev/null`;
  const peer: number[] = [];
  const ours: number[] = [];
  let decompressed = 0;
  await analyzeKernel(k.vmlinuz); // warm-up (JIT, file cache)
  // Peer and xenkit runs alternate, so load from other processes on a shared machine hits both alike.
  for (let i = 0; i < RUNS; i++) {
    let t = process.hrtime.bigint();
    const r = spawnSync('sh', ['-c', script, k.vmlinuz, join(tmp.path, 'vmlinux')]);
    if (r.status !== 0) throw new Error(`peer pipeline failed: ${r.stderr}`);
    peer.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    const a = await analyzeKernel(k.vmlinuz);
    ours.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!a.verdict.pv) throw new Error('the Debian kernel must be PV-capable');
    decompressed = a.decompressedBytes;
  }
  const p = median(peer);
  const o = median(ours);
  console.log(`kernel: ${k.package} (${(file.length / 2 ** 20).toFixed(1)} MiB bzImage, ${k.codec} payload)`);
  console.log(`  peer  ${k.codec} -d | readnotes   median ${p.toFixed(1)} ms over ${RUNS} runs`);
  console.log(`  xenkit analyzeKernel        median ${o.toFixed(1)} ms over ${RUNS} runs (decompressed ${(decompressed / 2 ** 20).toFixed(1)} MiB, stopped at the notes)`);
  console.log(`  ratio xenkit / peer = ${(o / p).toFixed(2)}× (goal ≤ 2×)${o / p <= 2 ? '' : '  ** over goal **'}`);

  // The same ELF recompressed with each other codec into the real bzImage (cached with the test suite's
  // variants): where the decoder is ours in JavaScript, how far from the C tool are we?
  const dir = join(FIXTURE_CACHE, 'debian-cloud-kernel', 'variants');
  const tools: Record<string, [string, string]> = {
    gzip: ['gzip -1 -n -c', 'gzip'], bzip2: ['bzip2 -1 -c', 'bzip2'], lzma: ['lzma -1 -c', 'lzma'],
    xz: ['xz --check=crc32 --x86 --lzma2=preset=1 -c', 'xz'], lzo: ['lzop -1 -c', 'lzop'], zstd: ['zstd -3 -c', 'zstd'],
  };
  console.log('  other codecs (same ELF, real setup header; peer = <tool> -dc | readnotes):');
  const runs = Math.max(3, Math.floor(RUNS / 3));
  for (const [codec, [compress, tool]] of Object.entries(tools)) {
    const path = join(dir, `${codec}.payload`);
    if (!existsSync(path) || statSync(path).mtimeMs < statSync(k.vmlinux).mtimeMs) {
      mkdirSync(dir, { recursive: true });
      spawnSync('sh', ['-c', `${compress} < "$0" > "$1"`, k.vmlinux, path]);
    }
    const size = Buffer.alloc(4);
    size.writeUInt32LE(statSync(k.vmlinux).size);
    const bz = repackBzImage(file, Buffer.concat([readFileSync(path), size]));
    const peerRuns: number[] = [];
    const ourRuns: number[] = [];
    await analyzeKernel(bz); // warm-up: this codec's decoder gets compiled
    for (let i = 0; i < runs; i++) {
      let t = process.hrtime.bigint();
      const r = spawnSync('sh', ['-c', `${tool} -dc < "$0" > "$1" && ${READNOTES} "$1" > /dev/null`, path, join(tmp.path, 'vmlinux')]);
      if (r.status !== 0) throw new Error(`${tool} pipeline failed: ${r.stderr}`);
      peerRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      await analyzeKernel(bz);
      ourRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const pp = median(peerRuns);
    const oo = median(ourRuns);
    console.log(`    ${codec.padEnd(6)} peer ${pp.toFixed(0).padStart(6)} ms   xenkit ${oo.toFixed(0).padStart(6)} ms   ratio ${(oo / pp).toFixed(2)}×`);
  }
} finally {
  tmp.cleanup();
}
