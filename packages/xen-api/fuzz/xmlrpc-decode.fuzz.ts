// Long run of the decoder's robustness property: any byte string, cut into any chunks, decodes to a
// value or fails with E_XAPI_XML, never another exception or a hang. Mutates valid responses (the
// interesting inputs) and checks valid ones still round-trip against the reference serializer.
// FUZZ_SECONDS bounds the run (npm run fuzz); the test suite runs the same property briefly.
import { isDeepStrictEqual } from 'node:util';
import xmlrpcSerializer from 'xmlrpc/lib/serializer.js';
import { XmlRpcDecoder } from '../src/wire/xmlrpc-decode.js';
import { randomTree, rng } from '../src/test-helpers/random-values.js';

process.env.TZ = 'UTC';
const seconds = Number(process.env.FUZZ_SECONDS ?? 10);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
const random = rng(seed);
const deadline = Date.now() + seconds * 1000;
let cases = 0;
let rejected = 0;

function decode(bytes: Buffer): unknown {
  const d = new XmlRpcDecoder(2 ** 31, random() < 0.5 ? 1 : 4096);
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(random() * 200);
    d.write(bytes.subarray(i, i + n));
    i += n;
  }
  return d.end().params;
}

while (Date.now() < deadline) {
  const tree = randomTree(random, 5);
  const valid = Buffer.from(xmlrpcSerializer.serializeMethodResponse(tree));
  if (!isDeepStrictEqual(decode(valid), [tree])) {
    console.error(`seed ${seed}: valid response decoded differently:\n${valid.toString()}`);
    process.exit(1);
  }
  for (let m = 0; m < 20; m++) {
    const bytes = Buffer.from(valid);
    const edits = 1 + Math.floor(random() * 6);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : '<>/&;!?['.charCodeAt(Math.floor(random() * 8));
    }
    const input = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    cases++;
    try {
      decode(input);
    } catch (err) {
      if ((err as { code?: string }).code !== 'E_XAPI_XML') {
        console.error(`seed ${seed}: unexpected ${String(err)} on:\n${input.toString('latin1')}`);
        process.exit(1);
      }
      rejected++;
    }
  }
}
console.log(`xmlrpc-decode fuzz: seed ${seed}, ${cases} mutated inputs (${rejected} rejected with E_XAPI_XML), no other failure`);
