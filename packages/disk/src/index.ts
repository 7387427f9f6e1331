export type { FileStat, FileType, ReadFileOptions, ReadOnlyFileSystem } from './fs/types.js';
export { MAX_SYMLINK_HOPS, DEFAULT_MAX_FILE_BYTES } from './fs/types.js';
export { FsError, type FsErrorCode } from './fs/errors.js';
export { resolvePath, type ResolveOps } from './fs/resolve.js';
export { HostTreeFileSystem } from './fs/host-tree.js';
export type { BlockSource, Extent } from './block/types.js';
export { RawSource } from './block/raw.js';
export { BufferSource } from './block/buffer.js';
export { DiskError } from './block/errors.js';
// block sources
export { readImageHeader, type ImageHeader, type ImageFormat } from './block/header.js';
export { openDisk, DEFAULT_MAX_CHAIN_DEPTH, type Disk, type ChainLayer, type OpenDiskOptions } from './block/open.js';
// config-drive filesystems
export { Iso9660FileSystem } from './fs/iso9660.js';
export { VfatFileSystem } from './fs/vfat.js';
