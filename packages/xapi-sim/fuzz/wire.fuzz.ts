// Long fuzz run of the request parsers (FUZZ_SECONDS, default 10): npm run fuzz -- xapi-sim
import { fuzzParsers } from '../src/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '10');
const end = Date.now() + seconds * 1000;
let parsed = 0;
let refused = 0;
for (let seed = 1; Date.now() < end; seed++) {
  const c = fuzzParsers(500, seed);
  parsed += c.parsed;
  refused += c.refused;
}
console.log(`wire fuzz: ${parsed} parsed + ${refused} refused inputs in ${seconds} s, no crash`);
