import { silentLogger, type Logger } from '@xenkit/core';
import type { BlockSource } from '../block/types.js';
import type { Volume } from '../layout/probe-disk.js';
import { extGeometryProblem } from '../probe/ext.js';
import { DECLINED, ExtDirectReader, MappedFileReader } from './ext-direct.js';
import { abortedModules, discardAbortedModule, ext2fs, isAbort, LIBEXT2FS_ERRORS, ReadOnlyDisk, type Ext2Fs, type Ext2Module, type Ext2Stats } from './ext-libext2fs.js';
import { ExtMapCorrupt, extGeometry, mapExtInode, type ExtGeometry, type MappedInode } from './ext-map.js';
import { FsError, type FsErrorCode } from './errors.js';
import type { ResolveOps } from './resolve.js';
import { ResolvingFileSystem } from './resolving.js';
import { fileTypeOfMode, type FileReader, type FileStat, type ReadOnlyFileSystem } from './types.js';
import { volumeView, type OpenFsOptions } from './volume-view.js';

export interface OpenExtOptions extends OpenFsOptions {
  logger?: Logger;
}

/**
 * Open the ext2/3/4 filesystem on `source` (or on `volume` of it) for reading through libext2fs.
 * Path resolution is xenkit's own ({@link resolvePath}): libext2fs only ever sees canonical paths whose
 * components are real directories, so symlinks in the image cannot lead outside its root.
 */
export async function openExtFileSystem(source: BlockSource, volume?: Volume, options: OpenExtOptions = {}): Promise<ReadOnlyFileSystem> {
  const { view, description } = volumeView(source, volume, 'ext', options.description);
  const sb = view.size >= 2048 ? await view.read(1024, 1024) : new Uint8Array(0);
  const problem = sb.length > 0 ? extGeometryProblem(sb, view.size) : `volume of ${view.size} bytes is too small for ext`;
  if (problem) {
    throw new FsError('E_FS_CORRUPT', `${description}: not a usable ext filesystem: ${problem}`, { path: '/', fs: description });
  }
  const disk = new ReadOnlyDisk(view);
  const module = ext2fs();
  let fs: Ext2Fs;
  try {
    fs = await module.mount(disk, 0);
  } catch (e) {
    if (isAbort(e)) discardAbortedModule(module);
    const errno = (e as { errno?: number }).errno;
    const why = errno !== undefined ? LIBEXT2FS_ERRORS[errno] : undefined;
    throw new FsError('E_FS_CORRUPT', `${description}: libext2fs cannot open the filesystem (${why ?? (e as Error).message}); is it ext2/3/4?`, {
      path: '/',
      fs: description,
      errno,
    });
  }
  return new ExtFileSystem(module, fs, disk, view, extGeometry(sb), description, options.logger ?? silentLogger);
}

// Linux open(2) flag values, which libext2fs's glue interprets.
const O_RDONLY = 0;
const O_NOFOLLOW = 0o400000;
const O_NOATIME = 0o1000000;
const READ_CHUNK = 256 * 1024;
/** Bound on cached lstat answers (a few hundred bytes each). */
const STAT_CACHE_ENTRIES = 8192;
/** Bound on cached directory listings. */
const LISTING_CACHE_ENTRIES = 1024;


class ExtFileSystem extends ResolvingFileSystem {
  protected readonly ops: ResolveOps;
  private readonly direct: ExtDirectReader;
  private closed = false;
  /**
   * lstat results by canonical path, misses included. Path resolution lstats every component of
   * every path, and libext2fs walks from the root for each, so callers probing many files under
   * /etc/systemd/… would otherwise repeat the same directory lookups (and their thrown ENOENTs)
   * hundreds of times. The filesystem is opened read-only, so an answer never goes stale.
   */
  private readonly stats = new Map<string, FileStat | null>();
  /** Symlink targets read so far: resolving /bin/… or /lib/… reads the same few links again and again. */
  private readonly links = new Map<string, string>();
  /** Entry names of the directories listed so far, by canonical path. */
  private readonly listings = new Map<string, Set<string>>();

