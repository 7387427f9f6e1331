import type { Logger } from '@xenkit/core';
import type { BlockSource } from '../block/types.js';
import { readExtDirectory } from './ext-dir.js';
import { ExtMapCorrupt, FL_INLINE_DATA, mapInodeData, readExtInode, type DataRun, type ExtGeometry, type ExtInode, type MappedInode } from './ext-map.js';
import { checkRange } from './resolving.js';
import { fileTypeOfMode, type FileReader, type FileStat } from './types.js';

/** "Not mine to answer": the caller asks libext2fs instead. */
export const DECLINED = Symbol('declined');
type Answer<T> = T | typeof DECLINED;

const ROOT_INO = 2;
/** ext4's fast symlink: a target shorter than i_block (60 bytes) is stored in it (ext2fs_is_fast_symlink). */
const FAST_SYMLINK_MAX = 60;
/** Bound on remembered inodes and directories (each a few hundred bytes, or its entries). */
const CACHE_ENTRIES = 4096;

const decoder = new TextDecoder('utf-8');

/**
 * A link target ends at its first NUL, as libext2fs (a C string) and the kernel's path walk read it:
 * an old-style slow symlink under 60 bytes, read by the size rule as a fast one, holds block numbers.
 */
function linkTarget(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * Path lookups, stats, listings and symlinks of an ext filesystem read by xenkit from inodes and
 * directory blocks (`ext-map.ts`, `ext-dir.ts`). Every answer is either exactly what the structures
 * say, or DECLINED — for a filesystem or inode this reader does not handle, or a structure it cannot
 * trust (bad checksum, bad entry) — and then the filesystem asks libext2fs, which opened and validated
 * the filesystem in the first place and stays the reference the tests compare against.
 */
export class ExtDirectReader {
  private readonly inodes = new Map<string, Promise<Answer<ExtInode | null>>>();
  private readonly dirs = new Map<number, Promise<Answer<Map<string, number>>>>();

  constructor(
    private readonly view: BlockSource,
    private readonly geometry: ExtGeometry,
    private readonly logger: Logger,
    private readonly description: string,
  ) {}

  /** The inode at a canonical path (every parent a real directory); null when it does not exist. */
  inode(canonical: string): Promise<Answer<ExtInode | null>> {
    let known = this.inodes.get(canonical);
    if (!known) {
      known = this.guard(canonical, () => this.lookup(canonical));
      if (this.inodes.size >= CACHE_ENTRIES) this.inodes.clear();
      this.inodes.set(canonical, known);
    }
    return known;
  }

  async stat(canonical: string): Promise<Answer<FileStat | null>> {
    const inode = await this.inode(canonical);
    if (inode === DECLINED || inode === null) return inode;
    return { type: fileTypeOfMode(inode.mode), mode: inode.mode, uid: inode.uid, gid: inode.gid, size: inode.size, mtimeMs: inode.mtime * 1000, ino: inode.ino, nlink: inode.links };
  }

  /** Entry names of a canonical directory, "." and ".." included. */
  async readdir(canonical: string): Promise<Answer<string[]>> {
    const inode = await this.inode(canonical);
    if (inode === DECLINED || inode === null || (inode.mode & 0o170000) !== 0o040000) return DECLINED;
    const entries = await this.entries(inode);
    return entries === DECLINED ? DECLINED : [...entries.keys()];
  }

  async readlink(canonical: string): Promise<Answer<string>> {
    const inode = await this.inode(canonical);
    if (inode === DECLINED || inode === null || (inode.mode & 0o170000) !== 0o120000 || inode.flags & FL_INLINE_DATA) return DECLINED;
    if (inode.size > 0 && inode.size < FAST_SYMLINK_MAX) return linkTarget(inode.iblock.subarray(0, inode.size));
    const map = await this.map(canonical, inode);
    if (map === DECLINED || map.runs.length === 0 || inode.size > this.geometry.blockSize) return DECLINED;
    const run = map.runs[0] as MappedInode['runs'][number];
    if (run.physical === null) return DECLINED;
    return linkTarget(await this.view.read(run.physical * this.geometry.blockSize, inode.size));
  }

  /** The block map of a regular file at a canonical path. */
  async file(canonical: string): Promise<Answer<MappedInode>> {
    const inode = await this.inode(canonical);
    if (inode === DECLINED || inode === null || (inode.mode & 0o170000) !== 0o100000) return DECLINED;
    return this.map(canonical, inode);
  }

  private map(canonical: string, inode: ExtInode): Promise<Answer<MappedInode>> {
    return this.guard(canonical, async () => (await mapInodeData(this.view, this.geometry, inode)) ?? DECLINED);
  }

  private async lookup(canonical: string): Promise<Answer<ExtInode | null>> {
    if (canonical === '/') return (await readExtInode(this.view, this.geometry, ROOT_INO)) ?? DECLINED;
    const cut = canonical.lastIndexOf('/');
    const parent = await this.inode(cut === 0 ? '/' : canonical.slice(0, cut));
    if (parent === DECLINED || parent === null) return parent;
    // A path through a non-directory does not exist (libext2fs: ENOTDIR, which lstat reports as missing).
    if ((parent.mode & 0o170000) !== 0o040000) return null;
    const entries = await this.entries(parent);
    if (entries === DECLINED) return DECLINED;
    const ino = entries.get(canonical.slice(cut + 1));
    if (ino === undefined) return null;
    return (await readExtInode(this.view, this.geometry, ino)) ?? DECLINED;
  }

  private entries(dir: ExtInode): Promise<Answer<Map<string, number>>> {
    let known = this.dirs.get(dir.ino);
    if (!known) {
      known = this.guard(`inode ${dir.ino}`, async () => (await readExtDirectory(this.view, this.geometry, dir)) ?? DECLINED);
      if (this.dirs.size >= CACHE_ENTRIES) this.dirs.clear();
      this.dirs.set(dir.ino, known);
    }
    return known;
  }

  private async guard<T>(what: string, fn: () => Promise<Answer<T>>): Promise<Answer<T>> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ExtMapCorrupt)) throw e;
      this.logger.debug({ fs: this.description, path: what, reason: e.message }, 'ext structure not trusted; asking libext2fs');
      return DECLINED;
    }
  }
}

/** Ranged reads over a file's block map: each run one read of the volume, holes as zeros. */
export class MappedFileReader implements FileReader {
  constructor(
    private readonly view: BlockSource,
    private readonly blockSize: number,
    private readonly runs: DataRun[],
    readonly size: number,
    private readonly fs: string,
    private readonly path: string,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(offset, length, this.fs, this.path);
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const bs = this.blockSize;
    let lo = 0;
    let hi = this.runs.length - 1;
    // The last run starting at or before the offset.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.runs[mid] as DataRun).logical * bs <= offset) lo = mid;
      else hi = mid - 1;
    }
    // Within one run (a kernel's blocks are usually one extent) the volume's bytes are the answer.
    const first = this.runs[lo] as DataRun;
    if (first.physical !== null && end <= (first.logical + first.count) * bs) {
      return this.view.read(first.physical * bs + (offset - first.logical * bs), end - offset);
    }
    const out = new Uint8Array(end - offset);
    for (let i = lo; i < this.runs.length; i++) {
      const run = this.runs[i] as DataRun;
      const runStart = run.logical * bs;
      if (runStart >= end) break;
      const from = Math.max(offset, runStart);
      const to = Math.min(end, runStart + run.count * bs);
      if (to <= from || run.physical === null) continue;
      out.set(await this.view.read(run.physical * bs + (from - runStart), to - from), from - offset);
    }
    return out;
  }

  async close(): Promise<void> {}
}
