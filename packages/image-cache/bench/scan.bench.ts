// Scan an instances_path of 100 instances (qcow2 overlays on 20 raw bases, plus swap files) and a _base of
// 60 files: xenkit's scanCache (whole plan, nova log included) against nova's own way of learning the
// same backing files, one `qemu-img info --output=json -U` per instance disk, in one run.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { cacheFileName, loadCacheConfig, scanCache } from '../src/index.js';

const RUNS = 7;
const INSTANCES = 100;
const BASES = 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

requireTools('qemu-img');
const tmp = tempDir('xenkit-bench-cache-');
try {
  const instances = join(tmp.path, 'instances');
  const base = join(instances, '_base');
  mkdirSync(base, { recursive: true });
  const bases = Array.from({ length: BASES }, (_, i) => join(base, cacheFileName(`image-${i}`)));
  for (const b of bases) exec('qemu-img', ['create', '-q', '-f', 'raw', b, '64M']);
  for (let i = 0; i < BASES; i++) exec('qemu-img', ['create', '-q', '-f', 'raw', `${bases[i]}_${(i + 1) * 1073741824}`, '64M']);
  for (let i = 0; i < BASES; i++) exec('qemu-img', ['create', '-q', '-f', 'raw', join(base, `swap_${(i + 1) * 256}`), '1M']);
  const disks: string[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const dir = join(instances, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    mkdirSync(dir);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', bases[i % BASES]!, '-F', 'raw', join(dir, 'disk')]);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(base, `swap_${((i % BASES) + 1) * 256}`), '-F', 'raw', join(dir, 'disk.swap')]);
    disks.push(join(dir, 'disk'), join(dir, 'disk.swap'));
  }
  const config = await loadCacheConfig({ overrides: [`instances_path=${instances}`] });

  const ours: number[] = [];
  let summary = '';
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const scan = await scanCache(config);
    ours.push(performance.now() - t0);
    summary = `${scan.entries.length} cache files, ${scan.disks.length} disks, ${scan.summary.inUse} in use, ${scan.novaLog.length} nova log lines`;
  }
  const peer: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const t0 = performance.now();
    readdirSync(base);
    for (const d of disks) JSON.parse(exec('qemu-img', ['info', '--output=json', '-U', d]).stdout);
    peer.push(performance.now() - t0);
  }
  const o = median(ours);
  const p = median(peer);
  console.log(`tree: ${summary}`);
  console.log(`xenkit scanCache (full plan)               median ${o.toFixed(1)} ms`);
  console.log(`${disks.length}x qemu-img info (nova's backing lookup)   median ${p.toFixed(1)} ms`);
  console.log(`ratio peer/xenkit: ${(p / o).toFixed(1)}x`);
} finally {
  tmp.cleanup();
}
