export { parseNovaConf, MAX_CONF_BYTES, type IniSections, type IniValue } from './config/ini.js';
export {
  loadCacheConfig,
  resolveCacheConfig,
  type CacheConfig,
  type CacheOptionKey,
  type LoadConfigOptions,
  type OptionSource,
} from './config/options.js';
export {
  cacheFileName,
  classifyName,
  novaGroup,
  belongsToImage,
  NOVA_RULES,
  type CacheFileClass,
  type NovaGroup,
  type NovaRules,
} from './naming.js';
export {
  listInstanceDisks,
  defaultHeaderReader,
  MAX_CHAIN_DEPTH,
  type DiskHeader,
  type HeaderReader,
  type InstanceDisk,
} from './disks.js';
export { scanCache, type CacheEntry, type CacheScan, type NovaAction, type ScanOptions } from './scan.js';
export { novaLogFor, type NovaLogLine } from './nova-log.js';
export { cleanCache, executeClean, planClean, keepReason, type CleanAction, type CleanItem, type CleanOptions, type CleanResult } from './clean.js';
export {
  preallocateDisks,
  type PreallocateAction,
  type PreallocateDisk,
  type PreallocateOptions,
  type PreallocateResult,
} from './preallocate.js';
export type { CacheErrorCode } from './errors.js';
export { runCacheScan, runCacheClean, runCachePreallocate, type CacheRunOptions, type SettingsReport } from './run.js';
