// Fuzz analyzeKernel with mutated real kernels: ELF (64/32-bit, notes, __xen_guest), gzip-wrapped, and
// bzImages with every payload codec, all built by the real tools. Every outcome must be a verdict or a coded
// E_KERNEL_* error, within a time bound; anything else (a RangeError, a hang) is a failure.
// `npm run fuzz -- pv-kernel` runs it for FUZZ_SECONDS; the test suite runs a short seeded pass.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isXenkitError } from '@xenkit/core';
import { buildElfKernel, centos5XenGuest, compressWith, makeBzImage, tempDir } from '@xenkit/fixtures';
import { analyzeKernel } from '../src/index.js';
import { rng as seededRng } from '@xenkit/fixtures';

export interface FuzzOptions {
  seconds?: number;
  iterations?: number;
  seed?: number;
  /** Per-input time bound in ms. */
  budgetMs?: number;
}

export interface FuzzReport {
  runs: number;
  verdicts: number;
  codes: Record<string, number>;
  failures: string[];
}

/** The shared seeded generator (@xenkit/fixtures), as a bare () => [0,1) function. */
function rng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.next();
}

/** Seed corpus: small kernels in every container and codec. */
export function buildCorpus(dir: string): Array<{ name: string; bytes: Buffer }> {
  const notes = [
    { type: 6, str: 'linux' }, { type: 7, str: '2.6' }, { type: 5, str: 'xen-3.0' }, { type: 3, num: 0xffffffff80000000n },
    { type: 4, num: 0xffffffff80000000n }, { type: 1, num: 0xffffffff80200000n }, { type: 10, str: '!writable_page_tables' },
    { type: 13, raw: [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0] }, { type: 18, num: 0x1000000n, size: 4 as const }, { type: 8, str: 'generic' },
  ];
  const k64 = buildElfKernel(dir, 'k64', { bits: 64, notes, xenGuest: centos5XenGuest(64), banner: 'Linux version 2.6.18-fuzz', padding: 8192 });
  const k32 = buildElfKernel(dir, 'k32', { bits: 32, xenGuest: centos5XenGuest(32), padding: 4096 });
  const corpus = [
    { name: 'elf64', bytes: readFileSync(k64) },
    { name: 'elf32', bytes: readFileSync(k32) },
    { name: 'gzip', bytes: compressWith('gzip', k32, join(dir, 'k32.gz'), false) },
  ];
  for (const codec of ['gzip', 'bzip2', 'lzma', 'xz', 'lzo', 'lz4', 'zstd']) {
    const payload = compressWith(codec, k64, join(dir, `k64.${codec}`));
    corpus.push({ name: `bzImage-${codec}`, bytes: makeBzImage({ protocol: 0x20f, kernelVersion: '2.6.32-fuzz', payload }) });
  }
  return corpus;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

function mutate(input: Buffer, r: () => number): Buffer {
  const b = Buffer.from(input);
  const pick = (n: number): number => Math.floor(r() * n);
  const kind = pick(5);
  if (kind === 0) {
    for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] = pick(256);
  } else if (kind === 1 && b.length > 4) {
    // Header fields live early: aim there most of the time.
    const at = r() < 0.7 ? pick(Math.min(b.length - 4, 0x260)) : pick(b.length - 4);
    b.writeUInt32LE(INTERESTING[pick(INTERESTING.length)] as number, at);
  } else if (kind === 2) {
    return b.subarray(0, pick(b.length));
  } else if (kind === 3 && b.length > 2) {
    const at = pick(b.length - 2);
    b.writeUInt16LE((INTERESTING[pick(INTERESTING.length)] as number) & 0xffff, at);
  } else {
    const from = pick(b.length);
    const len = pick(Math.min(4096, b.length - from));
    b.copy(b, pick(b.length), from, from + len);
  }
  return b;
}

export async function fuzzKernels(options: FuzzOptions = {}): Promise<FuzzReport> {
  const seconds = options.seconds ?? 10;
  const iterations = options.iterations ?? Infinity;
  const budget = options.budgetMs ?? 5000;
  const r = rng(options.seed ?? 1);
  const tmp = tempDir('xenkit-pvk-fuzz-');
  const report: FuzzReport = { runs: 0, verdicts: 0, codes: {}, failures: [] };
  try {
    const corpus = buildCorpus(tmp.path);
    const stop = Date.now() + seconds * 1000;
    while (report.runs < iterations && Date.now() < stop) {
      const base = corpus[Math.floor(r() * corpus.length)] as { name: string; bytes: Buffer };
      let input = base.bytes;
      for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) input = mutate(input, r);
      const started = Date.now();
      try {
        await analyzeKernel(input, { name: `fuzz-${report.runs}`, maxOutputBytes: 32 << 20, exhaustive: r() < 0.5 });
        report.verdicts++;
      } catch (error) {
        if (isXenkitError(error) && error.code.startsWith('E_KERNEL_')) {
          report.codes[error.code] = (report.codes[error.code] ?? 0) + 1;
        } else {
          // Name the first frame in our code, so a failure points at the line to fix.
          const frame = error instanceof Error ? (error.stack ?? '').split('\n').find((l) => l.includes('/pv-kernel/src/')) : '';
          const what = error instanceof Error ? `${error.name}: ${error.message} ${frame?.trim() ?? ''}` : String(error);
          report.failures.push(`run ${report.runs} (${base.name}): ${what}`);
        }
      }
      const took = Date.now() - started;
      if (took > budget) report.failures.push(`run ${report.runs} (${base.name}): took ${took} ms`);
      report.runs++;
    }
  } finally {
    tmp.cleanup();
  }
  return report;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const report = await fuzzKernels({ seconds, seed });
  console.log(`pv-kernel fuzz: seed ${seed}, ${report.runs} inputs, ${report.verdicts} verdicts, errors ${JSON.stringify(report.codes)}`);
  for (const f of report.failures) console.log(`FAIL ${f}`);
  process.exit(report.failures.length > 0 ? 1 : 0);
}
