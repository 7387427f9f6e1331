import { describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { fuzzExt } from '../../fuzz/extfs.fuzz.js';

describe('ext reader under mutation (short seeded run of fuzz/extfs.fuzz.ts)', () => {
  it('opens, walks and reads damaged filesystems with only coded errors', async () => {
    requireTools('mke2fs', 'truncate');
    const r = await fuzzExt({ seed: 1126, iterations: 150, seconds: 10 });
    expect(r.iterations).toBeGreaterThan(20);
    expect(r.accepted).toBeGreaterThan(0);
  });
});
