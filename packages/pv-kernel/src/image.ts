import { KernelError } from './errors.js';

/** A decoder yields the decompressed bytes in order; chunks may be reused once the next one is asked for. */
export type ChunkSource = Iterator<Uint8Array> | AsyncIterator<Uint8Array>;

/**
 * The unwrapped kernel as far as it has been decompressed. Parsers ask for `ensure(end)` before reading
 * `bytes[0..end)`; the decoder runs only until that many bytes exist, which is what keeps a 50 MB vmlinux
 * check at "decompress up to the Xen notes" instead of "decompress everything".
 */
export class ProgressiveImage {
  private buf: Uint8Array;
  private len = 0;
  private ended: boolean;

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
      throw new KernelError(
        'E_KERNEL_OUTPUT_LIMIT',
        `${this.label}: the ELF headers need ${end} decompressed bytes, more than the ${this.cap}-byte limit ` +
          `(a decompression bomb or a corrupt header; raise maxOutputBytes if the kernel is genuinely that large)`,
        { needed: end, maxOutputBytes: this.cap },
      );
    }
    while (this.len < end && !this.ended) await this.pull();
    return this.len >= end;
  }

  /** Decompress to the end (needed when Xen's checks depend on the image size). */
  async finish(): Promise<void> {
    while (!this.ended) await this.pull();
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
    const need = this.len + chunk.length;
    if (need > this.cap) {
      throw new KernelError(
        'E_KERNEL_OUTPUT_LIMIT',
        `${this.label}: the payload decompresses to more than ${this.cap} bytes before the Xen notes were found ` +
          `(a decompression bomb; raise maxOutputBytes if the kernel is genuinely that large)`,
        { maxOutputBytes: this.cap },
      );
    }
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.cap, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }
}
