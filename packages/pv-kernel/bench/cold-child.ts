// One cold measurement, in a fresh process started by lz4-cold.bench.ts: `xenkit check` analyses one kernel
// per process, so what counts is the first call, before any JIT warm-up.
import { readFileSync } from 'node:fs';
import { bzPayload } from '@xenkit/fixtures';
import { analyzeKernel } from '../src/index.js';
import { LZ4_BLOCK_MAX, lz4BlockSize, lz4LegacyBlocks, lz4Resume } from '../src/codecs/lz4.js';

const [mode, path] = process.argv.slice(2) as [string, string];
const file = readFileSync(path);
if (mode === 'analyze') {
  const t = performance.now();
  const a = await analyzeKernel(file);
  const ms = performance.now() - t;
  if (!a.verdict.pv) throw new Error('the Debian kernel must be PV-capable');
  console.log(JSON.stringify({ ms }));
} else {
  // The codec alone: size every block from its headers, then decode the first block in full.
  const { start, length } = bzPayload(file);
  const payload = file.subarray(start, start + length);
  const blocks = lz4LegacyBlocks(payload, path);
  let t = performance.now();
  let sized = 0;
  for (const b of blocks) if (!b.cut) sized += lz4BlockSize(payload, b.start, b.end, path);
  const sizeMs = performance.now() - t;
  const first = blocks[0] as (typeof blocks)[number];
  const out = new Uint8Array(LZ4_BLOCK_MAX);
  t = performance.now();
  const n = lz4Resume(payload, first.start, first.end, out, path, { ip: first.start, op: 0 }, Infinity);
  const resumeMs = performance.now() - t;
  console.log(JSON.stringify({ sizeMs, sized, resumeMs, decoded: n }));
}
