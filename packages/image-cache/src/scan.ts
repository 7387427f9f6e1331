import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { silentLogger, type Logger } from '@xenkit/core';
import type { CacheConfig } from './config/options.js';
import { defaultHeaderReader, dirError, fileId, listInstanceDisks, novaBackingNames, type HeaderReader, type InstanceDisk } from './disks.js';
import { usageError } from './errors.js';
import { belongsToImage, cacheFileName, classifyName, novaGroup, type CacheFileClass, type NovaGroup, type NovaRules } from './naming.js';
import { novaLogFor, type NovaLogLine } from './nova-log.js';

/**
 * What nova's cache manager would do with a file on its next pass:
 * - `keep-in-use`: an instance (or a given image id) uses it; nova also refreshes its mtime;
 * - `remove`: unused and old enough, and remove_unused_base_images is true;
 * - `too-young`: unused but younger than the minimum age for its kind;
 * - `keep-removal-disabled`: unused and old enough, but remove_unused_base_images is false;
 * - `ignored`: a name nova's manager does not look at, so it is kept for ever.
 */
export type NovaAction = 'keep-in-use' | 'remove' | 'too-young' | 'keep-removal-disabled' | 'ignored';

export interface CacheEntry {
  name: string;
  path: string;
  class: CacheFileClass;
  novaGroup: NovaGroup;
  size: number;
  allocatedBytes: number;
  mtimeMs: number;
  ageSeconds: number;
  /** Used by an instance disk (directly, through a deeper backing layer, or by name) or a given image id. */
  inUse: boolean;
  /** Disk paths and `image:<id>` entries that use the file. */
  usedBy: string[];
  /** In use as nova sees it: the direct backing file's name, or a given image id. */
  novaInUse: boolean;
  /** The age nova requires before removing it, or null when nova never removes it. */
  minimumAgeSeconds: number | null;
  novaAction: NovaAction;
  /** nova would remove it although a disk still reads it through a deeper backing layer. */
  novaWouldBreak: boolean;
  /** Identity at scan time; a removal re-checks it so a replaced file is never removed. */
  dev: number;
  ino: number;
}

export interface ScanOptions {
  /** Glance image ids in use (nova's image_ref, kernel_id, ramdisk_id); each is SHA-1 hashed. */
  imageIds?: readonly string[];
  rules?: NovaRules;
  /** Clock for ages, in ms since the epoch (tests pin it). */
  now?: number;
  reader?: HeaderReader;
  logger?: Logger;
}

export interface CacheScan {
  cacheDir: string;
  instancesPath: string;
  rules: NovaRules;
  scannedAt: string;
  removeUnusedBaseImages: boolean;
  originalMinimumAgeSeconds: number;
  resizedMinimumAgeSeconds: number;
  imageIds: { id: string; fingerprint: string }[];
  entries: CacheEntry[];
  /** Cache entries that are not regular files; xenkit never follows or removes them. */
  skipped: { name: string; path: string; reason: string }[];
  disks: InstanceDisk[];
  /** Instance disks whose backing file is gone: those instances cannot start. */
  missingBackings: { disk: string; backing: string }[];
  novaLog: NovaLogLine[];
  summary: { files: number; inUse: number; novaRemoves: number; tooYoung: number; bytesNovaRemoves: number };
}

/**
 * Scan `_base` and the instance disks, and say what nova would do with every cached file. Read-only:
 * unlike nova it does not touch the mtime of files in use.
 */
