import { checkRange } from './raw.js';
import type { BlockSource, Extent } from './types.js';

/** An in-memory disk, for tests and for callers that already hold the bytes. */
export class BufferSource implements BlockSource {
  readonly format = 'buffer';
  bytesRead = 0;
  readonly size: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly path = '<buffer>',
  ) {
    this.size = bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    this.bytesRead += length;
    return this.bytes.slice(offset, offset + length);
  }

  async extents(): Promise<Extent[]> {
    return this.size > 0 ? [{ offset: 0, length: this.size, kind: 'data' }] : [];
  }

  async close(): Promise<void> {}
}
