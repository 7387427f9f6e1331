import { silentLogger, type Logger } from '@xenkit/core';
import { openDisk, type ChainLayer } from '../block/open.js';
import { probeDisk, type DiskLayout } from './probe-disk.js';

/** Everything `xenkit disk IMAGE` reports: the container, its layout and what reading it cost. */
export interface DiskReport {
  path: string;
  format: string;
  /** Backing chain, top image first (one entry for a standalone image). */
  chain: ChainLayer[];
  virtualSize: number;
  /** Bytes of the virtual disk that hold data (allocated here or in a backing layer). */
  allocatedSize: number;
  /** Host bytes of the image files in the chain. */
  fileSize: number;
  layout: DiskLayout;
  /** Bytes read from the image files in total (layout probe plus the allocation map). */
  bytesRead: number;
}

/** Open an image of any supported format, probe its layout and measure its allocation. */
export async function inspectDisk(path: string, options: { logger?: Logger; confineBackingTo?: string } = {}): Promise<DiskReport> {
  const logger = options.logger ?? silentLogger;
  const disk = await openDisk(path, { logger, confineBackingTo: options.confineBackingTo });
  try {
    const layout = await probeDisk(disk, { path });
    const extents = await disk.extents();
    const allocatedSize = extents.filter((e) => e.kind === 'data').reduce((t, e) => t + e.length, 0);
    logger.debug({ path, probeBytes: layout.bytesRead, totalBytes: disk.bytesRead }, 'disk inspected');
    return {
      path,
      format: disk.format,
      chain: disk.chain,
      virtualSize: disk.size,
      allocatedSize,
      fileSize: disk.chain.reduce((t, l) => t + l.fileSize, 0),
      layout,
      bytesRead: disk.bytesRead,
    };
  } finally {
    await disk.close();
  }
}