export async function scanCache(config: CacheConfig, options: ScanOptions = {}): Promise<CacheScan> {
  const logger = options.logger ?? silentLogger;
  const rules = options.rules ?? 'base-swap-ephemeral';
  const now = options.now ?? Date.now();
  const imageIds = (options.imageIds ?? []).map((id) => {
    if (id.trim() === '') throw usageError('E_CACHE_IMAGE_ID', '--image-id needs a non-empty Glance image id');
    return { id, fingerprint: cacheFileName(id) };
  });

  const raw = await listCacheDir(config.cacheDir);
  const disks = await listInstanceDisks(config.instancesPath, config.cacheDir, options.reader ?? defaultHeaderReader);
  logger.debug({ cacheDir: config.cacheDir, files: raw.files.length, disks: disks.length }, 'image cache scanned');

  const novaNames = novaBackingNames(disks);
  const entries = raw.files.map((f): CacheEntry => {
    const usedBy = usersOf(f, disks, imageIds);
    const group = novaGroup(f.name, rules);
    const byDisk = group === 'swap' || group === 'ephemeral' ? novaNames.any : novaNames.root;
    const novaInUse = byDisk.has(f.name) || imageIds.some((i) => belongsToImage(f.name, i.fingerprint));
    const minimumAgeSeconds =
      group === 'ignored' ? null : group === 'resized' ? config.resizedMinimumAgeSeconds : config.originalMinimumAgeSeconds;
    const ageSeconds = (now - f.mtimeMs) / 1000;
    const novaAction: NovaAction =
      group === 'ignored'
        ? 'ignored'
        : novaInUse
          ? 'keep-in-use'
          : !config.removeUnusedBaseImages
            ? 'keep-removal-disabled'
            : ageSeconds < minimumAgeSeconds!
              ? 'too-young'
              : 'remove';
    return {
      ...f,
      class: classifyName(f.name),
      novaGroup: group,
      ageSeconds,
      inUse: usedBy.length > 0,
      usedBy,
      novaInUse,
      minimumAgeSeconds,
      novaAction,
      novaWouldBreak: novaAction === 'remove' && usedBy.length > 0,
    };
  });

  const missingBackings = disks.filter((d) => d.missingBacking !== null).map((d) => ({ disk: d.path, backing: d.missingBacking! }));
  const scan: CacheScan = {
    cacheDir: config.cacheDir,
    instancesPath: config.instancesPath,
    rules,
    scannedAt: new Date(now).toISOString(),
    removeUnusedBaseImages: config.removeUnusedBaseImages,
    originalMinimumAgeSeconds: config.originalMinimumAgeSeconds,
    resizedMinimumAgeSeconds: config.resizedMinimumAgeSeconds,
    imageIds,
    entries,
    skipped: raw.skipped,
    disks,
    missingBackings,
    novaLog: [],
    summary: {
      files: entries.length,
      inUse: entries.filter((e) => e.inUse).length,
      novaRemoves: entries.filter((e) => e.novaAction === 'remove').length,
      tooYoung: entries.filter((e) => e.novaAction === 'too-young').length,
      bytesNovaRemoves: entries.filter((e) => e.novaAction === 'remove').reduce((n, e) => n + e.allocatedBytes, 0),
    },
  };
  scan.novaLog = novaLogFor(scan);
  return scan;
}

/**
 * Who uses a cache file: disks whose chain reaches it (by path or by device and inode, so a symlinked
 * instances_path or a hard link still matches), disks whose direct backing file has its name (nova's
 * rule), and image ids.
 */
export function usersOf(
  file: { path: string; name: string; dev: number; ino: number },
  disks: readonly InstanceDisk[],
  imageIds: readonly { id: string; fingerprint: string }[],
): string[] {
  const id = fileId(file);
  const users: string[] = [];
  for (const d of disks) {
    const byName = d.backingFile !== null && basename(d.backingFile) === file.name;
    if (byName || d.chain.includes(file.path) || d.chainIds.includes(id)) users.push(d.path);
  }
  for (const i of imageIds) if (belongsToImage(file.name, i.fingerprint)) users.push(`image:${i.id}`);
  return users;
}

interface RawFile {
  name: string;
  path: string;
  size: number;
  allocatedBytes: number;
  mtimeMs: number;
  dev: number;
  ino: number;
}

async function listCacheDir(cacheDir: string): Promise<{ files: RawFile[]; skipped: CacheScan['skipped'] }> {
  let names: string[];
  try {
    names = (await readdir(cacheDir)).sort();
  } catch (error) {
    // nova logs "Skipping verification, no base directory at %s" and does nothing; so do we, loudly.
    throw dirError(cacheDir, 'image cache directory', error);
  }
  const files: RawFile[] = [];
  const skipped: CacheScan['skipped'] = [];
  for (const name of names) {
    const path = join(cacheDir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink()) skipped.push({ name, path, reason: 'symlink: never followed or removed' });
    else if (!st.isFile()) skipped.push({ name, path, reason: st.isDirectory() ? 'directory' : 'not a regular file' });
    else files.push({ name, path, size: st.size, allocatedBytes: st.blocks * 512, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino });
  }
  return { files, skipped };
}
