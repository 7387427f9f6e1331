import { KernelError } from '../errors.js';
import type { KernelImage } from '../image.js';
import { LZ4_BLOCK_MAX, lz4BlockSize, lz4LegacyBlocks, lz4Resume } from './lz4.js';

/**
 * Random access into an LZ4 legacy payload. Its blocks are independent, so the ELF reader's few ranges
 * (header, program headers, the note segment 20+ MiB in) are served by decoding only the blocks that hold
 * them, each only as far as needed; the blocks in between are sized from their sequence headers, never
 * decoded. This is what puts xenkit near `lz4 -d | readnotes` on a real kernel.
 */
interface Block {
  start: number;
  end: number;
  cut: boolean;
  /** Uncompressed offset of the block; known once every earlier block has been sized. */
  offset: number | null;
  size: number | null;
  out: Uint8Array | null;
  at: { ip: number; op: number };
}

/** The payload's bytes, read from the kernel file on demand. */
export interface PayloadReader {
  readonly length: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export class Lz4SeekableImage implements KernelImage {
  private readonly source: PayloadReader;
  private blocks: Block[] = [];
  private produced = 0;
  /** The payload read so far: always a prefix, since sizing block N needs blocks 0..N-1 read. */
  private payload: Uint8Array = new Uint8Array(0);
  private loaded = 0;

  /**
   * `source` is the whole payload in memory, or a reader over the kernel file: then only the blocks up
   * to the last one the ELF reader asks for are ever read (on a Debian kernel about half the file).
   */
  constructor(source: Uint8Array | PayloadReader, readonly limit: number, private readonly label: string) {
    if (source instanceof Uint8Array) {
      this.payload = source;
      this.loaded = source.length;
      this.source = { length: source.length, read: async () => new Uint8Array(0) };
      this.index();
    } else {
      this.source = source;
    }
  }

  /** Re-walk the block headers over what is loaded; blocks already known keep their decoding state. */
  private index(): void {
    const walked = lz4LegacyBlocks(this.payload.subarray(0, this.loaded), this.label);
    this.blocks = walked.map((b, i) => {
      const known = this.blocks[i];
      if (known && !known.cut && known.start === b.start) return known;
      return { ...b, offset: i === 0 ? 0 : null, size: null, out: null, at: { ip: b.start, op: 0 } };
    });
  }

  /** Read more of the payload: through the end of the last block seen, and the header after it. */
  private async grow(): Promise<void> {
    const last = this.blocks[this.blocks.length - 1];
    let want = 12;
    if (last?.cut) {
      const at = last.start - 4;
      want = last.start + new DataView(this.payload.buffer, this.payload.byteOffset + at, 4).getUint32(0, true) + 8;
    } else if (last) {
      want = last.end + 8;
    }
    const target = Math.min(this.source.length, Math.max(want, this.loaded + (64 << 10)));
    const chunk = await this.source.read(this.loaded, target - this.loaded);
    if (chunk.length !== target - this.loaded) {
      throw new KernelError('E_KERNEL_TRUNCATED', `${this.label}: the kernel file ended while reading its LZ4 payload`, { offset: this.loaded });
    }
    // One buffer for the whole payload (bounded by the file's size): regrowing would copy the prefix
    // each time, and pages never written are never touched.
    if (this.payload.length < this.source.length) {
      const whole = new Uint8Array(this.source.length);
      whole.set(this.payload.subarray(0, this.loaded));
      this.payload = whole;
    }
    this.payload.set(chunk, this.loaded);
    this.loaded = target;
    this.index();
  }

  /** Block `i`, read in full, or null when the payload has fewer blocks. */
  private async block(i: number): Promise<Block | null> {
    while ((i >= this.blocks.length || (this.blocks[i] as Block).cut) && this.loaded < this.source.length) await this.grow();
    return this.blocks[i] ?? null;
  }

  /** Payload bytes read from the file so far. */
  get bytesLoaded(): number {
    return this.loaded;
  }

  get complete(): boolean {
    return false;
  }

  get length(): number {
    return this.produced;
  }

  get prefix(): Uint8Array {
    const first = this.blocks[0];
    return first?.out ? first.out.subarray(0, first.at.op) : new Uint8Array(0);
  }

  async close(): Promise<void> {
    for (const b of this.blocks) b.out = null;
  }

  private truncated(b: Block): never {
    throw new KernelError('E_KERNEL_TRUNCATED', `${this.label}: LZ4 block at byte ${b.start - 4} runs past the end of the payload (truncated)`, { offset: b.start - 4 });
  }

  private sizeOf(b: Block): number {
    if (b.cut) this.truncated(b);
    if (b.size === null) {
      // A fully decoded block knows its size; otherwise read it off the sequence headers.
      b.size = b.out && b.at.ip >= b.end ? b.at.op : lz4BlockSize(this.payload, b.start, b.end, this.label);
    }
    return b.size;
  }

  private offsetOf(i: number): number {
    const b = this.blocks[i] as Block;
    if (b.offset === null) {
      const prev = this.blocks[i - 1] as Block;
      b.offset = this.offsetOf(i - 1) + this.sizeOf(prev);
    }
    return b.offset;
  }

  /** Decode block `i` until it holds `upTo` bytes (or ends); returns its bytes so far. */
  private decode(i: number, upTo: number): Uint8Array {
    const b = this.blocks[i] as Block;
    if (b.cut) this.truncated(b);
    b.out ??= new Uint8Array(LZ4_BLOCK_MAX);
    const before = b.at.op;
    // Decode a little past the request so neighbouring reads do not resume for a few bytes each.
    lz4Resume(this.payload, b.start, b.end, b.out, this.label, b.at, Math.min(LZ4_BLOCK_MAX, upTo + (64 << 10)));
    this.produced += b.at.op - before;
    if (b.at.ip >= b.end) b.size = b.at.op;
    return b.out.subarray(0, b.at.op);
  }

  async range(start: number, end: number): Promise<Uint8Array | null> {
    if (end > this.limit) {
      throw new KernelError('E_KERNEL_OUTPUT_LIMIT', `${this.label}: bytes ${start}..${end} lie beyond the ${this.limit}-byte decompression limit`, { start, end });
    }
    const parts: Uint8Array[] = [];
    let at = start;
    for (let i = 0; at < end; i++) {
      const block = await this.block(i);
      if (!block) break;
      const offset = this.offsetOf(i);
      const size = this.sizeOf(block);
      if (at >= offset + size) continue;
      const from = at - offset;
      const to = Math.min(end, offset + size) - offset;
      const bytes = this.decode(i, to);
      if (bytes.length < to) return null;
      parts.push(bytes.subarray(from, to));
      at = offset + to;
    }
    if (at < end) return null;
    if (parts.length === 1) return parts[0] as Uint8Array;
    const joined = new Uint8Array(end - start);
    let p = 0;
    for (const part of parts) {
      joined.set(part, p);
      p += part.length;
    }
    return joined;
  }
}
