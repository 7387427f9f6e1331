import type { BlockSource, Extent } from '@xenkit/disk';

/** Cache granule: small enough that scattered metadata reads stay cheap, large enough for read-ahead. */
const WINDOW = 32 * 1024;
/**
 * Most windows fetched in one source read. libext2fs reads a file one block at a time, so a kernel
 * would otherwise cost one host read (a thread-pool round trip) per 32 KiB; sequential misses double
 * the read-ahead up to this, which also bounds what is read past the end of the file.
 */
const MAX_AHEAD = 16;

/**
 * A bounded LRU cache of aligned 32 KiB windows in front of an image. libext2fs reads one filesystem
 * block at a time and re-reads the same directory and inode-table blocks for every path a check
 * resolves; serving those from aligned windows turns thousands of tiny image reads into a few, and
 * keeps a whole check to a few MiB read. Reads larger than a window go straight through.
 */
export class CachedSource implements BlockSource {
  private readonly windows = new Map<number, Uint8Array>();
  /** Where the last fetch from the source ended, and how many windows it fetched. */
  private fetchedUpTo = -1;
  private ahead = 1;

  constructor(
    private readonly inner: BlockSource,
    private readonly maxWindows = 1024,
  ) {}

  get path(): string | undefined {
    return (this.inner as { path?: string }).path;
  }
  get format(): string {
    return this.inner.format;
  }
  get size(): number {
    return this.inner.size;
  }
  get bytesRead(): number {
    return this.inner.bytesRead;
  }

  private async window(start: number): Promise<Uint8Array> {
    const hit = this.windows.get(start);
    if (hit) {
      this.windows.delete(start);
      this.windows.set(start, hit);
      return hit;
    }
    this.ahead = start === this.fetchedUpTo ? Math.min(this.ahead * 2, MAX_AHEAD) : 1;
    const data = await this.inner.read(start, Math.min(WINDOW * this.ahead, this.size - start));
    this.fetchedUpTo = start + data.length;
    for (let at = 0; at < data.length; at += WINDOW) {
      this.windows.set(start + at, data.subarray(at, Math.min(at + WINDOW, data.length)));
      if (this.windows.size > this.maxWindows) this.windows.delete(this.windows.keys().next().value as number);
    }
    return this.windows.get(start) ?? data.subarray(0, Math.min(WINDOW, data.length));
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length > WINDOW || offset < 0 || offset + length > this.size) return this.inner.read(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const start = at - (at % WINDOW);
      const w = await this.window(start);
      const n = Math.min(length - done, start + w.length - at);
      if (n <= 0) return this.inner.read(offset, length);
      out.set(w.subarray(at - start, at - start + n), done);
      done += n;
    }
    return out;
  }

  extents(): Promise<Extent[]> {
    return this.inner.extents();
  }

  close(): Promise<void> {
    this.windows.clear();
    return this.inner.close();
  }
}
