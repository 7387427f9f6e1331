import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { cacheFileName } from '../naming.js';

export const HOUR = 3600;
export const DAY = 86400;

/** One cached file the tree contains: its name, age and who uses it. */
export interface TreeFile {
  name: string;
  ageSeconds: number;
}

export interface NovaTree {
  root: string;
  instancesPath: string;
  cacheDir: string;
  /** A nova.conf pointing at this tree. */
  conf: string;
  now: number;
  /** Cache file names by role. */
  names: Record<string, string>;
  /** Instance disk paths by role. */
  disks: Record<string, string>;
  cleanup: () => void;
}

export const sha = (id: string) => cacheFileName(id);

/**
 * A realistic `instances_path`: raw and qcow2 bases, a resized copy, a legacy `_sm`, swap and
 * ephemeral backing files, an unknown file, and instances whose disks are real qcow2 overlays made by
 * qemu-img. Every mtime is set relative to `now`.
 */
export function buildNovaTree(now = Date.now()): NovaTree {
  requireTools('qemu-img');
  const tmp = tempDir('xenkit-nova-');
  const instancesPath = join(tmp.path, 'instances');
  const cacheDir = join(instancesPath, '_base');
  mkdirSync(cacheDir, { recursive: true });

  const names = {
    rawUsed: sha('img-raw-used'),
    qcowUsed: sha('img-qcow-used'),
    oldUnused: sha('img-old-unused'),
    youngUnused: sha('img-young-unused'),
    resizedUnused: `${sha('img-old-unused')}_21474836480`,
    resizedYoung: `${sha('img-young-unused')}_10737418240`,
    resizedUsed: `${sha('img-resized-used')}_10737418240`,
    legacySmall: `${sha('img-legacy')}_sm`,
    chainTop: `${sha('img-chain')}_20`,
    chainBase: sha('img-chain'),
    shortResized: `${sha('img-short')}_5`,
    swapUsed: 'swap_512',
    swapUnused: 'swap_1024',
    ephUsed: 'ephemeral_20_40d1321',
    ephUnused: 'ephemeral_10_40d1321',
    unknown: 'README.txt',
  };
  const base = (n: string) => join(cacheDir, n);
  const raw = (n: string) => exec('qemu-img', ['create', '-q', '-f', 'raw', base(n), '1M']);
  for (const n of [
    names.rawUsed,
    names.oldUnused,
    names.youngUnused,
    names.resizedUnused,
    names.resizedYoung,
    names.resizedUsed,
    names.legacySmall,
    names.chainBase,
    names.shortResized,
    names.swapUsed,
    names.swapUnused,
    names.ephUsed,
    names.ephUnused,
  ]) {
    raw(n);
  }
  exec('qemu-img', ['create', '-q', '-f', 'qcow2', base(names.qcowUsed), '2M']);
  // A resized base that is itself a qcow2 overlay: nova sees only the top, so it would drop the bottom.
  exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base(names.chainBase), '-F', 'raw', base(names.chainTop)]);
  writeFileSync(base(names.unknown), 'not an image\n');

  const disks: Record<string, string> = {};
  const overlay = (role: string, instance: string, disk: string, backing: string, fmt: 'raw' | 'qcow2') => {
    const dir = join(instancesPath, instance);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, disk);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', fmt, path]);
    disks[role] = path;
  };
  overlay('root1', 'inst-1', 'disk', base(names.rawUsed), 'raw');
  overlay('swap1', 'inst-1', 'disk.swap', base(names.swapUsed), 'raw');
  overlay('eph1', 'inst-1', 'disk.local', base(names.ephUsed), 'raw');
  writeFileSync(join(instancesPath, 'inst-1', 'disk.info'), JSON.stringify({ [disks.root1!]: 'qcow2' }));
  overlay('root2', 'inst-2', 'disk', base(names.qcowUsed), 'qcow2');
  // Relative backing name, as `qemu-img create -b ../_base/x` writes it.
  overlay('root3', 'inst-3', 'disk', `../_base/${names.resizedUsed}`, 'raw');
  overlay('root4', 'inst-4', 'disk', base(names.chainTop), 'qcow2');
  mkdirSync(join(instancesPath, 'locks'));

  const ages: Record<string, number> = {
    rawUsed: 3 * DAY,
    qcowUsed: 3 * DAY,
    oldUnused: 2 * DAY,
    youngUnused: HOUR,
    resizedUnused: 2 * HOUR,
    resizedYoung: 10 * 60,
    resizedUsed: 2 * DAY,
    legacySmall: 30 * DAY,
    chainTop: 3 * DAY,
    chainBase: 3 * DAY,
    shortResized: 30 * DAY,
    swapUsed: 3 * DAY,
    swapUnused: 2 * DAY,
    ephUsed: 3 * DAY,
    ephUnused: 2 * DAY,
    unknown: 30 * DAY,
  };
  for (const [role, age] of Object.entries(ages)) setAge(base(names[role as keyof typeof names]), now, age);

  const conf = join(tmp.path, 'nova.conf');
  writeFileSync(conf, `[DEFAULT]\ninstances_path = ${instancesPath}\n[image_cache]\nremove_unused_base_images = true\n`);
  return { root: tmp.path, instancesPath, cacheDir, conf, now, names, disks, cleanup: tmp.cleanup };
}

export function setAge(path: string, now: number, ageSeconds: number): void {
  const t = (now - ageSeconds * 1000) / 1000;
  utimesSync(path, t, t);
}
