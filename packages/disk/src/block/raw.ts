import { open, type FileHandle } from 'node:fs/promises';
import { toXenkitError } from '@xenkit/core';
import { DiskError } from './errors.js';
import type { BlockSource, Extent } from './types.js';

/** A raw image (regular file) or block device. Its virtual disk is the file's bytes. */
export class RawSource implements BlockSource {
  readonly format: string = 'raw';
  bytesRead = 0;

  protected constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RawSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw toXenkitError(e, { path });
    }
    try {
      const st = await handle.stat();
      let size = st.size;
      if (st.isBlockDevice()) size = await blockDeviceSize(handle);
      else if (!st.isFile()) {
        throw new DiskError('E_DISK_NOT_A_FILE', `${path}: not a regular file or block device`, { path });
      }
      return new RawSource(path, handle, size);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break; // file shrank under us: the rest reads as zeros
      done += bytesRead;
    }
    this.bytesRead += done;
    return buf;
  }

  /** Reads host bytes at a file offset (format parsers use this for headers and tables). */
  async readHost(offset: number, length: number): Promise<Uint8Array> {
    return this.read(offset, length);
  }

  async extents(): Promise<Extent[]> {
    // A raw file cannot tell data from holes portably from Node; report it all as data.
    return this.size > 0 ? [{ offset: 0, length: this.size, kind: 'data' }] : [];
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

// Block devices report size 0 in stat; the end offset is their size.
export async function blockDeviceSize(handle: FileHandle): Promise<number> {
  const probe = Buffer.alloc(1);
  let lo = 0;
  let hi = 2 ** 50;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const { bytesRead } = await handle.read(probe, 0, 1, mid - 1);
    if (bytesRead === 1) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function checkRange(path: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new DiskError('E_DISK_OUT_OF_RANGE', `${path}: read of ${length} bytes at ${offset} is outside the ${size}-byte disk`, {
      path,
      offset,
      length,
      size,
    });
  }
}
