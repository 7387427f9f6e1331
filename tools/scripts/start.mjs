// `npm start -- ARGS`: install on first run, rebuild when sources are newer than the build, then run
// the xenkit CLI in this process (no second node start-up on every call).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureInstalled, newestSource, projectDirs, root, run } from './lib.mjs';

ensureInstalled();
const main = join(root, 'apps', 'cli', 'dist', 'main.js');
// tsc --build leaves outputs untouched when nothing changed, so a stamp records when we last built.
const stamp = join(root, 'apps', 'cli', 'dist', '.build-stamp');
const built = existsSync(main) && existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (newestSource([...projectDirs(), join(root, 'tsconfig.base.json')]) > built) {
  process.stderr.write('xenkit: building…\n');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const status = run(process.execPath, [tsc, '--build', 'apps/cli/tsconfig.lib.json'], { stdio: ['ignore', 2, 2] });
  if (status !== 0) process.exit(status);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
process.argv = [process.argv[0], main, ...process.argv.slice(2)];
await import(pathToFileURL(main).href);
