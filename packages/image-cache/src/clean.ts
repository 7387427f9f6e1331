import { lstat, unlink } from 'node:fs/promises';
import { isXenkitError, silentLogger, type XenkitError } from '@xenkit/core';
import type { CacheConfig } from './config/options.js';
import { defaultHeaderReader, listInstanceDisks } from './disks.js';
import { errnoOf, operationError } from './errors.js';
import type { CacheFileClass } from './naming.js';
import { scanCache, usersOf, type CacheEntry, type CacheScan, type ScanOptions } from './scan.js';

export interface CleanOptions extends ScanOptions {
  /** Really remove. Without it the run is a dry run that reports what would be removed. */
  yes?: boolean;
}

/**
 * - `removed` / `would-remove`: removed now, or would be without --dry-run;
 * - `kept`: not removed, `reason` says why;
 * - `failed`: the removal itself failed (`error` holds the code).
 */
export type CleanAction = 'removed' | 'would-remove' | 'kept' | 'failed';

export interface CleanItem {
  name: string;
  path: string;
  class: CacheFileClass;
  action: CleanAction;
  reason: string;
  allocatedBytes: number;
  error?: { code: string; message: string };
}

export interface CleanResult {
  dryRun: boolean;
  cacheDir: string;
  removeUnusedBaseImages: boolean;
  items: CleanItem[];
  removed: string[];
  bytesFreed: number;
  /** Set when a re-check could not be completed; nothing after that point was removed. */
  aborted: { code: string; message: string } | null;
  scan: CacheScan;
}

/** Why an entry must be kept, or null when nova's rules and xenkit's safety checks both allow removal. */
export function keepReason(e: CacheEntry, scan: CacheScan): string | null {
  if (e.inUse) return `in use by ${e.usedBy.join(', ')}`;
  switch (e.novaAction) {
    case 'ignored':
      return "nova's cache manager does not manage this name";
    case 'keep-removal-disabled':
      return 'remove_unused_base_images is false';
    case 'too-young':
      return `too young: ${Math.floor(e.ageSeconds)} s old, ${e.novaGroup} files need ${e.minimumAgeSeconds} s`;
    case 'keep-in-use':
      return 'in use';
    case 'remove':
      return scan.removeUnusedBaseImages ? null : 'remove_unused_base_images is false';
  }
}

/** The plan for a scan without touching anything: `would-remove` or `kept` with the reason, per file. */
export function planClean(scan: CacheScan): CleanItem[] {
  return scan.entries.map((e) => {
    const base = { name: e.name, path: e.path, class: e.class, allocatedBytes: e.allocatedBytes };
    const reason = keepReason(e, scan);
    return reason === null ? { ...base, action: 'would-remove', reason: reasonToRemove(e) } : { ...base, action: 'kept', reason };
  });
}

/** Scan, then remove what nova would remove and nothing in use. */
export async function cleanCache(config: CacheConfig, options: CleanOptions = {}): Promise<CleanResult> {
  const scan = await scanCache(config, options);
  return executeClean(scan, config, options);
}

/**
 * Carry out the removals a scan allows. Each one is re-checked just before the unlink: the file must
 * still be the same regular file with the same mtime (nova refreshes the mtime of files it uses), still
 * old enough, and still unused by every instance disk read afresh.
 */
export async function executeClean(scan: CacheScan, config: CacheConfig, options: CleanOptions = {}): Promise<CleanResult> {
  const logger = options.logger ?? silentLogger;
  const reader = options.reader ?? defaultHeaderReader;
  const dryRun = options.yes !== true;
  const items: CleanItem[] = [];
  const removed: string[] = [];
  let bytesFreed = 0;
  let aborted: CleanResult['aborted'] = null;

  const plan = planClean(scan);
  for (const [i, e] of scan.entries.entries()) {
    const planned = plan[i]!;
    const base = { name: e.name, path: e.path, class: e.class, allocatedBytes: e.allocatedBytes };
    if (planned.action === 'kept' || dryRun) {
      items.push(planned);
      continue;
    }
    if (aborted) {
      items.push({ ...base, action: 'kept', reason: 'not attempted: the run stopped at an earlier re-check' });
      continue;
    }
    let veto: string | null;
    try {
      veto = await recheck(e, scan, config, options.now, reader);
    } catch (error) {
      const err = isXenkitError(error) ? error : operationError('E_CACHE_REMOVE_FAILED', String(error));
      aborted = { code: err.code, message: err.message };
      items.push({ ...base, action: 'kept', reason: `re-check failed: ${err.message}` });
      continue;
    }
    if (veto !== null) {
      logger.info({ path: e.path, reason: veto }, 'kept at re-check');
      items.push({ ...base, action: 'kept', reason: veto });
      continue;
    }
    try {
      await unlink(e.path);
      removed.push(e.path);
      bytesFreed += e.allocatedBytes;
      logger.info({ path: e.path }, 'removed');
      items.push({ ...base, action: 'removed', reason: reasonToRemove(e) });
    } catch (error) {
      const err: XenkitError = operationError(
        'E_CACHE_REMOVE_FAILED',
        `cannot remove ${e.path}: ${(error as Error).message}`,
        { path: e.path, errno: errnoOf(error) },
        error,
      );
      items.push({ ...base, action: 'failed', reason: err.message, error: { code: err.code, message: err.message } });
    }
  }
  return { dryRun, cacheDir: scan.cacheDir, removeUnusedBaseImages: scan.removeUnusedBaseImages, items, removed, bytesFreed, aborted, scan };
}

function reasonToRemove(e: CacheEntry): string {
  return `unused and ${Math.floor(e.ageSeconds)} s old (${e.novaGroup} files need ${e.minimumAgeSeconds} s)`;
}

/** The last look before an unlink; returns why to keep the file, or null. Throws when use cannot be proven. */
async function recheck(
  e: CacheEntry,
  scan: CacheScan,
  config: CacheConfig,
  now: number | undefined,
  reader: typeof defaultHeaderReader,
): Promise<string | null> {
  const st = await lstat(e.path).catch(() => undefined);
  if (!st) return 'gone before removal';
  if (!st.isFile()) return 'no longer a regular file';
  if (st.dev !== e.dev || st.ino !== e.ino) return 'replaced since the scan';
  if (st.mtimeMs !== e.mtimeMs) return 'modified or touched since the scan (nova refreshes the mtime of files in use)';
  const age = ((now ?? Date.now()) - st.mtimeMs) / 1000;
  if (e.minimumAgeSeconds === null || age < e.minimumAgeSeconds) return 'too young at re-check';
  const disks = await listInstanceDisks(config.instancesPath, config.cacheDir, reader);
  const users = usersOf(e, disks, scan.imageIds);
  if (users.length > 0) return `in use at re-check by ${users.join(', ')}`;
  return null;
}
