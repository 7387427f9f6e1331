import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { UsageError, silentLogger, type Logger } from '@xenkit/core';
import { Qcow2Source } from '../formats/qcow2/source.js';
import type { Qcow2Header } from '../formats/qcow2/header.js';
import { firstExisting, type VhdMeta } from '../formats/vhd/meta.js';
import { VhdSource } from '../formats/vhd/source.js';
import { DiskError } from './errors.js';
import { detectFormat, inspect, type ImageFormat } from './header.js';
import { HostFile } from './host.js';
import { RawLayer } from './raw-layer.js';
import type { BlockSource, Extent } from './types.js';

export const DEFAULT_MAX_CHAIN_DEPTH = 16;

/** One image file of a chain, as openDisk found it. */
export interface ChainLayer {
  path: string;
  format: ImageFormat;
  virtualSize: number;
  fileSize: number;
  backingFile: string | null;
  backingFormat: string | null;
}

/** An opened image: its virtual disk (the whole chain merged) and the chain itself, top to base. */
export interface Disk extends BlockSource {
  readonly path: string;
  readonly chain: ChainLayer[];
}

export interface OpenDiskOptions {
  logger?: Logger;
  /** Most layers a backing chain may have, the top included (default 16). */
  maxChainDepth?: number;
  /**
   * Refuse backing files (qcow2 backing names, VHD parent locators) that resolve — symlinks followed —
   * outside this directory, with E_DISK_BACKING_OUTSIDE. An untrusted image can name any host file as its
   * backing file, and the report would then describe it. Off by default, as in qemu.
   */
  confineBackingTo?: string;
  /**
   * Read the image files with blocking reads. A one-shot reader (the CLI's check and inspect) makes a
   * few hundred small reads, each otherwise a thread-pool round trip with the event loop idle in
   * between; a server that must stay responsive while reading leaves this off (the default).
   */
  syncReads?: boolean;
}

class ImageDisk implements Disk {
  constructor(
    private readonly top: BlockSource,
    readonly path: string,
    readonly chain: ChainLayer[],
  ) {}
  get format(): string {
    return this.top.format;
  }
  get size(): number {
    return this.top.size;
  }
  get bytesRead(): number {
    return this.top.bytesRead;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return this.top.read(offset, length);
  }
  extents(): Promise<Extent[]> {
    return this.top.extents();
  }
  close(): Promise<void> {
    return this.top.close();
  }
}

/**
 * Open a disk image for reading: detect its format by magic (qcow2 magic, a VHD footer at EOF,
 * otherwise raw), then open its backing chain, bounded in depth and refusing loops (the same
 * device:inode twice, so symlinks and hard links cannot hide one).
 */
export async function openDisk(path: string, options: OpenDiskOptions = {}): Promise<Disk> {
  const logger = options.logger ?? silentLogger;
  const maxDepth = options.maxChainDepth ?? DEFAULT_MAX_CHAIN_DEPTH;
  const chain: ChainLayer[] = [];
  const seen = new Map<string, string>();
  const confine = options.confineBackingTo === undefined ? null : await confineRoot(options.confineBackingTo);
  const top = await openLayer(path, null, null, { logger, maxDepth, chain, seen, topPath: path, confine, sync: options.syncReads ?? false });
  return new ImageDisk(top, path, chain);
}

interface Walk {
  logger: Logger;
  maxDepth: number;
  chain: ChainLayer[];
  seen: Map<string, string>;
  topPath: string;
  /** Real path of the directory backing files must stay in, or null for anywhere. */
  confine: string | null;
  sync: boolean;
}

async function confineRoot(dir: string): Promise<string> {
  try {
    return await realpath(resolve(dir));
  } catch (e) {
    throw new UsageError('E_DISK_CONFINE_DIR', `backing-file directory ${dir} cannot be used: ${(e as Error).message}`, {
      details: { dir },
    });
  }
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real path of a backing file, or an E_DISK_BACKING_OUTSIDE error. The name is checked before it is
 * touched (so an outside name reveals nothing about the host), then again with symlinks resolved.
 */
async function confined(path: string, child: string, root: string): Promise<string> {
  const outside = (): DiskError =>
    new DiskError('E_DISK_BACKING_OUTSIDE', `${child}: backing file ${path} is outside ${root}, the only directory backing files may come from`, {
      path: child,
      backingPath: path,
      confineTo: root,
    });
  if (!inside(root, resolve(path))) throw outside();
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new DiskError('E_DISK_BACKING_NOT_FOUND', `${child}: backing file ${path} not found`, { path: child, backingPath: path });
  }
  if (!inside(root, real)) throw outside();
  return real;
}

