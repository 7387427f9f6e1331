// Benchmark: the LZ4 kernel path in COLD processes, as `xenkit check` runs it (one kernel per process, no
// warm-up), against Xen's own tools doing the same job in fresh processes too: `lz4 -d | readnotes`.
// Each xenkit run is a fresh `node` (tsx) process timing only its first analyzeKernel call; process start
// and module loading are left out on both sides' xenkit figures, and are in the peer's (it has no other way).
// Run with `npm run bench -- lz4-cold`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bzPayload, ensureDebianKernel, requireTools, tempDir } from '@xenkit/fixtures';
import { readFileSync } from 'node:fs';

const READNOTES = '/usr/lib/xen-4.17/bin/readnotes';
const RUNS = Number(process.env.BENCH_RUNS ?? '11');
const child = join(import.meta.dirname, 'cold-child.ts');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function cold(mode: string, path: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--conditions=@xenkit/source', '--import', 'tsx', child, mode, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cold ${mode} run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

const k = ensureDebianKernel();
requireTools(READNOTES, 'lz4');
if (k.codec !== 'lz4') throw new Error(`the Debian kernel's payload is ${k.codec}, not lz4`);
const { start, length } = bzPayload(readFileSync(k.vmlinuz));
const tmp = tempDir('xenkit-lz4-cold-');
try {
  const script = `tail -c +$((${start} + 1)) "$0" | head -c ${length - 4} | lz4 -dc > "$1" && ${READNOTES} "$1" > /dev/null`;
  const peer: number[] = [];
  const analyze: number[] = [];
  const size: number[] = [];
  const resume: number[] = [];
  let sized = 0;
  let decoded = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('sh', ['-c', script, k.vmlinuz, join(tmp.path, 'vmlinux')]);
    if (r.status !== 0) throw new Error(`peer pipeline failed: ${r.stderr}`);
    peer.push(Number(process.hrtime.bigint() - t) / 1e6);
    analyze.push(cold('analyze', k.vmlinuz).ms as number);
    const c = cold('codec', k.vmlinuz);
    size.push(c.sizeMs as number);
    resume.push(c.resumeMs as number);
    sized = c.sized as number;
    decoded = c.decoded as number;
  }
  const p = median(peer);
  const a = median(analyze);
  console.log(`kernel: ${k.package} (lz4 payload), ${RUNS} fresh processes each`);
  console.log(`  peer  lz4 -d | readnotes (whole pipeline)   median ${p.toFixed(1)} ms`);
  console.log(`  xenkit analyzeKernel, first call           median ${a.toFixed(1)} ms   ratio ${(a / p).toFixed(2)}×`);
  console.log(`  lz4BlockSize, every block (${(sized / 2 ** 20).toFixed(1)} MiB out)  median ${median(size).toFixed(1)} ms`);
  const r = median(resume);
  console.log(`  lz4Resume, first block (${(decoded / 2 ** 20).toFixed(1)} MiB)       median ${r.toFixed(1)} ms = ${(decoded / 1e3 / r).toFixed(0)} MB/s cold`);
} finally {
  tmp.cleanup();
}
