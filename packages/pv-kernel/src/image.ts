import { KernelError } from './errors.js';

/** A decoder yields the decompressed bytes in order; chunks may be reused once the next one is asked for. */
export type ChunkSource = Iterator<Uint8Array> | AsyncIterator<Uint8Array>;

/**
 * The unwrapped kernel as the ELF reader sees it: byte ranges on demand. `range` returns null when the image
 * ends before `end`; callers check `end` against `limit` first.
 */
export interface KernelImage {
  readonly limit: number;
  /** True when the image size is known (uncompressed, or the decoder has finished). */
  readonly complete: boolean;
  /** Decompressed bytes produced so far (reported as decompressedBytes). */
  readonly length: number;
  range(start: number, end: number): Promise<Uint8Array | null>;
  /** What has been decompressed contiguously from offset 0 (for the linux_banner search). */
  readonly prefix: Uint8Array;
  close(): Promise<void>;
}

/**
 * The unwrapped kernel as far as it has been decompressed. Parsers ask for `ensure(end)` before reading
 * `bytes[0..end)`; the decoder runs only until that many bytes exist, which is what keeps a 50 MB vmlinux
 * check at "decompress up to the Xen notes" instead of "decompress everything".
 */
export class ProgressiveImage implements KernelImage {
  private buf: Uint8Array;
  private len = 0;
  private ended: boolean;
  private clipped = false;

  constructor(
    private readonly source: ChunkSource | null,
    private readonly cap: number,
    private readonly label: string,
    initial?: Uint8Array,
    sizeHint = 0,
  ) {
    if (initial) {
      this.buf = initial;
      this.len = initial.length;
      this.ended = true;
    } else {
      // A size hint (gzip ISIZE, Linux's appended length) avoids regrowing; never trust it past the cap.
      this.buf = new Uint8Array(Math.min(Math.max(sizeHint, 1 << 16), cap));
      this.ended = source === null;
    }
  }

  /** Bytes available so far; after `finish()` or a stream end, the whole image. */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  get length(): number {
    return this.len;
  }

  /** The output cap (maxOutputBytes). */
  get limit(): number {
    return this.cap;
  }

  /** True once the decoder has produced its last byte, so `length` is the image size. */
  get complete(): boolean {
    return this.ended;
  }

  /**
   * Make bytes [0, end) available. Returns false only when the stream ended first (the caller words the
   * truncation error, since only it knows which structure was cut off).
   */
  async ensure(end: number): Promise<boolean> {
    if (end <= this.len) return true;
    if (end > this.cap) {
      if (this.ended) return false;
      throw new KernelError(
        'E_KERNEL_OUTPUT_LIMIT',
        `${this.label}: the ELF headers need ${end} decompressed bytes, more than the ${this.cap}-byte limit ` +
          `(a decompression bomb or a corrupt header; raise maxOutputBytes if the kernel is genuinely that large)`,
        { needed: end, maxOutputBytes: this.cap },
      );
    }
    while (this.len < end && !this.ended && !this.clipped) await this.pull();
    return this.len >= end;
  }

  async range(start: number, end: number): Promise<Uint8Array | null> {
    return (await this.ensure(end)) ? this.bytes.subarray(start, end) : null;
  }

  get prefix(): Uint8Array {
    return this.bytes;
  }

  /** Stop the decoder early; frees its state (zlib handles, WASM memory). */
  async close(): Promise<void> {
    if (this.source && !this.ended && this.source.return) await this.source.return();
    this.ended = true;
  }

  private async pull(): Promise<void> {
    const source = this.source as ChunkSource;
    let step: IteratorResult<Uint8Array>;
    try {
      step = await source.next();
    } catch (error) {
      if (error instanceof KernelError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new KernelError('E_KERNEL_CORRUPT', `${this.label}: the compressed payload does not decode: ${message}`, {
        decodedBytes: this.len,
      }, error);
    }
    if (step.done) {
      this.ended = true;
      return;
    }
    this.append(step.value);
  }

  private append(chunk: Uint8Array): void {
    // Keep at most `cap` bytes: a structure that needs more is refused in ensure(), and nothing is
    // allocated past the cap whatever the stream claims.
    const room = this.cap - this.len;
    if (chunk.length > room) {
      chunk = chunk.subarray(0, room);
      this.clipped = true;
    }
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.cap, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }
}