  constructor(
    private readonly module: Ext2Module,
    private readonly fs: Ext2Fs,
    private readonly disk: ReadOnlyDisk,
    private readonly view: BlockSource,
    private readonly geometry: ExtGeometry,
    readonly description: string,
    private readonly logger: Logger,
  ) {
    super();
    this.direct = new ExtDirectReader(view, geometry, logger, description);
    this.ops = {
      lstatCanonical: async (p) => {
        const known = this.stats.get(p);
        if (known !== undefined) return known;
        const own = await this.own(p, () => this.direct.stat(p));
        if (own !== DECLINED) return own;
        const cut = p.lastIndexOf('/');
        const parent = cut <= 0 ? '/' : p.slice(0, cut);
        const listing = p === '/' ? undefined : this.listings.get(parent);
        let stat: FileStat | null;
        if (listing && !listing.has(p.slice(cut + 1))) {
          stat = null;
        } else {
          try {
            stat = toStat(await this.call(p, () => this.fs.promises.lstat(p)));
          } catch (e) {
            const errno = e instanceof FsError ? e.details.errno : undefined;
            if (errno === 'ENOENT' || errno === 'ENOTDIR') stat = null;
            else throw e;
          }
          // A miss usually means more probing of the same directory (/etc/sysconfig, /etc/ufw, unit
          // files…): list it once, and its other missing names cost no libext2fs lookup at all.
          if (stat === null && !listing && p !== '/') await this.readdirCanonical(parent).catch(() => undefined);
        }
        if (this.stats.size >= STAT_CACHE_ENTRIES) this.stats.clear();
        this.stats.set(p, stat);
        return stat;
      },
      readlinkCanonical: async (p) => {
        const known = this.links.get(p);
        if (known !== undefined) return known;
        const own = await this.own(p, () => this.direct.readlink(p));
        const target = own !== DECLINED ? own : await this.call(p, () => this.fs.promises.readlink(p));
        if (this.links.size >= STAT_CACHE_ENTRIES) this.links.clear();
        this.links.set(p, target);
        return target;
      },
    };
  }

  private wrap(e: unknown, path: string): FsError {
    if (e instanceof FsError) return e;
    const errno = (e as { code?: string }).code;
    const map: Record<string, FsErrorCode> = { ENOENT: 'E_FS_NOT_FOUND', ENOTDIR: 'E_FS_NOT_DIRECTORY', EISDIR: 'E_FS_IS_DIRECTORY' };
    const code = (errno && map[errno]) || 'E_FS_CORRUPT';
    return new FsError(code, `${this.description}: cannot read ${path}: ${(e as Error).message}`, { path, fs: this.description, errno });
  }

  /** xenkit's own reading of a path; its I/O failures are reported as libext2fs's would be. */
  private async own<T>(path: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new FsError('E_FS_CORRUPT', `${this.description}: filesystem is closed`, { path, fs: this.description });
    try {
      return await fn();
    } catch (e) {
      throw this.wrap(e, path);
    }
  }

  /** Calls made into libext2fs after mounting (lookups and reads xenkit's own reader declined). */
  libext2fsCalls = 0;

  private async call<T>(path: string, fn: () => Promise<T>): Promise<T> {
    this.libext2fsCalls++;
    if (this.closed) throw new FsError('E_FS_CORRUPT', `${this.description}: filesystem is closed`, { path, fs: this.description });
    if (abortedModules.has(this.module)) {
      throw new FsError('E_FS_CORRUPT', `${this.description}: the ext reader (libext2fs) aborted; reopen the filesystem`, { path, fs: this.description });
    }
    try {
      return await fn();
    } catch (e) {
      if (isAbort(e)) discardAbortedModule(this.module);
      throw this.wrap(e, path);
    }
  }

