import { describe, expect, it } from 'vitest';
import { tempDir } from '@xenkit/fixtures';
import { fuzzServer } from './test-helpers/fuzz.js';

describe('xenstore server under random messages (short seeded run)', () => {
  it('keeps serving after 2 s of random traffic', async () => {
    const dir = tempDir('xenkit-xs-fuzz-');
    try {
      expect(await fuzzServer(dir.path, 1234, Date.now() + 2000)).toBeGreaterThan(100);
    } finally {
      dir.cleanup();
    }
  });
});
