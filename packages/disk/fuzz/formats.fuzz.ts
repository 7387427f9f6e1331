// Long fuzz run over the image formats: `npm run fuzz -- disk` (FUZZ_SECONDS, default 120; FUZZ_SEED).
import { tempDir } from '@xenkit/fixtures';
import { fuzzFormats } from '../src/block/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 120);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const tmp = tempDir('xenkit-fuzz-formats-');
try {
  const r = await fuzzFormats(tmp.path, seconds, seed);
  console.log(`formats fuzz: seed ${seed}, ${r.iterations} mutations in ${seconds} s, ${r.opened} opened and read, refusals:`);
  for (const [code, n] of Object.entries(r.refused).sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(28)} ${n}`);
  tmp.cleanup();
} catch (e) {
  console.error(`formats fuzz: seed ${seed} FAILED (case kept in ${tmp.path}):\n${(e as Error).message}`);
  process.exitCode = 1;
}
