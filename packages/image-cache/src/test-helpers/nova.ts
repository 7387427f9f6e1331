import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools } from '@xenkit/fixtures';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'nova_imagecache.py');
/** Where Debian's python3-nova is unpacked once per machine (no install: nova's files only). */
const CACHE = join(import.meta.dirname, '..', '..', '..', '..', 'node_modules', '.cache', 'xenkit-python3-nova');

/**
 * The site-packages directory holding nova's real source, from Debian's `python3-nova` package:
 * fetched with `apt-get download` and unpacked with `dpkg-deb -x` the first time, then reused.
 */
export function novaSite(): string {
  requireTools('apt-get', 'dpkg-deb', PYTHON, 'qemu-img');
  const site = join(CACHE, 'root', 'usr', 'lib', 'python3', 'dist-packages');
  if (existsSync(join(site, 'nova', 'virt', 'libvirt', 'imagecache.py'))) return site;
  const work = `${CACHE}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // A fresh machine may have no package lists yet: fetch them once and try again.
  if (exec('apt-get', ['download', 'python3-nova'], { cwd: work, allowFailure: true }).status !== 0) {
    exec('apt-get', ['update', '-qq']);
    exec('apt-get', ['download', 'python3-nova'], { cwd: work });
  }
  const deb = readdirSync(work).find((n) => n.startsWith('python3-nova_') && n.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download python3-nova left no .deb in ${work}`);
  exec('dpkg-deb', ['-x', join(work, deb), join(work, 'root')]);
  rmSync(join(work, deb));
  rmSync(CACHE, { recursive: true, force: true });
  renameSync(work, CACHE);
  return site;
}

export interface NovaInstances {
  instance_names: string[];
  used_images?: string[];
  used_swap_images?: string[];
  used_ephemeral_images?: string[];
}

export interface NovaRun {
  log: { level: string; message: string }[];
  removed: string[];
}

/** Runs nova's ImageCacheManager.update() over `instancesPath`; it really removes what it decides to. */
export function runNovaImageCache(settings: Record<string, string | number | boolean>, instances: NovaInstances): NovaRun {
  const out = exec(PYTHON, [SCRIPT, novaSite(), JSON.stringify(settings), JSON.stringify(instances)]).stdout;
  return JSON.parse(out) as NovaRun;
}
