export type { FileStat, FileType, ReadFileOptions, ReadOnlyFileSystem } from './fs/types.js';
export { MAX_SYMLINK_HOPS, DEFAULT_MAX_FILE_BYTES } from './fs/types.js';
export { FsError, type FsErrorCode } from './fs/errors.js';
export { resolvePath, type ResolveOps } from './fs/resolve.js';
export { HostTreeFileSystem } from './fs/host-tree.js';
export { ResolvingFileSystem } from './fs/resolving.js';
export type { BlockSource, Extent } from './block/types.js';
export { RawSource } from './block/raw.js';
export { BufferSource } from './block/buffer.js';
export { DiskError } from './block/errors.js';
// block sources
export { readImageHeader, type ImageHeader, type ImageFormat } from './block/header.js';
export { openDisk, DEFAULT_MAX_CHAIN_DEPTH, type Disk, type ChainLayer, type OpenDiskOptions } from './block/open.js';
// layout and filesystems
export type { Partition, PartitionTable, LayoutIssue } from './layout/types.js';
export { readPartitionTable } from './layout/table.js';
export { SliceSource, type Segment } from './layout/view.js';
export { probeDisk, openVolume, type DiskLayout, type Volume, type LvmLayout } from './layout/probe-disk.js';
export { probeFilesystem, type FsProbe } from './probe/probe.js';
export { parseExtSuperblock, blkidExtType, partedExtType, type ExtInfo } from './probe/ext.js';
export { parseLvmText, type LvmSection, type LvmValue } from './lvm/text.js';
export { scanPv, vgFromMetadata, vgSection, type LvmVg, type LvmLv, type LvmPv, type LvmSegment, type PvScan } from './lvm/vg.js';
export { openExtFileSystem, type OpenExtOptions } from './fs/ext.js';
export { inspectDisk, type DiskReport } from './layout/inspect.js';
