// @xenkit/disk: read virtual disk images (raw, qcow2, VHD and their backing chains), their partition
// tables, LVM and filesystems — without mounting, root or qemu. One block per layer, bottom up.

// Block sources: an image (or a chain of them) as one random-access, read-only disk.
export type { BlockSource, Extent } from './block/types.js';
export { DiskError } from './block/errors.js';
export { readImageHeader, type ImageHeader, type ImageFormat } from './block/header.js';
export { openDisk, DEFAULT_MAX_CHAIN_DEPTH, type Disk, type ChainLayer, type OpenDiskOptions } from './block/open.js';
export { RawSource } from './block/raw.js';
export { BufferSource } from './block/buffer.js';

// Layout: partition tables, LVM, and the volumes (disk, partitions, LVs) that may hold a filesystem.
export type { Partition, PartitionTable, LayoutIssue } from './layout/types.js';
export { readPartitionTable } from './layout/table.js';
export { SliceSource, type Segment } from './layout/view.js';
export { probeDisk, openVolume, type DiskLayout, type Volume, type LvmLayout } from './layout/probe-disk.js';
export type { LvmVg, LvmLv, LvmPv, LvmSegment } from './lvm/vg.js';
export { probeFilesystem, type FsProbe } from './probe/probe.js';
export type { ExtInfo } from './probe/ext.js';
export { inspectDisk, type DiskReport } from './layout/inspect.js';

// Filesystems: one read-only view (ReadOnlyFileSystem) whatever is behind it, with one path-resolution
// rule (symlinks never leave the root) and bounded reads.
export type { FileReader, FileStat, FileType, ReadFileOptions, ReadOnlyFileSystem } from './fs/types.js';
export { MAX_SYMLINK_HOPS, DEFAULT_MAX_FILE_BYTES } from './fs/types.js';
export { FsError, type FsErrorCode } from './fs/errors.js';
export type { OpenFsOptions } from './fs/volume-view.js';
export { openExtFileSystem, type OpenExtOptions } from './fs/ext.js';
export { openIso9660FileSystem, Iso9660FileSystem } from './fs/iso9660.js';
export { openVfatFileSystem, VfatFileSystem } from './fs/vfat.js';
export { openXfsFileSystem } from './fs/xfs.js';
export { HostTreeFileSystem } from './fs/host-tree.js';
// For views that resolve paths themselves (a union of mounted volumes): the shared resolver and base.
export { resolvePath, type ResolveOps } from './fs/resolve.js';
export { ResolvingFileSystem } from './fs/resolving.js';
