import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BufferSource } from '@xenkit/disk';
import { CachedSource } from './cache.js';

/** A source that counts the reads it serves, so the cache's read-ahead is visible. */
class CountingSource extends BufferSource {
  reads = 0;
  override read(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    return super.read(offset, length);
  }
}

describe('CachedSource', () => {
  const bytes = randomBytes((4 << 20) + 1234);

  it('reads a file block by block in a few large source reads, returning the same bytes', async () => {
    const inner = new CountingSource(bytes);
    const cached = new CachedSource(inner);
    const out = Buffer.alloc(bytes.length);
    for (let at = 0; at < bytes.length; at += 4096) {
      const n = Math.min(4096, bytes.length - at);
      out.set(await cached.read(at, n), at);
    }
    expect(out.equals(bytes)).toBe(true);
    // 129 windows of 32 KiB; read-ahead doubling to 16 windows needs 13 reads, not 129.
    expect(inner.reads).toBeLessThanOrEqual(13);
    // What is read past the last requested byte is bounded by one read-ahead (16 windows).
    expect(inner.bytesRead).toBeLessThanOrEqual(bytes.length + 16 * 32 * 1024);
  });

  it('serves scattered and window-straddling reads exactly, without reading ahead', async () => {
    const inner = new CountingSource(bytes);
    const cached = new CachedSource(inner, 8);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const length = 1 + (next() % 9000);
      const offset = next() % (bytes.length - length);
      expect(Buffer.from(await cached.read(offset, length)).equals(bytes.subarray(offset, offset + length))).toBe(true);
    }
    expect(inner.bytesRead).toBeLessThan(500 * 3 * 32 * 1024);
  });
});
