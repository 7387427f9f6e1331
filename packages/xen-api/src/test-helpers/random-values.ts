/** Seeded random value trees for differential tests of the codecs. */
export type Rng = () => number;

export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: deterministic across runs, good enough to spread test cases
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

// No ']': the reference serializer splits only the first ']]>' of a CDATA string, so a string with two
// of them comes out as malformed XML (tested once, separately, with one).
const ALPHABET = ['a', 'Z', '0', ' ', '&', '<', '>', '"', "'", 'é', '☺', '\n', '\t', ';', 'OpaqueRef:', '𝄞'];

export function randomString(r: Rng, max = 12): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

/** Values both XML-RPC implementations represent the same way (ints within int32, second-precision dates). */
export function randomTree(r: Rng, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 0 ? 9 : 6));
  switch (pick) {
    case 0:
      return randomString(r);
    case 1:
      return Math.floor((r() - 0.5) * 2 ** 31);
    case 2:
      return (r() - 0.5) * 1e6 + 0.25;
    case 3:
      return r() < 0.5;
    case 4:
      return new Date(Math.floor(r() * 4e9) * 1000);
    case 5:
      return randomString(r, 30);
    case 6:
    case 7: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) o[`k${randomString(r, 4)}${i}`] = randomTree(r, depth - 1);
      return o;
    }
    default: {
      if (r() < 0.15) return randomRecords(r, depth - 1);
      const n = Math.floor(r() * 5);
      return Array.from({ length: n }, () => randomTree(r, depth - 1));
    }
  }
}

/**
 * Records the way XAPI sends them: several structs with the same 13–30 members in the same order, so
 * the decoder learns their shape and builds the later ones from it.
 */
export function randomRecords(r: Rng, depth: number): Record<string, unknown>[] {
  const keys = Array.from({ length: 13 + Math.floor(r() * 18) }, (_, i) => `${randomString(r, 4)}f${i}`);
  return Array.from({ length: 2 + Math.floor(r() * 4) }, () =>
    Object.fromEntries(keys.map((k) => [k, randomTree(r, Math.max(0, depth - 1))])),
  );
}
