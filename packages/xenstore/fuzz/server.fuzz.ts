// Long fuzz run of the xenstore server: FUZZ_SECONDS (default 60) of random messages, seeded per round.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzServer } from '../src/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
const dir = mkdtempSync(join(tmpdir(), 'xenkit-xs-fuzz-'));
const end = Date.now() + seconds * 1000;
let total = 0;
for (let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000); Date.now() < end; seed++) {
  try {
    total += await fuzzServer(dir, seed, Math.min(end, Date.now() + 5000));
  } catch (e) {
    console.error(`seed ${seed} failed: ${(e as Error).message}`);
    process.exitCode = 1;
    break;
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`xenstore server fuzz: ${total} messages, ${seconds} s`);
