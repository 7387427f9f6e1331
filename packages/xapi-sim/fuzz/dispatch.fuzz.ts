// Random calls against an in-process lab (FUZZ_SECONDS, default 10): no call may end in
// INTERNAL_ERROR, which would mean a handler crashed instead of raising a XAPI error.
import { fuzzDispatch, fuzzTarget } from '../src/test-helpers/fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? '10');
const end = Date.now() + seconds * 1000;
const { lab, session, cleanup } = await fuzzTarget();
let calls = 0;
try {
  for (let seed = 1; Date.now() < end; seed++) {
    const c = await fuzzDispatch(lab, session, 500, seed);
    calls += c.succeeded + c.failed;
  }
} finally {
  cleanup();
}
console.log(`dispatch fuzz: ${calls} calls in ${seconds} s, no INTERNAL_ERROR`);
