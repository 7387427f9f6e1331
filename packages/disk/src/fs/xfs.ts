import { DiskError } from '../block/errors.js';
import type { BlockSource } from '../block/types.js';
import { BoundedCache } from '../block/bounded-cache.js';
import type { Volume } from '../layout/probe-disk.js';
import { FsError } from './errors.js';
import type { ResolveOps } from './resolve.js';
import { checkRange, ResolvingFileSystem } from './resolving.js';
import { fileTypeOfMode, type FileReader, type FileStat } from './types.js';
import { volumeView, type OpenFsOptions } from './volume-view.js';
import { readDir, type DirEntries } from './xfs/dir.js';
import { checkCrc, fsbToByte, parseSuper, XfsCorrupt, type XfsSuper } from './xfs/format.js';
import { FMT_DEV, FMT_LOCAL, readExtents, readInode, type XfsInode } from './xfs/inode.js';

/**
 * Open the XFS filesystem (v4 or v5) on `source` (or on `volume` of it, as {@link probeDisk} found it)
 * for reading. `source` stays the caller's: closing the filesystem leaves it open.
 */
export async function openXfsFileSystem(source: BlockSource, volume?: Volume, options: OpenFsOptions = {}): Promise<ResolvingFileSystem> {
  const { view, description } = volumeView(source, volume, 'xfs', options.description);
  const corrupt = (e: unknown): never => {
    if (e instanceof XfsCorrupt) throw new FsError('E_FS_CORRUPT', `${description}: ${e.message}`, { path: '/', fs: description });
    throw e;
  };
  if (view.size < 512) corrupt(new XfsCorrupt('volume smaller than an XFS superblock'));
  const head = Buffer.from(await view.read(0, Math.min(view.size, 32768)));
  let sb: XfsSuper;
  try {
    sb = parseSuper(head, view.size);
  } catch (e) {
    return corrupt(e);
  }
  const fs = new XfsFileSystem(view, sb, description);
  try {
    const root = await fs.inode(sb.rootIno, '/');
    if ((root.mode & 0o170000) !== 0o040000) throw new XfsCorrupt(`root inode ${sb.rootIno} is not a directory`);
  } catch (e) {
    return corrupt(e);
  }
  return fs;
}

/** XFS_SYMLINK_MAXLEN. */
const MAX_SYMLINK = 1024;
const READ_CHUNK = 4 * 1024 * 1024;
/** Directory listings kept, by the memory their names take: a hostile image cannot make the cache grow past it. */
const MAX_CACHED_DIR_BYTES = 64 * 1024 * 1024;

