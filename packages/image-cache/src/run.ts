import type { Logger } from '@xenkit/core';
import { loadCacheConfig, type CacheConfig, type CacheOptionKey, type LoadConfigOptions, type OptionSource } from './config/options.js';
import { cleanCache, type CleanResult } from './clean.js';
import type { HeaderReader } from './disks.js';
import type { NovaRules } from './naming.js';
import { preallocateDisks, type PreallocateResult } from './preallocate.js';
import { scanCache, type CacheScan } from './scan.js';

/** What `xenkit cache …` passes: where nova.conf is, overrides, and the run's switches. */
export interface CacheRunOptions extends LoadConfigOptions {
  imageIds?: readonly string[];
  rules?: NovaRules;
  yes?: boolean;
  now?: number;
  reader?: HeaderReader;
  logger?: Logger;
}

/** The settings a run used and where each came from, for reports. */
export interface SettingsReport {
  files: string[];
  instancesPath: string;
  cacheDir: string;
  removeUnusedBaseImages: boolean;
  originalMinimumAgeSeconds: number;
  resizedMinimumAgeSeconds: number;
  preallocateImages: 'none' | 'space';
  sources: Record<CacheOptionKey, OptionSource>;
  deprecations: string[];
}

function settings(c: CacheConfig): SettingsReport {
  return {
    files: c.files,
    instancesPath: c.instancesPath,
    cacheDir: c.cacheDir,
    removeUnusedBaseImages: c.removeUnusedBaseImages,
    originalMinimumAgeSeconds: c.originalMinimumAgeSeconds,
    resizedMinimumAgeSeconds: c.resizedMinimumAgeSeconds,
    preallocateImages: c.preallocateImages,
    sources: c.sources,
    deprecations: c.deprecations,
  };
}

/** Load nova.conf and scan the cache: what nova would do with every file, and its log lines. */
export async function runCacheScan(options: CacheRunOptions): Promise<{ settings: SettingsReport } & CacheScan> {
  const config = await loadCacheConfig(options);
  return { settings: settings(config), ...(await scanCache(config, options)) };
}

/** Load nova.conf and clean the cache (a dry run unless `yes`). */
export async function runCacheClean(options: CacheRunOptions): Promise<{ settings: SettingsReport } & CleanResult> {
  const config = await loadCacheConfig(options);
  return { settings: settings(config), ...(await cleanCache(config, options)) };
}

/** Load nova.conf and report (or, with `yes`, fill) instance disks that are not fully allocated. */
export async function runCachePreallocate(options: CacheRunOptions): Promise<{ settings: SettingsReport } & PreallocateResult> {
  const config = await loadCacheConfig(options);
  return { settings: settings(config), ...(await preallocateDisks(config, options)) };
}
