// Long fuzz run over image-check's parsers (grub2/legacy/extlinux, fstab, dpkg, shell vars) and its
// SQLite/rpm reader. `FUZZ_SECONDS` bounds the run; a failure prints the seed that replays it.
import { readFileSync } from 'node:fs';
import { fuzzOnce } from '../src/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
const dbPath = process.env.FUZZ_SQLITE_SEED;
const db = dbPath ? new Uint8Array(readFileSync(dbPath)) : undefined;
const end = Date.now() + seconds * 1000;
let seed = Number(process.env.FUZZ_START_SEED ?? Date.now() % 1_000_000);
let n = 0;
while (Date.now() < end) {
  try {
    fuzzOnce(seed, db);
  } catch (e) {
    console.error(`image-check fuzz: seed ${seed} failed:`, e);
    process.exit(1);
  }
  seed++;
  n++;
}
console.log(`image-check parsers: ${n} iterations in ${seconds}s, no failures${db ? '' : ' (set FUZZ_SQLITE_SEED=path/rpmdb.sqlite to fuzz the SQLite reader too)'}`);
