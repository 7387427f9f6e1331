// Long differential fuzz: generated nova.conf files resolved by xenkit and by the real oslo.config must
// agree (same values, or both rejected). FUZZ_SECONDS bounds the run; FUZZ_SEED picks the first seed.
import { tempDir } from '@xenkit/fixtures';
import { fuzzAgainstOslo } from '../src/test-helpers/conf-fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_000);
const batch = 500;
const tmp = tempDir('xenkit-conffuzz-');
const deadline = Date.now() + seconds * 1000;
let cases = 0;
let failed = 0;
try {
  while (Date.now() < deadline) {
    const mismatches = await fuzzAgainstOslo(tmp.path, seed, batch);
    for (const m of mismatches.slice(0, 5)) console.error(JSON.stringify(m, null, 2));
    failed += mismatches.length;
    cases += batch;
    seed += batch;
  }
} finally {
  tmp.cleanup();
}
console.log(`nova-conf fuzz: ${cases} cases, ${failed} disagreements with oslo.config`);
process.exit(failed ? 1 : 0);
