import { KernelError } from '../errors.js';
import type { KernelImage } from '../image.js';
import { checkLegacyMagic, legacyWord, lz4BlockSize, lz4LegacyBlocks, lz4Resume } from './lz4.js';

/**
 * Random access into an LZ4 legacy payload. Its blocks are independent, so the ELF reader's few ranges
 * (header, program headers, the note segment 20+ MiB in) are served by decoding only the blocks that hold
 * them, each only as far as needed; the blocks in between are sized from their sequence headers, never
 * decoded. This is what puts xenkit near `lz4 -d | readnotes` on a real kernel.
 */
interface Block {
  /** The compressed bytes the block lies in: the whole payload in memory, or the block as read. */
  src: Uint8Array;
  /** Payload offset of the block's size word, for messages. */
  at4: number;
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
  private readonly source: PayloadReader | null;
  private readonly blocks: Block[] = [];
  private produced = 0;
  /** Where the next size word is, or null once the stream's end is known. */
  private next: number | null = 4;
  /** The size word at `next`, when it was read along with the block before it. */
  private peeked: number | null = null;
  private loaded = 0;

  /**
   * `source` is the whole payload in memory, or a reader over the kernel file: then each block is read
   * when first needed, as its own buffer, and only the blocks up to the last one the ELF reader asks for
   * are ever read (on a Debian kernel about two thirds of the file).
   */
  constructor(source: Uint8Array | PayloadReader, readonly limit: number, private readonly label: string) {
    if (source instanceof Uint8Array) {
      this.source = null;
      this.next = null;
      this.loaded = source.length;
      for (const b of lz4LegacyBlocks(source, label)) this.blocks.push({ ...b, src: source, at4: b.start - 4, offset: null, size: null, out: null, at: { ip: b.start, op: 0 } });
      if (this.blocks[0]) this.blocks[0].offset = 0;
    } else {
      this.source = source;
    }
  }

  /** Payload bytes read from the file so far. */
  get bytesLoaded(): number {
    return this.loaded;
  }

  private async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = await (this.source as PayloadReader).read(offset, length);
    if (bytes.length !== length) {
      throw new KernelError('E_KERNEL_TRUNCATED', `${this.label}: the kernel file ended while reading its LZ4 payload`, { offset });
    }
    this.loaded += length;
    return bytes;
  }

  /** Find the next block of a payload read from the file: its size word, then its bytes. */
  private async discover(): Promise<void> {
    const source = this.source as PayloadReader;
    const length = source.length;
    if (this.blocks.length === 0 && this.next === 4) checkLegacyMagic(await this.read(0, Math.min(4, length)), this.label);
    while (this.next !== null) {
      const pos = this.next;
      if (pos + 4 > length) {
        this.next = null;
        return;
      }
      let value = this.peeked;
      if (value === null) {
        const w = await this.read(pos, 4);
        value = new DataView(w.buffer, w.byteOffset, 4).getUint32(0, true);
      }
      this.peeked = null;
      const word = legacyWord(value, pos, length);
      if (word.kind === 'end') {
        this.next = null;
        return;
      }
      if (word.kind === 'magic') {
        this.next = pos + 4;
        continue;
      }
      const size = Math.min(word.size, length - pos - 4);
      // The next size word comes with the block: one read per block.
      const withNext = !word.cut && pos + 8 + size <= length;
      const bytes = await this.read(pos + 4, size + (withNext ? 4 : 0));
      const src = bytes.subarray(0, size);
      if (withNext) this.peeked = new DataView(bytes.buffer, bytes.byteOffset + size, 4).getUint32(0, true);
      this.blocks.push({ src, at4: pos, start: 0, end: size, cut: word.cut, offset: this.blocks.length === 0 ? 0 : null, size: null, out: null, at: { ip: 0, op: 0 } });
      this.next = word.cut ? null : pos + 4 + size;
      return;
    }
  }

  /** Block `i`, read in full, or null when the payload has fewer blocks. */
  private async block(i: number): Promise<Block | null> {
    while (i >= this.blocks.length && this.next !== null) await this.discover();
    return this.blocks[i] ?? null;
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
    throw new KernelError('E_KERNEL_TRUNCATED', `${this.label}: LZ4 block at byte ${b.at4} runs past the end of the payload (truncated)`, { offset: b.at4 });
  }

  private sizeOf(b: Block): number {
    if (b.cut) this.truncated(b);
    if (b.size === null) {
      // A fully decoded block knows its size; otherwise read it off the sequence headers.
      b.size = b.out && b.at.ip >= b.end ? b.at.op : lz4BlockSize(b.src, b.start, b.end, this.label);
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
    // Exactly the block's size, known from its sequence headers: a block may hold far less than the
    // 8 MiB maximum, and a payload of thousands of 1-byte blocks must not cost 8 MiB apiece.
    b.out ??= new Uint8Array(this.sizeOf(b));
    const before = b.at.op;
    // Decode a little past the request so neighbouring reads do not resume for a few bytes each.
    lz4Resume(b.src, b.start, b.end, b.out, this.label, b.at, Math.min(b.out.length, upTo + (64 << 10)));
    this.produced += b.at.op - before;
    if (b.at.ip >= b.end) b.size = b.at.op;
    return b.out.subarray(0, b.at.op);
  }

  async range(start: number, end: number): Promise<Uint8Array | null> {
    if (end > this.limit) {
      throw new KernelError('E_KERNEL_OUTPUT_LIMIT', `${this.label}: bytes ${start}..${end} lie beyond the ${this.limit}-byte decompression limit`, { start, end });
    }
    // An empty or reversed range (end computed from a damaged header) holds no bytes; without this
    // the join below would allocate a negative length and throw an uncoded RangeError.
    if (!(end > start)) return new Uint8Array(0);
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
