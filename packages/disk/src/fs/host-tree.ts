import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { toXenkitError } from '@xenkit/core';
import { FsError } from './errors.js';
import type { ResolveOps } from './resolve.js';
import { checkRange, ResolvingFileSystem } from './resolving.js';
import type { FileReader, FileStat, FileType } from './types.js';

/**
 * A host directory tree (an unpacked or mounted root) seen as a {@link ReadOnlyFileSystem}. Symlinks
 * are resolved against the tree, never the host: `/etc/alternatives/x -> /usr/bin/y` reads
 * `ROOT/usr/bin/y`, and `../../../../etc/shadow` stops at ROOT.
 */
export class HostTreeFileSystem extends ResolvingFileSystem {
  readonly description: string;
  protected readonly ops: ResolveOps;

  private constructor(private readonly root: string) {
    super();
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

  protected async readdirCanonical(canonical: string): Promise<string[]> {
    try {
      return await readdir(this.host(canonical));
    } catch (e) {
      throw toXenkitError(e, { path: this.host(canonical) });
    }
  }

  protected async readFileCanonical(canonical: string, size: number): Promise<Uint8Array> {
    const handle = await this.openHost(canonical);
    try {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  protected override async openCanonical(canonical: string, stat: FileStat, path: string): Promise<FileReader> {
    const handle = await this.openHost(canonical);
    return {
      size: stat.size,
      read: async (offset, length) => {
        checkRange(offset, length, this.root, path);
        const buf = Buffer.alloc(Math.max(0, Math.min(length, stat.size - offset)));
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        return buf.subarray(0, bytesRead);
      },
      close: () => handle.close(),
    };
  }

  // O_NOFOLLOW: the canonical path's last component was just checked not to be a link; refuse if a
  // link was swapped in since.
  private openHost(canonical: string) {
    return open(this.host(canonical), constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => {
      throw toXenkitError(e, { path: this.host(canonical) });
    });
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
