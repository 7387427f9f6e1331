import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { toXenkitError } from '@xenkit/core';
import { FsError } from './errors.js';
import { resolvePath, type ResolveOps } from './resolve.js';
import { DEFAULT_MAX_FILE_BYTES, type FileStat, type FileType, type ReadFileOptions, type ReadOnlyFileSystem } from './types.js';

/**
 * A host directory tree (an unpacked or mounted root) seen as a {@link ReadOnlyFileSystem}. Symlinks
 * are resolved against the tree, never the host: `/etc/alternatives/x -> /usr/bin/y` reads
 * `ROOT/usr/bin/y`, and `../../../../etc/shadow` stops at ROOT.
 */
export class HostTreeFileSystem implements ReadOnlyFileSystem {
  readonly description: string;
  private readonly ops: ResolveOps;

  private constructor(private readonly root: string) {
    this.description = root;
    this.ops = {
      lstatCanonical: async (p) => {
        try {
          return toFileStat(await lstat(this.host(p)));
        } catch (e) {
          if (isMissing(e)) return null;
          throw toXenkitError(e, { path: this.host(p) });
        }
      },
      readlinkCanonical: (p) => readlink(this.host(p)),
    };
  }

  /** Open a directory tree; fails with a coded error when it is not a readable directory. */
  static async open(dir: string): Promise<HostTreeFileSystem> {
    let root: string;
    try {
      root = await realpath(dir);
      const st = await lstat(root);
      if (!st.isDirectory()) {
        throw new FsError('E_FS_NOT_DIRECTORY', `${dir} is not a directory`, { path: dir, fs: dir });
      }
    } catch (e) {
      throw toXenkitError(e, { path: dir });
    }
    return new HostTreeFileSystem(root);
  }

  private host(canonical: string): string {
    return join(this.root, canonical);
  }

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
      if (e instanceof FsError && e.code !== 'E_FS_BAD_PATH') return false;
      throw e;
    }
  }

  async readlink(path: string): Promise<string> {
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, false);
    if (stat.type !== 'symlink') {
      throw new FsError('E_FS_NOT_SYMLINK', `${this.description}: ${path} is not a symbolic link`, {
        path,
        fs: this.description,
      });
    }
    return readlink(this.host(canonical));
  }

  async readdir(path: string): Promise<string[]> {
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, true);
    if (stat.type !== 'directory') {
      throw new FsError('E_FS_NOT_DIRECTORY', `${this.description}: ${path} is not a directory`, {
        path,
        fs: this.description,
      });
    }
    try {
      return (await readdir(this.host(canonical))).sort();
    } catch (e) {
      throw toXenkitError(e, { path: this.host(canonical) });
    }
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    const { path: canonical, stat } = await resolvePath(this.ops, path, this.description, true);
    if (stat.type === 'directory') {
      throw new FsError('E_FS_IS_DIRECTORY', `${this.description}: ${path} is a directory`, {
        path,
        fs: this.description,
      });
    }
    if (stat.size > max) {
      throw new FsError('E_FS_TOO_LARGE', `${this.description}: ${path} is ${stat.size} bytes, over the ${max}-byte limit`, {
        path,
        fs: this.description,
        size: stat.size,
        max,
      });
    }
    // O_NOFOLLOW: the canonical path's last component was just checked not to be a link; refuse if a
    // link was swapped in since.
    const handle = await open(this.host(canonical), constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => {
      throw toXenkitError(e, { path: this.host(canonical) });
    });
    try {
      const buf = Buffer.alloc(Math.min(stat.size, max));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function fileType(st: Stats): FileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isBlockDevice()) return 'block';
  if (st.isCharacterDevice()) return 'char';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

function toFileStat(st: Stats): FileStat {
  return {
    type: fileType(st),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    nlink: st.nlink,
  };
}
