import { describe, expect, it } from 'vitest';
import { fuzzDispatch, fuzzParsers, fuzzTarget } from './test-helpers/fuzz.js';

describe('fuzz (short, seeded)', () => {
  it('XML-RPC and JSON-RPC parsers accept or refuse mutated bodies cleanly', () => {
    expect(fuzzParsers(3000, 0x5eed)).toBe(6000);
  });

  it('random calls end in XAPI errors, never INTERNAL_ERROR', async () => {
    const { lab, session, cleanup } = await fuzzTarget();
    try {
      expect(await fuzzDispatch(lab, session, 2000, 0x5eed)).toBe(2000);
    } finally {
      cleanup();
    }
  });
});
