import type { HostFile } from './host.js';
import { checkRange } from './raw.js';
import type { BlockSource, Extent } from './types.js';

/** A raw layer of a chain, reading through the HostFile that format detection already opened. */
export class RawLayer implements BlockSource {
  readonly format = 'raw';
  readonly size: number;

  constructor(private readonly file: HostFile) {
    this.size = file.size;
  }

  get path(): string {
    return this.file.path;
  }

  get bytesRead(): number {
    return this.file.bytesRead;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.file.path, offset, length, this.size);
    const out = Buffer.alloc(length);
    if (length > 0) await this.file.readInto(out, 0, length, offset);
    return out;
  }

  async extents(): Promise<Extent[]> {
    // Node cannot ask for SEEK_HOLE, so a raw file is all data (qemu-img map agrees on dense files).
    return this.size > 0 ? [{ offset: 0, length: this.size, kind: 'data' }] : [];
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
