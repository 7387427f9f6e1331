// Resolve the image-cache options from a large nova.conf (about 6000 lines, every group nova has, mostly
// comments as in nova.conf.sample): xenkit's loadCacheConfig against the real oslo.config doing the same
// resolution in a python process (interpreter start-up included, as `nova-manage` or a cron job pays it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { loadCacheConfig } from '../src/index.js';
import { osloResolve } from '../src/test-helpers/oslo.js';

const RUNS = 9;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

requireTools('/usr/bin/python3');
const tmp = tempDir('xenkit-bench-conf-');
try {
  const lines: string[] = [];
  for (let g = 0; g < 60; g++) {
    lines.push(g === 0 ? '[DEFAULT]' : `[group_${g}]`);
    for (let o = 0; o < 25; o++) {
      lines.push('', `# Help text for option_${o}, wrapped the way`, '# nova.conf.sample wraps it.', `#option_${o} = default_${o}`);
    }
  }
  lines.push('[DEFAULT]', 'instances_path = /var/lib/nova/instances', '[image_cache]', 'remove_unused_original_minimum_age_seconds = 7200');
  const file = join(tmp.path, 'nova.conf');
  writeFileSync(file, `${lines.join('\n')}\n`);

  const ours: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await loadCacheConfig({ files: [file] });
    ours.push(performance.now() - t0);
  }
  const peer: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const t0 = performance.now();
    osloResolve([file]);
    peer.push(performance.now() - t0);
  }
  const o = median(ours);
  const p = median(peer);
  console.log(`nova.conf: ${lines.length} lines`);
  console.log(`xenkit loadCacheConfig          median ${o.toFixed(2)} ms`);
  console.log(`oslo.config (python3, same opts) median ${p.toFixed(1)} ms`);
  console.log(`ratio peer/xenkit: ${(p / o).toFixed(1)}x`);
} finally {
  tmp.cleanup();
}
