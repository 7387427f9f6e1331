import { describe, expect, it } from 'vitest';
import { fuzzDispatch, fuzzParsers, fuzzTarget } from './test-helpers/fuzz.js';

describe('fuzz (short, seeded)', () => {
  it('XML-RPC and JSON-RPC parsers accept or refuse mutated bodies cleanly', () => {
    const { parsed, refused } = fuzzParsers(3000, 0x5eed);
    // Both outcomes must occur, or the mutator is too weak (or too strong) to exercise the parsers.
    expect(parsed).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(parsed + refused).toBe(6000);
  });

  it('random calls end in XAPI errors, never INTERNAL_ERROR', async () => {
    const { lab, session, cleanup } = await fuzzTarget();
    try {
      const { skipped, succeeded, failed } = await fuzzDispatch(lab, session, 2000, 0x5eed);
      expect(succeeded).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);
      expect(skipped).toBeGreaterThan(0);
      expect(skipped + succeeded + failed).toBe(2000);
    } finally {
      cleanup();
    }
  });
});
