/**
 * One read-only view of a filesystem, whatever is behind it: an ext2/3/4 filesystem inside an image
 * (read through libext2fs), or a host directory tree (an unpacked or mounted root). Checks and the
 * inventory are written against this interface only, so `check IMAGE` and `check --root DIR` run the
 * same code.
 *
 * Paths are absolute POSIX paths inside the filesystem ("/etc/fstab"). Symlinks resolve inside the
 * filesystem's root: an absolute target is relative to that root, ".." never climbs above it, and
 * resolution depth is bounded — the same rule for images and host trees, so a hostile image cannot
 * make xenkit read the host's /etc/shadow.
 */
export type FileType = 'file' | 'directory' | 'symlink' | 'block' | 'char' | 'fifo' | 'socket' | 'unknown';

const TYPES: Record<number, FileType> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'symlink',
  0o060000: 'block',
  0o020000: 'char',
  0o010000: 'fifo',
  0o140000: 'socket',
};

/** The file type an st_mode's S_IFMT bits name. */
export function fileTypeOfMode(mode: number): FileType {
  return TYPES[mode & 0o170000] ?? 'unknown';
}

export interface FileStat {
  type: FileType;
  /** Permission bits and file type bits, as st_mode. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ino: number;
  nlink: number;
}

export interface ReadFileOptions {
  /** Refuse files larger than this (E_FS_TOO_LARGE); default 64 MiB. */
  maxBytes?: number;
}

/**
 * Random access to one regular file, for readers that need a few ranges of a large file (a kernel's
 * headers and the compressed blocks before its Xen notes) rather than all of it.
 */
export interface FileReader {
  readonly size: number;
  /** `length` bytes at `offset`, fewer only where the file ends; ranges are bounds-checked. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ReadOnlyFileSystem {
  /** Human description for evidence lines ("ext4 on partition 1 of disk.qcow2", "/srv/root"). */
  readonly description: string;
  /** Metadata of the path itself (a symlink is reported as a symlink). */
  lstat(path: string): Promise<FileStat>;
  /** Metadata of what the path resolves to, symlinks followed inside the root. */
  stat(path: string): Promise<FileStat>;
  /** Entry names of a directory (symlinks followed), without "." and "..", sorted. */
  readdir(path: string): Promise<string[]>;
  /** Whole contents of a regular file (symlinks followed). */
  readFile(path: string, options?: ReadFileOptions): Promise<Uint8Array>;
  /** A regular file (symlinks followed) opened for ranged reads; nothing is read until asked. */
  openFile(path: string): Promise<FileReader>;
  /** A symlink's target, as stored. */
  readlink(path: string): Promise<string>;
  /** The canonical path inside the root after following every symlink. */
  realpath(path: string): Promise<string>;
  /** True when the path resolves to something; false for missing or dangling paths. */
  exists(path: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Bound on symlinks followed while resolving one path (Linux's MAXSYMLINKS is 40). */
export const MAX_SYMLINK_HOPS = 40;
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
