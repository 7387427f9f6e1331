import { BoundedCache } from '../block/bounded-cache.js';
import type { BlockSource } from '../block/types.js';
import { FsError, type FsErrorCode } from './errors.js';
import type { ResolveOps } from './resolve.js';
import { ResolvingFileSystem } from './resolving.js';
import type { FileStat } from './types.js';

/** One directory entry of a simple (no symlinks, no hard links) read-only filesystem. */
export interface SimpleEntry {
  type: 'file' | 'directory';
  size: number;
  mode: number;
  mtimeMs: number;
  /** Format-specific location (ISO extent LBA, FAT first cluster). */
  loc: number;
}

const MAX_ENTRIES_PER_DIR = 65_536;
// Listed directories kept; a config drive has a dozen, a hostile image may claim any number.
const DIR_CACHE_ENTRIES = 1024;

/**
 * Shared body of the small config-drive readers (iso9660, vfat): lazily listed, cached directories
 * over a {@link ResolvingFileSystem}, which does the path resolution and size limits as it does for
 * every other view. A subclass supplies how to list a directory and read a file's bytes.
 */
export abstract class SimpleFileSystem extends ResolvingFileSystem {
  private readonly dirs = new BoundedCache<string, Promise<Map<string, SimpleEntry>>>(DIR_CACHE_ENTRIES);
  protected readonly ops: ResolveOps;
  /** The volume label (what blkid reports as LABEL). */
  abstract readonly label: string;

  protected constructor(
    readonly description: string,
    protected readonly source: BlockSource,
    private readonly rootEntry: SimpleEntry,
  ) {
    super();
    this.ops = {
      lstatCanonical: async (p) => {
        const e = await this.entry(p);
        return e ? toStat(e) : null;
      },
      // These formats have no symlinks, so resolution never asks for a target.
      readlinkCanonical: async (p) => {
        throw this.err('E_FS_NOT_SYMLINK', p, `${p} is not a symbolic link`);
      },
    };
  }

  protected abstract list(dir: SimpleEntry): Promise<Map<string, SimpleEntry>>;
  protected abstract readData(file: SimpleEntry): Promise<Uint8Array>;

  protected err(code: FsErrorCode, path: string, what: string): FsError {
    return new FsError(code, `${this.description}: ${what}`, { path, fs: this.description });
  }

  protected checkCount(n: number, path: string): void {
    if (n > MAX_ENTRIES_PER_DIR) throw this.err('E_FS_CORRUPT', path, `directory ${path} has over ${MAX_ENTRIES_PER_DIR} entries`);
  }

  private children(path: string, e: SimpleEntry): Promise<Map<string, SimpleEntry>> {
    return this.dirs.load(path, () => this.list(e));
  }

  /** The entry at a canonical path (parents are directories), or null. */
  private async entry(path: string): Promise<SimpleEntry | null> {
    let cur = this.rootEntry;
    let at = '/';
    for (const part of path.split('/').filter((p) => p.length > 0)) {
      if (cur.type !== 'directory') return null;
      const next = (await this.children(at, cur)).get(part);
      if (!next) return null;
      at = at === '/' ? `/${part}` : `${at}/${part}`;
      cur = next;
    }
    return cur;
  }

  protected async readdirCanonical(path: string): Promise<string[]> {
    const e = await this.entry(path);
    if (!e || e.type !== 'directory') throw this.err('E_FS_NOT_DIRECTORY', path, `${path} is not a directory`);
    return [...(await this.children(path, e)).keys()];
  }

  protected async readFileCanonical(path: string): Promise<Uint8Array> {
    const e = await this.entry(path);
    if (!e || e.type !== 'file') throw this.err('E_FS_NOT_FOUND', path, `no such file: ${path}`);
    return this.readData(e);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

function toStat(e: SimpleEntry): FileStat {
  return { type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.size, mtimeMs: e.mtimeMs, ino: e.loc, nlink: 1 };
}
