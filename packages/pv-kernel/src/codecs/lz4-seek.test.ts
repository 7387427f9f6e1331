import { describe, expect, it } from 'vitest';
import { KernelError } from '../errors.js';
import { Lz4SeekableImage, type PayloadReader } from './lz4-seek.js';

// A legacy payload of `n` blocks, each one sequence of one literal: block i decodes to one byte.
function tinyBlocks(n: number): { payload: Uint8Array; want: Uint8Array } {
  const payload = new Uint8Array(4 + n * 6);
  const view = new DataView(payload.buffer);
  view.setUint32(0, 0x184c2102, true);
  const want = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    want[i] = 0x41 + (i % 26);
    view.setUint32(4 + i * 6, 2, true);
    payload[8 + i * 6] = 0x10; // token: 1 literal, no match
    payload[9 + i * 6] = want[i] as number;
  }
  return { payload, want };
}

describe('LZ4 legacy payloads read block by block', () => {
  for (const how of ['in memory', 'through a reader'] as const) {
    it(`${how}: thousands of 1-byte blocks cost their size, not 8 MiB each`, async () => {
      const n = 20_000;
      const { payload, want } = tinyBlocks(n);
      const reader: PayloadReader = { length: payload.length, read: async (o, l) => payload.slice(o, o + l) };
      const image = new Lz4SeekableImage(how === 'in memory' ? payload : reader, 1 << 30, 'tiny-blocks');
      const before = process.memoryUsage().arrayBuffers;
      const started = Date.now();
      const got = await image.range(0, n);
      expect(got && Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      expect(Buffer.from((await image.range(1234, 1240)) as Uint8Array).toString()).toBe(Buffer.from(want.subarray(1234, 1240)).toString());
      // 20,000 × 8 MiB would be 160 GiB of buffers (and minutes); the payload's own size is the budget.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
      expect(Date.now() - started).toBeLessThan(5_000);
      await image.close();
    });
  }

  it('an empty or reversed range is empty, not a RangeError', async () => {
    const { payload } = tinyBlocks(10);
    const image = new Lz4SeekableImage(payload, 1 << 30, 'reversed');
    expect((await image.range(5, 5))?.length).toBe(0);
    expect((await image.range(8, 3))?.length).toBe(0);
  });

  it('a block cut by the end of the payload is a coded error', async () => {
    const { payload } = tinyBlocks(3);
    const cut = payload.subarray(0, payload.length - 1);
    const image = new Lz4SeekableImage({ length: cut.length, read: async (o, l) => cut.slice(o, o + l) }, 1 << 30, 'cut');
    await expect(image.range(0, 3)).rejects.toBeInstanceOf(KernelError);
  });
});
