import { afterAll, describe, expect, it } from 'vitest';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { fuzzAgainstOslo } from '../test-helpers/conf-fuzz.js';

const tmp = tempDir('xenkit-conffuzz-');
afterAll(() => tmp.cleanup());

describe('nova.conf differential fuzz (short, seeded)', () => {
  it('resolves 300 generated files exactly as oslo.config does, or fails where it fails', async () => {
    requireTools('/usr/bin/python3');
    const mismatches = await fuzzAgainstOslo(tmp.path, 1, 300);
    expect(mismatches.slice(0, 3)).toEqual([]);
  });
});
