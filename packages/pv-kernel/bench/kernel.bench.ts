// Benchmark: xenkit's PV verdict on Debian's real cloud kernel vs Xen's own tools doing the same job —
// unwrap the bzImage payload with the codec CLI, then `readnotes` on the ELF — measured in the same run.
// Goal: within 2× of the pipeline. Run with `npm run bench -- pv-kernel`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bzPayload, ensureDebianKernel, requireTools, tempDir } from '@xenkit/fixtures';
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
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('sh', ['-c', script, k.vmlinuz, join(tmp.path, 'vmlinux')]);
    if (r.status !== 0) throw new Error(`peer pipeline failed: ${r.stderr}`);
    peer.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ours: number[] = [];
  let decompressed = 0;
  await analyzeKernel(k.vmlinuz); // warm-up (JIT, file cache)
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
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
} finally {
  tmp.cleanup();
}
