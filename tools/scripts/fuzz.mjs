// `npm run fuzz`: long fuzz runs. Each package's fuzz/*.fuzz.ts takes FUZZ_ITERATIONS / FUZZ_SECONDS;
// the test suites run the same harnesses briefly.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureInstalled, projectDirs, root, run } from './lib.mjs';

ensureInstalled();
const filter = process.argv.slice(2);
const env = { ...process.env, FUZZ_SECONDS: process.env.FUZZ_SECONDS ?? '120' };
let failures = 0;
let count = 0;
for (const dir of projectDirs()) {
  const fuzz = join(dir, 'fuzz');
  if (!existsSync(fuzz)) continue;
  for (const f of readdirSync(fuzz).sort()) {
    const file = join(fuzz, f);
    if (!f.endsWith('.fuzz.ts') || (filter.length && !filter.some((w) => file.includes(w)))) continue;
    count++;
    console.log(`\n=== ${relative(root, file)} (${env.FUZZ_SECONDS} s)`);
    if (run(process.execPath, ['--conditions=@xenkit/source', '--import', 'tsx', file], { env }) !== 0) failures++;
  }
}
if (count === 0) console.log('fuzz: no fuzz harnesses match');
process.exit(failures ? 1 : 0);
