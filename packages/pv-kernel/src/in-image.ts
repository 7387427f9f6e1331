import { open } from 'node:fs/promises';
import { InputError, UsageError, XenkitError, silentLogger, type Logger } from '@xenkit/core';
import { openDisk, openExtFileSystem, openXfsFileSystem, probeDisk, type Disk, type DiskLayout, type ReadOnlyFileSystem, type Volume } from '@xenkit/disk';

/** Where a kernel inside a disk image was found. */
export interface ImageKernelSource {
  image: string;
  /** Image format as openDisk detected it (raw, qcow2, vhd). */
  format: string;
  /** Volume id as probeDisk names it ("disk", "p1", "lv:vg/root"). */
  volume: string;
  filesystem: string;
  /** The path asked for, and the path read inside that filesystem (differs for a separate /boot). */
  requested: string;
  path: string;
  /** The file after every symlink was followed inside the image. */
  realPath: string;
}

/** A filesystem inside an image that holds the requested path; `close()` releases it and the image. */
export interface LocatedFile {
  fs: ReadOnlyFileSystem;
  source: ImageKernelSource;
  close(): Promise<void>;
}

export interface LocateOptions {
  /** probeDisk's volume id; without it the one ext/xfs volume holding the path is used. */
  volume?: string;
  logger?: Logger;
}

const EXT_TYPES = new Set(['ext2', 'ext3', 'ext4', 'ext4dev']);
/** Filesystems a kernel can be read from: ext2/3/4 through libext2fs and xfs (CentOS/RHEL 7+ /boot). */
const READABLE = new Set([...EXT_TYPES, 'xfs']);

function openReadable(disk: Disk, volume: Volume, description: string, logger: Logger): Promise<ReadOnlyFileSystem> {
  return volume.filesystem?.type === 'xfs'
    ? openXfsFileSystem(disk, volume, { description })
    : openExtFileSystem(disk, volume, { description, logger });
}

/**
 * Open the filesystem inside `image` that holds `path`. A separate /boot filesystem is mounted at /boot, so
 * "/boot/vmlinuz-…" is looked for as "/vmlinuz-…" on volumes where the full path is absent. More than one
 * candidate, or none, is an error naming the volumes, never a guess.
 */
