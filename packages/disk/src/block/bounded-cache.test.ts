import { describe, expect, it } from 'vitest';
import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache (qcow2 L2 tables and clusters, VHD bitmaps, config-drive directories)', () => {
  it('never holds more than max entries, dropping the oldest insertion first', () => {
    const c = new BoundedCache<number, string>(3);
    for (let i = 0; i < 5; i++) c.set(i, `v${i}`);
    expect(c.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((k) => c.get(k))).toEqual([undefined, undefined, 'v2', 'v3', 'v4']);
    c.set(3, 'again'); // replacing a key does not evict another
    expect([c.size, c.get(2), c.get(3)]).toEqual([3, 'v2', 'again']);
    expect(() => new BoundedCache(0)).toThrow(RangeError);
  });

  it('load shares one read between concurrent callers and forgets a failed one', async () => {
    const c = new BoundedCache<string, Promise<number>>(2);
    let calls = 0;
    const read = async () => ++calls;
    expect(await Promise.all([c.load('a', read), c.load('a', read)])).toEqual([1, 1]);
    expect(calls).toBe(1);
    await expect(c.load('b', () => Promise.reject(new Error('bad table')))).rejects.toThrow('bad table');
    await Promise.resolve();
    expect(c.get('b')).toBeUndefined();
    expect(await c.load('b', read)).toBe(2);
  });
});
