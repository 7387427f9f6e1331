import { join } from 'node:path';
import { ensureDebianPackage, exec, requireTools } from '@xenkit/fixtures';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'nova_imagecache.py');
/**
 * The site-packages directory holding nova's real source, from Debian's `python3-nova` package
 * (downloaded and unpacked once per machine by `npm run fixtures`; nothing is installed).
 */
export function novaSite(): string {
  requireTools(PYTHON, 'qemu-img');
  return join(ensureDebianPackage('python3-nova').root, 'usr', 'lib', 'python3', 'dist-packages');
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
