import { FsError, resolvePath, type FileStat, type ReadFileOptions, type ReadOnlyFileSystem, type ResolveOps } from '@xenkit/disk';

export interface Mount {
  /** Absolute mount point in the guest ("/", "/boot"). */
  path: string;
  fs: ReadOnlyFileSystem;
}

/**
 * Several filesystems seen as the guest sees them once its fstab is mounted: `/boot/grub/grub.cfg`
 * reads the separate /boot filesystem when there is one. Symlinks resolve across mounts exactly as in
 * the guest (`/vmlinuz -> boot/vmlinuz-6.1` lands in the /boot filesystem), still confined to the
 * guest's root.
 */
export class MountedFileSystem implements ReadOnlyFileSystem {
  readonly description: string;
  private readonly mounts: Mount[];
  private readonly ops: ResolveOps;

  constructor(mounts: Mount[]) {
    // Longest mount point first, so /boot/efi wins over /boot and /boot over /.
    this.mounts = [...mounts].sort((a, b) => b.path.length - a.path.length);
    const root = mounts.find((m) => m.path === '/');
    this.description = root?.fs.description ?? 'guest';
    this.ops = {
      lstatCanonical: async (p) => {
        const { fs, rel } = this.route(p);
        try {
          return await fs.lstat(rel);
        } catch (e) {
          if (e instanceof FsError && (e.code === 'E_FS_NOT_FOUND' || e.code === 'E_FS_NOT_DIRECTORY')) return null;
          throw e;
        }
      },
      readlinkCanonical: (p) => {
        const { fs, rel } = this.route(p);
        return fs.readlink(rel);
      },
    };
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

  private async canonical(path: string, follow: boolean): Promise<{ path: string; stat: FileStat }> {
    return resolvePath(this.ops, path, this.description, follow);
  }

  async lstat(path: string): Promise<FileStat> {
    return (await this.canonical(path, false)).stat;
  }

  async stat(path: string): Promise<FileStat> {
    return (await this.canonical(path, true)).stat;
  }

  async realpath(path: string): Promise<string> {
    return (await this.canonical(path, true)).path;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.canonical(path, true);
      return true;
    } catch (e) {
      if (e instanceof FsError && e.code !== 'E_FS_BAD_PATH') return false;
      throw e;
    }
  }

  async readlink(path: string): Promise<string> {
    const { path: p } = await this.canonical(path, false);
    const { fs, rel } = this.route(p);
    return fs.readlink(rel);
  }

  async readdir(path: string): Promise<string[]> {
    const { path: p } = await this.canonical(path, true);
    const { fs, rel } = this.route(p);
    return fs.readdir(rel);
  }

  async readFile(path: string, options?: ReadFileOptions): Promise<Uint8Array> {
    const { path: p } = await this.canonical(path, true);
    const { fs, rel } = this.route(p);
    return fs.readFile(rel, options);
  }

  async close(): Promise<void> {
    for (const m of this.mounts) await m.fs.close();
  }
}
