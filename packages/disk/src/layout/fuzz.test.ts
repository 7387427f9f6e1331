import { describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { fuzzLayout } from '../../fuzz/layout.fuzz.js';

describe('probeDisk under mutation (short seeded run of fuzz/layout.fuzz.ts)', () => {
  it('returns a layout or a coded error for every mutated image', async () => {
    requireTools('sfdisk', 'mke2fs', 'mkswap', 'mkfs.vfat', 'pvcreate');
    const r = await fuzzLayout({ seed: 20261126, iterations: 1500, seconds: 8 });
    expect(r.iterations).toBeGreaterThan(200);
    const rejected = Object.values(r.codes).reduce((t, n) => t + n, 0);
    expect(r.accepted + rejected).toBe(r.iterations);
    expect(rejected).toBeGreaterThan(0);
  });
});
