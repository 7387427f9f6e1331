// Builds the xenkit CLI as it runs in production: dist/bundle/xenkit-main.cjs (the CLI and every
// workspace package and npm dependency it reaches, straight from TypeScript source) and
// dist/bundle/xenkit.cjs (loader.cjs, which runs it with a V8 code cache). `bundle()` returns the
// executable's path; `node apps/cli/build/bundle.mjs [OUTDIR]` prints it.
//
// One CommonJS file, not ESM chunks: Node 20 can only reuse compiled code for a script (vm.Script
// cachedData), and a lazily imported command or codec costs nothing in one file until it runs —
// esbuild wraps each module in an init function. (ESM with splitting also has esbuild issue #3245:
// `(await import('yaml')).parse` of a CommonJS package in its own chunk is undefined.)
//
// Left outside: what the sources load with their own createRequire (ext2fs and its embedded WASM,
// seek-bzip, pino, pino-pretty), and undici (below). They resolve from the bundle's directory
// through node_modules, as they do from dist/.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// undici (only xen-api's HTTP client, for the xapi commands) is 44% of the bundle; left out, every
// other command's first run compiles 0.9 MB instead of 1.6 MB, and xapi loads it as dist/ does.
const EXTERNAL = ['undici'];
const here = dirname(fileURLToPath(import.meta.url));
const app = join(here, '..');
export const defaultOutdir = join(app, 'dist', 'bundle');

/** The manifest version, compiled in: version.ts reads ../package.json, which is not beside the bundle. */
const versionPlugin = {
  name: 'xenkit-version',
  setup(b) {
    const version = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).version;
    b.onLoad({ filter: /[\\/]apps[\\/]cli[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const VERSION: string = ${JSON.stringify(version)};\n`,
      loader: 'ts',
    }));
  },
};

/**
 * commander requires node:child_process at load for executable subcommands, which xenkit never uses;
 * child_process drags in net, dgram and their internals (~3 ms at every start). Give commander a
 * stand-in that loads the real module on first use.
 */
const lazyChildProcessPlugin = {
  name: 'xenkit-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'xenkit-lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'xenkit-lazy' }, () => ({
      contents: 'let real;\nconst load = () => (real ??= require("node:child_process"));\nmodule.exports = { spawn: (...args) => load().spawn(...args) };\n',
      loader: 'js',
    }));
  },
};

/**
 * Build into `outdir` (default apps/cli/dist/bundle) and return the path of the executable to run
 * with `node`. The outdir must sit inside the workspace so the external packages resolve.
 */
export async function bundle({ outdir = defaultOutdir } = {}) {
  const result = await build({
    entryPoints: [join(app, 'src', 'main.ts')],
    outfile: join(outdir, 'xenkit-main.cjs'),
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['@xenkit/source'],
    // Identifiers stay (stack traces of internal errors remain readable); whitespace and syntax
    // minification shrink what V8 must scan on a cold start.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: false,
    legalComments: 'none',
    logLevel: 'warning',
    // The sources are ESM; in a CommonJS bundle import.meta is spelled with __filename/__dirname.
    define: {
      'import.meta.url': '__xkImportMetaUrl',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
    },
    // "use strict" first: the sources are ES modules (strict), and esbuild's own directive would
    // come after this banner, where it is no directive at all.
    banner: { js: '"use strict";var __xkImportMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
    external: EXTERNAL,
    plugins: [versionPlugin, lazyChildProcessPlugin],
  });
  const [out] = result.outputFiles;
  // main.ts's #! line is the loader's job; inside the function wrapper it would be a syntax error.
  const code = out.text.replace(/^#![^\n]*\n/, '');
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  mkdirSync(outdir, { recursive: true });
  const main = join(outdir, 'xenkit-main.cjs');
  // Written under a temporary name and renamed, so a running xenkit never reads half a bundle.
  writeFileSync(`${main}.tmp`, `// xenkit-bundle ${id}\n${code}`);
  renameSync(`${main}.tmp`, main);
  const exe = join(outdir, 'xenkit.cjs');
  copyFileSync(join(here, 'loader.cjs'), `${exe}.tmp`);
  chmodSync(`${exe}.tmp`, 0o755);
  renameSync(`${exe}.tmp`, exe);
  return exe;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await bundle(process.argv[2] ? { outdir: process.argv[2] } : {}));
}
