#!/usr/bin/env node
'use strict';
// The `xenkit` executable. It runs the one-file bundle beside it (xenkit-main.cjs, built by
// bundle.mjs) the way Node's own CommonJS loader would, except that V8 is handed the code it compiled
// on an earlier run of the same command: start-up then skips parsing and compiling most of the CLI.
// Node 20 has no module.enableCompileCache(), hence vm.Script with cachedData.
//
// The cache lives in $XDG_CACHE_HOME/xenkit/v8 (~/.cache/xenkit/v8), one file per command word, named
// after this checkout, the bundle's content hash, size and mtime, and the Node version and
// architecture; V8 itself rejects data from another V8 or other flags, and a rejected or missing file
// is rewritten (to a temporary name, then renamed) when the run ends. Any cache problem only costs
// speed: the bundle still runs. XENKIT_CODE_CACHE=0 turns the cache off.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const { createRequire, wrap } = Module;

const MAIN = path.join(__dirname, 'xenkit-main.cjs');
const SUFFIX = '.v8';
const STALE_MS = 30 * 24 * 3600 * 1000;

function cacheDir() {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'xenkit', 'v8');
  const home = process.env.HOME || require('node:os').homedir();
  return home ? path.join(home, '.cache', 'xenkit', 'v8') : undefined;
}

// Code compiled for `check` is of little use to `xapi` and the reverse, and V8 cannot merge caches,
// so each command word keeps its own: the first argument that is neither an option nor the value of
// the one global option that takes a value.
function slot(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--log-level') i++;
    else if (!a.startsWith('-')) return /^[a-z][a-z0-9-]{0,23}$/.test(a) ? a : 'other';
  }
  return 'none';
}

// A short name for this checkout's directory (node:crypto would cost a module load at every start).
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function cacheFor(source, stat) {
  if (process.env.XENKIT_CODE_CACHE === '0') return undefined;
  const dir = cacheDir();
  const id = /^\/\/ xenkit-bundle ([0-9a-f]+)\n/.exec(source);
  if (!dir || !id) return undefined;
  // Several checkouts may share one cache directory: each prunes only its own stale files.
  const where = fnv1a(__dirname);
  const key = `${where}-${id[1]}-${stat.size}-${Math.trunc(stat.mtimeMs)}-${process.version}-${process.arch}`;
  return { dir, where, key, file: path.join(dir, `${slot(process.argv.slice(2))}-${key}${SUFFIX}`) };
}

// V8 runs cached code without re-checking it against the source, so only data that nobody but this
// user can have written is used: directory and file owned by us and not writable by group or others.
function mine(st) {
  return (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
}

function readCache(cache) {
  let fd;
  try {
    if (!mine(fs.statSync(cache.dir))) return undefined;
    fd = fs.openSync(cache.file, 'r');
    return mine(fs.fstatSync(fd)) ? fs.readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeCache(cache, script) {
  const tmp = `${cache.file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    if (!mine(fs.statSync(cache.dir))) return;
    const data = script.createCachedData();
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, cache.file);
    prune(cache);
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing more to do: the cache is an optimisation.
    }
  }
}

// Files of this checkout's earlier builds or Node versions are dead weight once a new one exists;
// other checkouts' files go once unused for a month (a cache is only rewritten when it goes stale).
function prune(cache) {
  const now = Date.now();
  for (const name of fs.readdirSync(cache.dir)) {
    if (!name.endsWith(SUFFIX) || name.includes(cache.key)) continue;
    const file = path.join(cache.dir, name);
    if (name.includes(`-${cache.where}-`) || now - fs.statSync(file).mtimeMs > STALE_MS) fs.rmSync(file, { force: true });
  }
}

// Libraries the bundle loads from node_modules with their own createRequire (@xenkit/disk's ext2fs: 374 KB
// of Emscripten glue) can ask for the same treatment through this hook: the file is compiled with its own
// cache data and placed in require.cache, which Node documents as writable, so their require() finds it.
function preload(filename, slotCache) {
  if (require.cache[filename]) return;
  const fileStat = fs.statSync(filename);
  const text = fs.readFileSync(filename, 'utf8');
  // Same key as the bundle's file (so pruning keeps both), a name of its own.
  const own = slotCache && {
    ...slotCache,
    file: path.join(slotCache.dir, `${path.basename(slotCache.file, SUFFIX)}-${fnv1a(filename)}-${fileStat.size}-${Math.trunc(fileStat.mtimeMs)}${SUFFIX}`),
  };
  const data = own && readCache(own);
  const compiled = new vm.Script(wrap(text), { filename, cachedData: data });
  if (own && (data === undefined || compiled.cachedDataRejected)) process.once('exit', (code) => code !== 2 && writeCache(own, compiled));
  const mod = new Module(filename, null);
  mod.filename = filename;
  require.cache[filename] = mod;
  try {
    compiled.runInThisContext().call(mod.exports, mod.exports, createRequire(filename), mod, filename, path.dirname(filename));
  } catch (e) {
    delete require.cache[filename];
    throw e;
  }
  mod.loaded = true;
}

const fd = fs.openSync(MAIN, 'r');
const stat = fs.fstatSync(fd);
const source = fs.readFileSync(fd, 'utf8');
fs.closeSync(fd);
const cache = cacheFor(source, stat);
const cachedData = cache && readCache(cache);
const script = new vm.Script(wrap(source), {
  filename: MAIN,
  cachedData,
  importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
// Written at exit, so the cache holds the functions this command actually ran, not just the top level;
// not after a usage or input error (exit 2), so a mistyped command word leaves no file behind.
if (cache && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', (code) => code !== 2 && writeCache(cache, script));
}
globalThis[Symbol.for('xenkit.preload')] = (filename) => preload(filename, cache);
const bundleModule = { exports: {}, filename: MAIN, id: MAIN, loaded: false };
script.runInThisContext().call(bundleModule.exports, bundleModule.exports, createRequire(MAIN), bundleModule, MAIN, __dirname);
bundleModule.loaded = true;
