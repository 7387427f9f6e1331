// `npm run bench`: run every benchmark file (packages/*/bench/*.bench.ts, apps/*/bench/*.bench.ts) in
// turn with tsx, resolving workspace packages to their TypeScript source. Each prints its own table of
// measurements and ratios against the peer tool it measured in the same run.
// `npm run bench -- disk` runs only benchmarks whose path contains "disk".
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureInstalled, projectDirs, root, run } from './lib.mjs';

ensureInstalled();
const filter = process.argv.slice(2);
const files = [];
for (const dir of projectDirs()) {
  const bench = join(dir, 'bench');
  if (!existsSync(bench)) continue;
  for (const f of readdirSync(bench).sort()) if (f.endsWith('.bench.ts')) files.push(join(bench, f));
}
const selected = files.filter((f) => filter.length === 0 || filter.some((w) => f.includes(w)));
if (selected.length === 0) {
  console.log(files.length === 0 ? 'bench: no benchmarks yet' : `bench: nothing matches ${filter.join(' ')}`);
  process.exit(0);
}
let failures = 0;
for (const file of selected) {
  console.log(`\n=== ${relative(root, file)}`);
  const status = run(process.execPath, ['--conditions=@xenkit/source', '--import', 'tsx', file]);
  if (status !== 0) failures++;
}
process.exit(failures ? 1 : 0);
