// `npm start -- ARGS`: install on first run, rebuild the production bundle when sources are newer than
// it, then run the xenkit CLI in this process (no second node start-up on every call).
// The bundle is built by esbuild straight from TypeScript source; type errors are `npm run typecheck`'s job.
import { existsSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureInstalled, newestSource, projectDirs, root } from './lib.mjs';

ensureInstalled();
const build = join(root, 'apps', 'cli', 'build');
const exe = join(root, 'apps', 'cli', 'dist', 'bundle', 'xenkit.cjs');
// Stamped with the time the last build started, so a source saved during a build still counts as newer.
const stamp = join(root, 'apps', 'cli', 'dist', 'bundle', '.build-stamp');
const built = existsSync(exe) && existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const inputs = [...projectDirs(), join(root, 'tsconfig.base.json'), join(root, 'package-lock.json'), join(build, 'bundle.mjs'), join(build, 'loader.cjs')];
if (newestSource(inputs) > built) {
  process.stderr.write('xenkit: building…\n');
  const started = new Date();
  const { bundle } = await import(pathToFileURL(join(build, 'bundle.mjs')).href);
  try {
    await bundle();
  } catch (e) {
    rmSync(stamp, { force: true });
    process.stderr.write(`xenkit: build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}
process.argv = [process.argv[0], exe, ...process.argv.slice(2)];
createRequire(import.meta.url)(exe);