export async function locateFileInImage(image: string, path: string, options: LocateOptions = {}): Promise<LocatedFile> {
  if (!path.startsWith('/')) {
    throw new UsageError('E_KERNEL_IMAGE_PATH', `--path ${path} must be an absolute path inside the image (e.g. /boot/vmlinuz-6.1.0-13-amd64)`, { details: { path } });
  }
  const logger = options.logger ?? silentLogger;
  const disk = await openDisk(image, { logger });
  const open: ReadOnlyFileSystem[] = [];
  const closeAll = async (): Promise<void> => {
    for (const fs of open.splice(0)) await fs.close();
    await disk.close();
  };
  try {
    const layout = await probeDisk(disk, { path: image });
    const ext = layout.volumes.filter((v) => READABLE.has(v.filesystem?.type ?? ''));
    let candidates: Volume[];
    if (options.volume !== undefined) {
      const chosen = layout.volumes.find((v) => v.id === options.volume);
      if (!chosen) {
        throw new UsageError('E_KERNEL_IMAGE_VOLUME', `${image} has no volume "${options.volume}" (volumes: ${describe(layout.volumes)})`, {
          details: { image, volume: options.volume, volumes: layout.volumes.map((v) => v.id) },
        });
      }
      if (!READABLE.has(chosen.filesystem?.type ?? '')) {
        throw new InputError('E_KERNEL_IMAGE_FS', `${image} (${chosen.id}) holds ${chosen.filesystem?.type ?? 'no filesystem'}, not ext2/3/4 or xfs; xenkit reads kernels from those filesystems (readable volumes: ${describe(ext) || 'none'})`, {
          details: { image, volume: chosen.id, filesystem: chosen.filesystem?.type ?? null },
        });
      }
      candidates = [chosen];
    } else {
      candidates = ext;
      if (ext.length === 0) {
        throw new InputError('E_KERNEL_IMAGE_NO_EXT', `${image} has no ext2/3/4 or xfs filesystem to read ${path} from (volumes: ${describe(layout.volumes) || 'none'})`, {
          details: { image, volumes: layout.volumes.map((v) => v.id) },
        });
      }
    }
    const hits = await search(disk, candidates, path, image, open, logger);
    if (hits.length === 1) {
      const hit = hits[0] as Hit;
      for (const fs of open) if (fs !== hit.fs) await fs.close();
      open.length = 0;
      open.push(hit.fs);
      const source: ImageKernelSource = {
        image, format: disk.chain[0]?.format ?? disk.format, volume: hit.volume.id, filesystem: hit.volume.filesystem?.type ?? 'ext',
        requested: path, path: hit.path, realPath: await hit.fs.realpath(hit.path),
      };
      return { fs: hit.fs, source, close: closeAll };
    }
    if (hits.length === 0) {
      const where = options.volume !== undefined ? `volume ${options.volume}` : `any ext/xfs volume (${describe(candidates)})`;
      throw new InputError('E_KERNEL_NOT_IN_IMAGE', `${image}: ${path} is not a file on ${where}`, {
        details: { image, path, volumes: candidates.map((v) => v.id) },
      });
    }
    const list = hits.map((h) => `${h.volume.id}:${h.path}`).join(', ');
    throw new UsageError('E_KERNEL_IMAGE_AMBIGUOUS', `${image}: ${path} exists on more than one volume (${list}); choose one with --volume`, {
      details: { image, path, candidates: hits.map((h) => ({ volume: h.volume.id, path: h.path })) },
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
}

interface Hit {
  volume: Volume;
  fs: ReadOnlyFileSystem;
  path: string;
}

async function search(disk: Disk, volumes: Volume[], path: string, image: string, open: ReadOnlyFileSystem[], logger: Logger): Promise<Hit[]> {
  const systems: Array<{ volume: Volume; fs: ReadOnlyFileSystem }> = [];
  for (const volume of volumes) {
    try {
      const fs = await openReadable(disk, volume, `${volume.filesystem?.type ?? 'ext'} on ${image} (${volume.id})`, logger);
      open.push(fs);
      systems.push({ volume, fs });
    } catch (error) {
      // One unreadable volume must not hide the kernel on another; a volume named with --volume must open.
      if (volumes.length === 1 || !(error instanceof XenkitError)) throw error;
      logger.debug({ volume: volume.id, err: error.message }, 'skipping a volume that does not open');
    }
  }
  const isFile = async (fs: ReadOnlyFileSystem, p: string): Promise<boolean> => (await fs.exists(p)) && (await fs.stat(p)).type === 'file';
  const exact: Hit[] = [];
  for (const s of systems) if (await isFile(s.fs, path)) exact.push({ ...s, path });
  if (exact.length > 0 || !path.startsWith('/boot/')) return exact;
  const inBoot = path.slice('/boot'.length);
  const boot: Hit[] = [];
  for (const s of systems) if (await isFile(s.fs, inBoot)) boot.push({ ...s, path: inBoot });
  return boot;
}

function describe(volumes: Volume[]): string {
  return volumes.map((v) => `${v.id}${v.filesystem ? ` ${v.filesystem.type}` : ''}`).join(', ');
}

/**
 * When a host file is not a kernel, is it a disk image? Answers from cheap evidence only: a non-raw image
 * format, or a partition table or filesystem found by probeDisk. Null when it looks like neither.
 */
export async function diskImageKind(path: string): Promise<string | null> {
  let disk: Disk;
  try {
    disk = await openDisk(path);
  } catch (error) {
    // A corrupt qcow2/VHD header or a broken backing chain is still an image, not a kernel.
    if (!(error instanceof XenkitError)) return null;
    if (error.code.startsWith('E_QCOW2_')) return `qcow2 image that does not open: ${error.code}`;
    if (error.code.startsWith('E_VHD_')) return `VHD image that does not open: ${error.code}`;
    if (/^E_DISK_(BACKING|CHAIN)_/.test(error.code)) return `image whose backing chain does not open: ${error.code}`;
    return null;
  }
  try {
    const format = disk.chain[0]?.format ?? 'raw';
    let layout: DiskLayout | null = null;
    try {
      layout = await probeDisk(disk, { path });
    } catch {
      layout = null;
    }
    const parts: string[] = [];
    if (format !== 'raw') parts.push(`${format} image`);
    if (layout && layout.table.scheme !== 'none') parts.push(`${layout.table.scheme.toUpperCase()} partition table`);
    const fs = layout?.volumes.filter((v) => v.filesystem && v.filesystem.type !== 'unknown').map((v) => `${v.filesystem?.type} on ${v.id}`) ?? [];
    if (fs.length > 0) parts.push(fs.join(', '));
    return parts.length > 0 ? parts.join(' with ') : null;
  } finally {
    await disk.close();
  }
}

/** The first bytes of a host file (to tell a kernel from a disk image before reading it whole). */
export async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = new Uint8Array(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
