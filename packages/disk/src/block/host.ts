import { constants, readSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { toXenkitError } from '@xenkit/core';
import { DiskError } from './errors.js';
import { blockDeviceSize } from './raw.js';

/**
 * One host file of an image chain, opened read-only. Format parsers read headers, tables and data
 * through it so that every host byte is counted and every structure that points past EOF is caught
 * in one place.
 */
export class HostFile {
  bytesRead = 0;

  private constructor(
    readonly path: string,
    readonly realPath: string,
    /** device:inode — the same file under any name (symlink or hard link), for loop detection. */
    readonly identity: string,
    private readonly handle: FileHandle,
    readonly size: number,
    /** Blocking reads (OpenDiskOptions.syncReads). */
    private readonly sync = false,
  ) {}

  static async open(path: string, options: { sync?: boolean } = {}): Promise<HostFile> {
    if (path.includes('\0')) throw new DiskError('E_DISK_BAD_PATH', `image path ${JSON.stringify(path)} contains a NUL byte`, { path });
    let handle: FileHandle;
    let real: string;
    try {
      real = await realpath(path);
      // O_NONBLOCK: a backing name pointing at a FIFO must not hang the open; it is refused below.
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw toXenkitError(e, { path });
    }
    try {
      const st = await handle.stat();
      const id = `${st.dev}:${st.ino}`;
      const sync = options.sync ?? false;
      if (st.isBlockDevice()) return new HostFile(path, real, id, handle, await blockDeviceSize(handle), sync);
      if (!st.isFile()) {
        throw new DiskError('E_DISK_NOT_A_FILE', `${path}: not a regular file or block device`, { path });
      }
      return new HostFile(path, real, id, handle, st.size, sync);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /**
   * Read exactly `length` bytes at `offset`. A structure that does not fit in the file is corrupt:
   * `what` names it in the error (E_DISK_PAST_EOF), so the user learns which table is broken.
   */
  async readAt(offset: number, length: number, what: string): Promise<Buffer> {
    this.checkInside(offset, length, what);
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(buf, 0, length, offset);
    return buf;
  }

  /** Read into `buf` at `bufOffset`; the range must already be known to lie inside the file. */
  async readInto(buf: Uint8Array, bufOffset: number, length: number, offset: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const bytesRead = this.sync
        ? readSync(this.handle.fd, buf, bufOffset + done, length - done, offset + done)
        : (await this.handle.read(buf, bufOffset + done, length - done, offset + done)).bytesRead;
      if (bytesRead === 0) {
        throw new DiskError('E_DISK_TRUNCATED', `${this.path}: file ended at ${offset + done} while reading`, {
          path: this.path,
          offset: offset + done,
        });
      }
      done += bytesRead;
    }
    this.bytesRead += done;
  }

  /** Read up to `length` bytes at `offset`, stopping at EOF (compressed clusters may end there). */
  async readUpTo(offset: number, length: number, what: string): Promise<Buffer> {
    this.checkInside(offset, 0, what);
    return this.readAt(offset, Math.min(length, this.size - offset), what);
  }

  checkInside(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new DiskError(
        'E_DISK_PAST_EOF',
        `${this.path}: ${what} at offset ${offset} (+${length} bytes) lies outside the ${this.size}-byte file — the image is truncated or corrupt`,
        { path: this.path, what, offset, length, fileSize: this.size },
      );
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
