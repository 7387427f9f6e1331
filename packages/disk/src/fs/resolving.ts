import { FsError } from './errors.js';
import { resolvePath, type ResolveOps } from './resolve.js';
import { DEFAULT_MAX_FILE_BYTES, type FileReader, type FileStat, type ReadFileOptions, type ReadOnlyFileSystem } from './types.js';

/**
 * The shared half of every {@link ReadOnlyFileSystem}: path resolution (symlinks followed inside the
 * root, bounded), type checks and size limits. A backend supplies four primitives that only ever see
 * canonical paths — every component a real directory, the last one never a link that was to be
 * followed — so no backend can be tricked into following a link on its own.
 *
 * To add a filesystem: subclass this, implement the four primitives over the filesystem's own reader,
 * and return it from an `open…FileSystem(source, volume)` function.
 */
export abstract class ResolvingFileSystem implements ReadOnlyFileSystem {
  protected abstract readonly ops: ResolveOps;
  abstract readonly description: string;

  /** Entry names of a canonical directory (may include "." and ".."). */
  protected abstract readdirCanonical(path: string): Promise<string[]>;
  /** Contents of a canonical regular file whose size is known to be within the caller's limit. */
  protected abstract readFileCanonical(path: string, size: number): Promise<Uint8Array>;
  abstract close(): Promise<void>;

  async lstat(path: string): Promise<FileStat> {
    return (await resolvePath(this.ops, path, this.description, false)).stat;
  }

  async stat(path: string): Promise<FileStat> {
    return (await resolvePath(this.ops, path, this.description, true)).stat;
  }

  async realpath(path: string): Promise<string> {
    return (await resolvePath(this.ops, path, this.description, true)).path;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await resolvePath(this.ops, path, this.description, true);
      return true;
    } catch (e) {
      if (e instanceof FsError && (e.code === 'E_FS_NOT_FOUND' || e.code === 'E_FS_NOT_DIRECTORY' || e.code === 'E_FS_SYMLINK_LOOP')) {
        return false;
      }
      throw e;
    }
  }

  async readlink(path: string): Promise<string> {
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, false);
    if (stat.type !== 'symlink') {
      throw new FsError('E_FS_NOT_SYMLINK', `${this.description}: ${path} is not a symbolic link`, { path, fs: this.description });
    }
    return this.ops.readlinkCanonical(canonical);
  }

  async readdir(path: string): Promise<string[]> {
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, true);
    if (stat.type !== 'directory') {
      throw new FsError('E_FS_NOT_DIRECTORY', `${this.description}: ${path} is not a directory`, { path, fs: this.description });
    }
    return (await this.readdirCanonical(canonical)).filter((n) => n !== '.' && n !== '..').sort();
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    const { canonical, stat } = await this.regularFile(path);
    if (stat.size > max) throw this.tooLarge(path, stat.size, max);
    return this.readFileCanonical(canonical, stat.size);
  }

  async openFile(path: string): Promise<FileReader> {
    const { canonical, stat } = await this.regularFile(path);
    return this.openCanonical(canonical, stat, path);
  }

  /**
   * Ranged reads of a canonical regular file. This default serves them from the whole file, read on
   * first use within the default size cap; backends that can seek override it.
   */
  protected async openCanonical(canonical: string, stat: FileStat, path: string): Promise<FileReader> {
    if (stat.size > DEFAULT_MAX_FILE_BYTES) throw this.tooLarge(path, stat.size, DEFAULT_MAX_FILE_BYTES);
    let whole: Promise<Uint8Array> | undefined;
    return {
      size: stat.size,
      read: async (offset, length) => {
        checkRange(offset, length, this.description, path);
        whole ??= this.readFileCanonical(canonical, stat.size);
        return (await whole).subarray(offset, offset + length);
      },
      close: async () => {
        whole = undefined;
      },
    };
  }

  private async regularFile(path: string): Promise<{ canonical: string; stat: FileStat }> {
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, true);
    if (stat.type === 'directory') {
      throw new FsError('E_FS_IS_DIRECTORY', `${this.description}: ${path} is a directory`, { path, fs: this.description });
    }
    if (stat.type !== 'file') {
      throw new FsError('E_FS_NOT_FOUND', `${this.description}: ${path} is a ${stat.type}, not a regular file`, { path, fs: this.description });
    }
    return { canonical, stat };
  }

  private tooLarge(path: string, size: number, max: number): FsError {
    return new FsError('E_FS_TOO_LARGE', `${this.description}: ${path} is ${size} bytes, over the ${max}-byte limit`, {
      path,
      fs: this.description,
      size,
      max,
    });
  }
}

/** A ranged read's arguments: whole, non-negative byte counts (a read past the end is just shorter). */
export function checkRange(offset: number, length: number, fs: string, path: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FsError('E_FS_BAD_RANGE', `${fs}: bad range ${offset}+${length} for ${path}`, { path, fs, offset, length });
  }
}
