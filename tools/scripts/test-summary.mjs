// Sum the Vitest JSON reports of every project into one closing line, "N passed, N failed".
// Exits non-zero when no test ran at all: an empty run must never look like a pass.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib.mjs';

const dir = join(root, 'test-output', 'vitest');
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const file of existsSync(dir) ? readdirSync(dir).sort() : []) {
  if (!file.endsWith('.json')) continue;
  const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const skip = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += skip;
  rows.push(`  ${file.replace(/\.json$/, '').padEnd(20)} ${String(r.numPassedTests).padStart(5)} passed ${String(r.numFailedTests).padStart(4)} failed`);
}
console.log(`\nTest projects:\n${rows.join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed + failed === 0) {
  console.error('test-summary: no test ran');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
