import { describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { fuzzXfs } from '../../fuzz/xfs.fuzz.js';

describe('xfs reader under mutation (short seeded run of fuzz/xfs.fuzz.ts)', () => {
  it('opens, walks and reads damaged filesystems with only coded errors', async () => {
    requireTools('mkfs.xfs', 'truncate');
    const r = await fuzzXfs({ seed: 1126, iterations: 400, seconds: 10 });
    expect(r.iterations).toBeGreaterThan(50);
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.codes.E_FS_CORRUPT ?? 0).toBeGreaterThan(0);
  });
});
