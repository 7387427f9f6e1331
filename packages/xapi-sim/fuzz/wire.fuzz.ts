// Long fuzz run of the request parsers (FUZZ_SECONDS, default 10): npm run fuzz -- xapi-sim
import { fuzzParsers } from '../src/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '10');
const end = Date.now() + seconds * 1000;
let inputs = 0;
for (let seed = 1; Date.now() < end; seed++) inputs += fuzzParsers(500, seed);
console.log(`wire fuzz: ${inputs} inputs in ${seconds} s, no crash`);
