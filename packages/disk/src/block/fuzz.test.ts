import { requireTools, tempDir } from '@xenkit/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzFormats } from './test-helpers/fuzz.js';

describe('formats fuzz (short seeded run; the long one is `npm run fuzz`)', () => {
  const tmp = tempDir('xenkit-fuzz-');
  afterAll(() => tmp.cleanup());

  it('mutated qcow2/VHD/raw images only ever give input errors', async () => {
    requireTools('qemu-img', 'qemu-io');
    const r = await fuzzFormats(tmp.path, 3, 20261126, 150);
    expect(r.iterations).toBeGreaterThan(20);
    // Both outcomes must occur, or the mutations are too weak (all open) or too blunt (none do).
    expect(r.opened).toBeGreaterThan(0);
    expect(Object.keys(r.refused).length).toBeGreaterThan(2);
  }, 180_000);
});
