import { describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { fuzzKernels } from '../fuzz/kernel.fuzz.js';

describe('fuzz (short seeded run)', () => {
  it('mutated kernels in every container and codec give verdicts or coded errors, never a crash or hang', async () => {
    requireTools('as', 'ld', 'gzip', 'bzip2', 'lzma', 'xz', 'lzop', 'lz4', 'zstd');
    const report = await fuzzKernels({ seed: 20260101, iterations: 400, seconds: 20 });
    expect(report.failures).toEqual([]);
    expect(report.runs).toBeGreaterThan(100);
    // The mutations reach both outcomes: some inputs still decide, many are refused with codes.
    expect(report.verdicts).toBeGreaterThan(0);
    expect(Object.keys(report.codes).length).toBeGreaterThan(3);
  });
});