async function openLayer(path: string, declared: string | null, parentUuid: string | null, w: Walk): Promise<BlockSource> {
  if (w.chain.length >= w.maxDepth) {
    throw new DiskError('E_DISK_CHAIN_TOO_DEEP', `${w.topPath}: backing chain is deeper than ${w.maxDepth} layers (at ${path})`, {
      path: w.topPath,
      layer: path,
      maxDepth: w.maxDepth,
    });
  }
  const file = await HostFile.open(path, { sync: w.sync });
  let handedOver = false;
  try {
    const prior = w.seen.get(file.identity);
    if (prior !== undefined) {
      throw new DiskError('E_DISK_BACKING_LOOP', `${w.topPath}: backing chain loops: ${path} is the same file as ${prior}`, {
        path: w.topPath,
        layer: path,
        sameAs: prior,
      });
    }
    w.seen.set(file.identity, path);
    const format = declared === null ? await detectFormat(file) : checkDeclared(declared, path, w.topPath);
    const { header: h, qcow2, vhd } = await inspect(file, format);
    w.chain.push({ path, format, virtualSize: h.virtualSize, fileSize: file.size, backingFile: h.backingFile, backingFormat: h.backingFormat });
    w.logger.debug({ path, format, virtualSize: h.virtualSize, backingFile: h.backingFile }, 'opened image layer');

    if (format === 'raw') {
      handedOver = true;
      return new RawLayer(file);
    }
    if (format === 'qcow2') {
      const header = qcow2 as Qcow2Header;
      const backing = h.backingPath === null ? null : await openBacking(h.backingPath, h.backingFormat, null, path, w);
      try {
        const src = await Qcow2Source.open(file, header, backing, w.logger);
        handedOver = true;
        return src;
      } catch (e) {
        await backing?.close();
        throw e;
      }
    }
    const meta = vhd as VhdMeta;
    let backing: BlockSource | null = null;
    if (meta.header !== null && meta.parentCandidates.length > 0) {
      const parent = await firstExisting(meta.parentCandidates);
      if (parent === null) {
        throw new DiskError('E_DISK_BACKING_NOT_FOUND', `${path}: parent VHD not found (looked for ${meta.parentCandidates.join(', ')})`, {
          path,
          candidates: meta.parentCandidates,
        });
      }
      backing = await openBacking(parent, 'vhd', meta.header.parentUuid, path, w);
    }
    try {
      const src = await VhdSource.open(file, meta, backing);
      if (parentUuid !== null && src.uuid !== parentUuid) {
        throw new DiskError('E_VHD_PARENT_MISMATCH', `${path}: its UUID ${src.uuid} is not the parent UUID ${parentUuid} its child expects`, {
          path,
          uuid: src.uuid,
          expected: parentUuid,
        });
      }
      handedOver = true;
      return src;
    } catch (e) {
      await backing?.close();
      throw e;
    }
  } finally {
    if (!handedOver) await file.close();
  }
}

async function openBacking(path: string, format: string | null, parentUuid: string | null, child: string, w: Walk): Promise<BlockSource> {
  // Confined, the layer is opened by its real path, so a symlink swapped in after the check cannot lead out.
  const target = w.confine === null ? path : await confined(path, child, w.confine);
  try {
    return await openLayer(target, format, parentUuid, w);
  } catch (e) {
    if ((e as { code?: string }).code === 'E_NOT_FOUND') {
      throw new DiskError('E_DISK_BACKING_NOT_FOUND', `${child}: backing file ${path} not found`, { path: child, backingPath: path });
    }
    throw e;
  }
}

/** A declared backing format is honoured (never re-probed: a raw file that looks like qcow2 stays raw). */
function checkDeclared(declared: string, path: string, top: string): ImageFormat {
  if (declared === 'raw' || declared === 'qcow2' || declared === 'vhd') return declared;
  throw new DiskError('E_DISK_UNSUPPORTED_FORMAT', `${top}: backing file ${path} has format "${declared}", which is not supported`, {
    path: top,
    layer: path,
    format: declared,
  });
}
