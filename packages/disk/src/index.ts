export type { FileStat, FileType, ReadFileOptions, ReadOnlyFileSystem } from './fs/types.js';
export { MAX_SYMLINK_HOPS, DEFAULT_MAX_FILE_BYTES } from './fs/types.js';
export { FsError, type FsErrorCode } from './fs/errors.js';
export { resolvePath, type ResolveOps } from './fs/resolve.js';
export { HostTreeFileSystem } from './fs/host-tree.js';
