/**
 * A random-access, read-only view of a virtual disk's contents. Every image format (raw, qcow2, VHD,
 * a backing chain) is exposed as one of these, and everything above it — partition tables, LVM,
 * filesystems — reads only through this interface.
 */
export interface BlockSource {
  /** Format of this layer: 'raw' | 'qcow2' | 'vhd' | 'buffer' | … */
  readonly format: string;
  /** Virtual size in bytes (what the guest sees). */
  readonly size: number;
  /**
   * Read `length` bytes at `offset` of the virtual disk. Ranges past `size` are an error
   * (E_DISK_OUT_OF_RANGE); unallocated ranges read as zeros (or from the backing image).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Which ranges of the virtual disk hold data and which read as zeros, in order, covering [0, size).
   * Formats that cannot tell report one data extent for the whole disk.
   */
  extents(): Promise<Extent[]>;
  /** Bytes this source (and its backing chain) has read from host files so far. */
  readonly bytesRead: number;
  close(): Promise<void>;
}

export interface Extent {
  offset: number;
  length: number;
  /** 'data': allocated here or in a backing layer; 'zero': reads as zeros. */
  kind: 'data' | 'zero';
}

/** The image path of a source that has one (every source in this package), for messages. */
export function sourcePath(source: BlockSource): string {
  return (source as { path?: string }).path ?? `<${source.format} disk>`;
}