  protected async readdirCanonical(canonical: string): Promise<string[]> {
    const known = this.listings.get(canonical);
    if (known) return [...known];
    const own = await this.own(canonical, () => this.direct.readdir(canonical));
    const names = own !== DECLINED ? own : await this.call(canonical, () => this.fs.promises.readdir(canonical));
    // A name with '/' or NUL is no name a path can reach, and joined onto its directory it would name
    // another file: the kernel's readdir refuses such an entry (EUCLEAN), and so does this one.
    const bad = names.find((n) => n.includes('/') || n.includes('\0'));
    if (bad !== undefined) {
      throw new FsError('E_FS_CORRUPT', `${this.description}: directory ${canonical} holds an entry named ${JSON.stringify(bad)}, which no path can name`, {
        path: canonical,
        fs: this.description,
      });
    }
    if (this.listings.size >= LISTING_CACHE_ENTRIES) this.listings.clear();
    this.listings.set(canonical, new Set(names));
    return names;
  }

  protected async readFileCanonical(canonical: string, size: number): Promise<Uint8Array> {
    const mapped = await this.mapped(canonical, size);
    if (mapped) return mapped.read(0, size);
    return this.call(canonical, () => this.readWhole(canonical, size));
  }

  protected override async openCanonical(canonical: string, stat: FileStat, path: string): Promise<FileReader> {
    return (await this.mapped(canonical, stat.size)) ?? super.openCanonical(canonical, stat, path);
  }

  /** Files whose data map was read by xenkit (the rest went through libext2fs); for tests and logs. */
  mappedReads = 0;

  /**
   * The file's data read straight from its block map, or null to leave it to libext2fs: when the
   * mapper declines the inode, or finds something it cannot trust, or disagrees with libext2fs's own
   * stat of it — the reading then is exactly libext2fs's.
   */
  private async mapped(canonical: string, size: number): Promise<MappedFileReader | null> {
    const st = await this.ops.lstatCanonical(canonical);
    if (!st || st.type !== 'file' || st.size !== size) return null;
    try {
      const own = await this.direct.file(canonical);
      const map: MappedInode | null = own !== DECLINED ? own : await mapExtInode(this.view, this.geometry, st.ino);
      if (!map) return null;
      if (map.mode !== st.mode || map.size !== st.size) {
        this.logger.debug({ fs: this.description, path: canonical }, 'ext block map disagrees with libext2fs; reading through libext2fs');
        return null;
      }
      this.mappedReads++;
      return new MappedFileReader(this.view, this.geometry.blockSize, map.runs, map.size, this.description, canonical);
    } catch (e) {
      if (!(e instanceof ExtMapCorrupt)) throw this.wrap(e, canonical);
      this.logger.debug({ fs: this.description, path: canonical, reason: e.message }, 'ext block map unusable; reading through libext2fs');
      return null;
    }
  }

  // libext2fs updates i_atime on read unless the file is opened O_NOATIME; that write would be refused
  // (and fail the read), so files are always opened O_RDONLY | O_NOFOLLOW | O_NOATIME.
  private async readWhole(canonical: string, size: number): Promise<Uint8Array> {
    const fd = await new Promise<number>((resolve, reject) =>
      this.fs.open(canonical, O_RDONLY | O_NOFOLLOW | O_NOATIME, 0, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    try {
      const out = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const chunk = Math.min(size - done, READ_CHUNK);
        // Straight into the result: a kernel is read whole, and a bounce buffer would copy it twice.
        const { bytesRead } = await this.fs.promises.read(fd, out, done, chunk, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      // slice, not subarray: past `done` the buffer may hold bytes libext2fs's pool had from elsewhere.
      return done === size ? out : out.slice(0, done);
    } finally {
      await this.fs.promises.close(fd);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stats.clear();
    this.listings.clear();
    this.links.clear();
    if (abortedModules.has(this.module)) return;
    try {
      await this.module.umount(this.fs);
    } catch (e) {
      // Unmount may try to write back state; the disk refused it, which is the point.
      this.logger.debug({ err: (e as Error).message, fs: this.description }, 'ext unmount reported an error (writes are refused)');
    }
    if (this.disk.refusedWrites > 0) {
      this.logger.debug({ refused: this.disk.refusedWrites, fs: this.description }, 'refused libext2fs writes to a read-only image');
    }
  }
}

function toStat(s: Ext2Stats): FileStat {
  return {
    type: fileTypeOfMode(s.mode),
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    mtimeMs: s.mtimeMs ?? s.mtime?.getTime() ?? 0,
    ino: s.ino,
    nlink: s.nlink,
  };
}