/** Listings of recently read directories, oldest dropped first once their names pass `maxBytes`. */
class DirCache {
  private readonly entries = new Map<number, { dir: DirEntries; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(ino: number): DirEntries | undefined {
    return this.entries.get(ino)?.dir;
  }

  set(ino: number, dir: DirEntries): void {
    let bytes = 0;
    for (const name of dir.keys()) bytes += name.length * 2 + 48;
    if (bytes > this.maxBytes) return;
    const previous = this.entries.get(ino);
    if (previous) {
      this.entries.delete(ino);
      this.bytes -= previous.bytes;
    }
    for (const [key, old] of this.entries) {
      if (this.bytes + bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(ino, { dir, bytes });
    this.bytes += bytes;
  }
}

class XfsFileSystem extends ResolvingFileSystem {
  protected readonly ops: ResolveOps;
  private closed = false;
  private readonly inodes = new BoundedCache<bigint, Promise<XfsInode>>(4096);
  private readonly dirs = new DirCache(MAX_CACHED_DIR_BYTES);

  constructor(
    private readonly source: BlockSource,
    private readonly sb: XfsSuper,
    readonly description: string,
  ) {
    super();
    this.ops = {
      lstatCanonical: async (p) => {
        const ino = await this.lookup(p);
        return ino === null ? null : toStat(await this.inode(ino, p));
      },
      readlinkCanonical: (p) => this.guard(p, () => this.readlinkAt(p)),
    };
  }

  private async guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new FsError('E_FS_CORRUPT', `${this.description}: filesystem is closed`, { path, fs: this.description });
    try {
      return await fn();
    } catch (e) {
      if (e instanceof XfsCorrupt || (e instanceof DiskError && e.code === 'E_DISK_OUT_OF_RANGE')) {
        throw new FsError('E_FS_CORRUPT', `${this.description}: cannot read ${path}: ${e.message}`, { path, fs: this.description });
      }
      throw e;
    }
  }

  inode(ino: bigint, path: string): Promise<XfsInode> {
    return this.guard(path, () => this.inodes.load(ino, () => readInode(this.source, this.sb, ino)));
  }

  private entries(inode: XfsInode, path: string): Promise<DirEntries> {
    return this.guard(path, async () => {
      const cached = this.dirs.get(inode.ino);
      if (cached) return cached;
      const entries = await readDir(this.source, this.sb, inode);
      this.dirs.set(inode.ino, entries);
      return entries;
    });
  }

  /** Inode number of a canonical path, or null when a component is missing or not a directory. */
  private async lookup(path: string): Promise<bigint | null> {
    let ino = this.sb.rootIno;
    for (const name of path.split('/').filter((c) => c.length > 0)) {
      const dir = await this.inode(ino, path);
      if ((dir.mode & 0o170000) !== 0o040000) return null;
      const next = (await this.entries(dir, path)).get(name);
      if (next === undefined) return null;
      ino = next;
    }
    return ino;
  }

  private async at(path: string): Promise<XfsInode> {
    const ino = await this.lookup(path);
    if (ino === null) throw new FsError('E_FS_NOT_FOUND', `${this.description}: no such file or directory: ${path}`, { path, fs: this.description });
    return this.inode(ino, path);
  }

  protected async readdirCanonical(path: string): Promise<string[]> {
    const inode = await this.at(path);
    return [...(await this.entries(inode, path)).keys()];
  }

  protected async readFileCanonical(path: string, size: number): Promise<Uint8Array> {
    const inode = await this.at(path);
    return this.guard(path, () => this.contents(inode, size));
  }

  protected override async openCanonical(canonical: string, stat: FileStat, path: string): Promise<FileReader> {
    const inode = await this.at(canonical);
    const size = stat.size;
    return {
      size,
      read: (offset, length) => {
        checkRange(offset, length, this.description, path);
        return this.guard(canonical, () => this.contents(inode, size, offset, Math.max(offset, Math.min(size, offset + length))));
      },
      close: async () => {},
    };
  }

  /** Bytes [from, to) of a file of `size` bytes (to ≤ size); holes and unwritten extents read as zeros. */
  private async contents(inode: XfsInode, size: number, from = 0, to = size): Promise<Uint8Array> {
    if (inode.format === FMT_LOCAL) {
      if (size > inode.fork.length) throw new XfsCorrupt(`inode ${inode.ino} holds ${size} bytes inline in a ${inode.fork.length}-byte fork`);
      return new Uint8Array(inode.fork.subarray(from, to));
    }
    if (inode.format === FMT_DEV) throw new XfsCorrupt(`inode ${inode.ino} is a regular file with a device fork`);
    const out = new Uint8Array(to - from);
    const bs = this.sb.blockSize;
    for (const e of await readExtents(this.source, this.sb, inode)) {
      const start = e.off * bs;
      if (start >= size) break;
      if (e.unwritten) continue; // preallocated, reads as zeros
      const s = Math.max(start, from);
      const t = Math.min(start + e.len * bs, to);
      if (t <= s) continue;
      const base = fsbToByte(this.sb, e.fsb, e.len) + (s - start);
      for (let done = 0; done < t - s; done += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, t - s - done);
        out.set(await this.source.read(base + done, n), s - from + done);
      }
    }
    return out;
  }

  private async readlinkAt(path: string): Promise<string> {
    const inode = await this.at(path);
    if (inode.size === 0 || inode.size > MAX_SYMLINK) throw new XfsCorrupt(`symlink inode ${inode.ino} has length ${inode.size}`);
    if (inode.format === FMT_LOCAL) return new TextDecoder().decode(await this.contents(inode, inode.size));
    // Remote symlink: on v5 every block starts with a 56-byte header (0 magic "XSLM" | 4 offset u32 |
    // 8 bytes u32 | 12 crc | 16 uuid | 32 owner u64 | 40 blkno | 48 lsn).
    const bs = this.sb.blockSize;
    const parts: Uint8Array[] = [];
    let got = 0;
    for (const e of await readExtents(this.source, this.sb, inode)) {
      for (let i = 0; i < e.len && got < inode.size; i++) {
        const fsb = e.fsb + BigInt(i);
        const b = Buffer.from(await this.source.read(fsbToByte(this.sb, fsb), bs));
        if (!this.sb.v5) {
          parts.push(b.subarray(0, Math.min(bs, inode.size - got)));
        } else {
          if (b.readUInt32BE(0) !== 0x58534c4d) throw new XfsCorrupt(`symlink block ${fsb} has no "XSLM" magic`);
          checkCrc(b, 12, `symlink block ${fsb}`);
          const n = b.readUInt32BE(8);
          if (b.readUInt32BE(4) !== got || n === 0 || n > bs - 56 || got + n > inode.size) throw new XfsCorrupt(`symlink block ${fsb} holds bytes ${b.readUInt32BE(4)}+${n} of a ${inode.size}-byte target`);
          if (b.readBigUInt64BE(32) !== BigInt(inode.ino)) throw new XfsCorrupt(`symlink block ${fsb} belongs to another inode`);
          parts.push(b.subarray(56, 56 + n));
        }
        got += (parts.at(-1) as Uint8Array).length;
      }
    }
    if (got !== inode.size) throw new XfsCorrupt(`symlink inode ${inode.ino} maps ${got} of its ${inode.size} bytes`);
    return new TextDecoder().decode(Buffer.concat(parts));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.resolve();
  }
}

function toStat(i: XfsInode): FileStat {
  return {
    type: fileTypeOfMode(i.mode),
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    size: i.size,
    mtimeMs: i.mtimeMs,
    ino: i.ino,
    nlink: i.nlink,
  };
}
