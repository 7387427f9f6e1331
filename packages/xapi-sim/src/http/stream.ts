import type { Readable } from 'node:stream';

/** Pull exact byte counts out of a request stream; `read` returns fewer bytes only at end of stream. */
export class StreamReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  consumed = 0;
  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  /** Up to `max` bytes as soon as any are available; empty at end of stream. */
  async some(max: number): Promise<Buffer> {
    if (this.buf.length === 0 && !this.done) {
      const n = await this.it.next();
      if (n.done) this.done = true;
      else this.buf = n.value;
    }
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    this.consumed += out.length;
    return out;
  }
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.some(n - got);
      if (b.length === 0) break;
      parts.push(b);
      got += b.length;
    }
    return Buffer.concat(parts, got);
  }
  /** Discard `n` bytes without holding more than one network read; false if the stream ended first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      const b = await this.some(Math.min(left, 1 << 20));
      if (b.length === 0) return false;
      left -= b.length;
    }
    return true;
  }
}

const ZERO = Buffer.alloc(1 << 20);
export function isZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZERO.length) {
    const part = b.subarray(off, off + ZERO.length);
    if (part.compare(ZERO, 0, part.length) !== 0) return false;
  }
  return true;
}
