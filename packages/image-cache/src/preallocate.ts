import { execFile } from 'node:child_process';
import { lstat, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { silentLogger, type Logger } from '@xenkit/core';
import type { CacheConfig } from './config/options.js';
import { defaultHeaderReader, listInstanceDisks, type HeaderReader } from './disks.js';
import { operationError } from './errors.js';

export interface PreallocateOptions {
  /** Really fallocate. Without it the run only reports. */
  yes?: boolean;
  reader?: HeaderReader;
  logger?: Logger;
  /** The util-linux `fallocate` program; found on PATH by default. */
  fallocate?: string;
}

/**
 * - `ok`: already fully allocated;
 * - `would-fallocate` / `fallocated`: has holes; filled now, or would be with --yes;
 * - `skipped`: not a candidate (`reason` says why); `failed`: fallocate refused (`error`).
 */
export type PreallocateAction = 'ok' | 'would-fallocate' | 'fallocated' | 'skipped' | 'failed';

export interface PreallocateDisk {
  path: string;
  instance: string;
  format: string;
  size: number;
  virtualSize: number;
  allocatedBytes: number;
  /** Bytes nova's `fallocate -n -l SIZE` covers: the file, or the virtual size of a qcow2 if larger. */
  targetBytes: number;
  fullyAllocated: boolean;
  action: PreallocateAction;
  reason: string;
  allocatedAfter?: number;
  error?: { code: string; message: string };
}

export interface PreallocateResult {
  mode: 'none' | 'space';
  dryRun: boolean;
  disks: PreallocateDisk[];
  summary: { disks: number; notFullyAllocated: number; fallocated: number; failed: number; bytesMissing: number };
}

// nova creates a config drive apart from its image backends and never preallocates it.
const NEVER_PREALLOCATED = new Set(['disk.config']);

/**
 * With preallocate_images=space nova runs `fallocate -n -l <size> <disk>` on every disk it creates.
 * This finds the disks that are not fully allocated (st_blocks×512 below the target) and, with `yes`,
 * does the same. fallocate(2) is used rather than writing zeros into holes because it only turns holes
 * into unwritten extents, atomically in the file system: data is never rewritten, the file size is kept
 * (-n), and a guest writing into a hole at the same moment cannot have its write overwritten, which a
 * user-space zero fill could do. Where the file system cannot fallocate, the disk is reported as failed
 * rather than filled some other way.
 */
export async function preallocateDisks(config: CacheConfig, options: PreallocateOptions = {}): Promise<PreallocateResult> {
  const logger = options.logger ?? silentLogger;
  const dryRun = options.yes !== true;
  const mode = config.preallocateImages;
  const found = await listInstanceDisks(config.instancesPath, config.cacheDir, options.reader ?? defaultHeaderReader);
  const disks: PreallocateDisk[] = [];

  for (const d of found) {
    const targetBytes = d.format === 'qcow2' ? Math.max(d.size, d.virtualSize) : d.size;
    const fullyAllocated = d.allocatedBytes >= targetBytes;
    const base = {
      path: d.path,
      instance: d.instance,
      format: d.format,
      size: d.size,
      virtualSize: d.virtualSize,
      allocatedBytes: d.allocatedBytes,
      targetBytes,
      fullyAllocated,
    };
    const skip = skipReason(basename(d.path), mode);
    if (skip) {
      disks.push({ ...base, action: 'skipped', reason: skip });
      continue;
    }
    if (fullyAllocated) {
      disks.push({ ...base, action: 'ok', reason: 'fully allocated' });
      continue;
    }
    const missing = `${targetBytes - d.allocatedBytes} of ${targetBytes} bytes unallocated`;
    if (dryRun) {
      disks.push({ ...base, action: 'would-fallocate', reason: missing });
      continue;
    }
    // fallocate(1) opens the path and would follow a symlink placed there since the scan.
    const st = await lstat(d.path).catch(() => undefined);
    if (!st?.isFile()) {
      disks.push({ ...base, action: 'skipped', reason: st ? 'no longer a regular file (symlinks are never followed)' : 'gone' });
      continue;
    }
    try {
      await runFallocate(options.fallocate ?? 'fallocate', targetBytes, d.path);
      const after = await stat(d.path);
      logger.info({ path: d.path, bytes: targetBytes }, 'fallocated');
      disks.push({ ...base, action: 'fallocated', reason: missing, allocatedAfter: after.blocks * 512 });
    } catch (error) {
      const err = error as { code: string; message: string };
      disks.push({ ...base, action: 'failed', reason: err.message, error: { code: err.code, message: err.message } });
    }
  }

  const notFull = disks.filter((d) => !d.fullyAllocated && d.action !== 'skipped');
  return {
    mode,
    dryRun,
    disks,
    summary: {
      disks: disks.length,
      notFullyAllocated: notFull.length,
      fallocated: disks.filter((d) => d.action === 'fallocated').length,
      failed: disks.filter((d) => d.action === 'failed').length,
      bytesMissing: notFull.reduce((n, d) => n + (d.targetBytes - d.allocatedBytes), 0),
    },
  };
}

function skipReason(name: string, mode: 'none' | 'space'): string | null {
  if (mode !== 'space') return 'preallocate_images is none: nova does not preallocate';
  if (NEVER_PREALLOCATED.has(name)) return 'config drive: nova never preallocates it';
  return null;
}

function runFallocate(program: string, bytes: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -n keeps the size: only holes inside the target range become allocated, as nova does.
    execFile(program, ['-n', '-l', String(bytes), '--', path], { timeout: 600_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const why = missing ? `${program} not found (install util-linux)` : stderr.trim() || error.message;
      reject(operationError('E_CACHE_FALLOCATE_FAILED', `cannot preallocate ${path}: ${why}`, { path, bytes }, error));
    });
  });
}
