import { FsError, ResolvingFileSystem, type FileReader, type FileStat, type ReadOnlyFileSystem, type ResolveOps } from '@xenkit/disk';

/** Bound on remembered lookups (a few hundred bytes each). */
const CACHE_ENTRIES = 8192;

export interface Mount {
  /** Absolute mount point in the guest ("/", "/boot"). */
  path: string;
  fs: ReadOnlyFileSystem;
}

/**
 * Several filesystems seen as the guest sees them once its fstab is mounted: `/boot/grub/grub.cfg`
 * reads the separate /boot filesystem when there is one. Symlinks resolve across mounts exactly as in
 * the guest (`/vmlinuz -> boot/vmlinuz-6.1` lands in the /boot filesystem), still confined to the
 * guest's root, by the shared resolver of {@link ResolvingFileSystem}.
 */
export class MountedFileSystem extends ResolvingFileSystem {
  readonly description: string;
  private readonly mounts: Mount[];
  protected readonly ops: ResolveOps;

  constructor(mounts: Mount[]) {
    super();
    // Longest mount point first, so /boot/efi wins over /boot and /boot over /.
    this.mounts = [...mounts].sort((a, b) => b.path.length - a.path.length);
    this.description = mounts.find((m) => m.path === '/')?.fs.description ?? 'guest';
    // Every path resolved here lstats each of its prefixes, and each inner lstat resolves its own
    // path again: remembering answers (the views are read-only) keeps a check at one lookup per path.
    const stats = new Map<string, Promise<FileStat | null>>();
    const links = new Map<string, Promise<string>>();
    this.ops = {
      lstatCanonical: (p) => {
        let known = stats.get(p);
        if (!known) {
          known = this.lstatInner(p);
          if (stats.size >= CACHE_ENTRIES) stats.clear();
          stats.set(p, known);
        }
        return known;
      },
      readlinkCanonical: (p) => {
        let known = links.get(p);
        if (!known) {
          const { fs, rel } = this.route(p);
          known = fs.readlink(rel);
          if (links.size >= CACHE_ENTRIES) links.clear();
          links.set(p, known);
        }
        return known;
      },
    };
  }

  private async lstatInner(p: string): Promise<FileStat | null> {
    const { fs, rel } = this.route(p);
    try {
      return await fs.lstat(rel);
    } catch (e) {
      if (e instanceof FsError && (e.code === 'E_FS_NOT_FOUND' || e.code === 'E_FS_NOT_DIRECTORY')) return null;
      throw e;
    }
  }

  /** The filesystem a canonical path lives on, and the path inside it. */
  route(canonical: string): { fs: ReadOnlyFileSystem; rel: string; mount: string } {
    for (const m of this.mounts) {
      if (m.path === '/') return { fs: m.fs, rel: canonical, mount: '/' };
      if (canonical === m.path) return { fs: m.fs, rel: '/', mount: m.path };
      if (canonical.startsWith(`${m.path}/`)) return { fs: m.fs, rel: canonical.slice(m.path.length), mount: m.path };
    }
    throw new FsError('E_FS_NOT_FOUND', `no filesystem mounted at / to read ${canonical}`, { path: canonical, fs: 'guest' });
  }

  protected readdirCanonical(path: string): Promise<string[]> {
    const { fs, rel } = this.route(path);
    return fs.readdir(rel);
  }

  protected readFileCanonical(path: string, size: number): Promise<Uint8Array> {
    const { fs, rel } = this.route(path);
    return fs.readFile(rel, { maxBytes: size });
  }

  protected override openCanonical(path: string, _stat: FileStat): Promise<FileReader> {
    const { fs, rel } = this.route(path);
    return fs.openFile(rel);
  }

  async close(): Promise<void> {
    for (const m of this.mounts) await m.fs.close();
  }
}
