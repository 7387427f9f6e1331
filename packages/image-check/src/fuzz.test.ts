import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { fuzzOnce } from './test-helpers/fuzz.js';

const tmp = tempDir('xenkit-fuzz-');
afterAll(() => tmp.cleanup());

describe('parsers under mutation (short, seeded)', () => {
  it('never throw anything but coded errors, and stay bounded', () => {
    requireTools('sqlite3');
    // A real SQLite database with a Packages table, made by sqlite3 itself.
    exec('sqlite3', [`${tmp.path}/db.sqlite`, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); INSERT INTO Packages(blob) VALUES (randomblob(3000)), (randomblob(9000)), (zeroblob(100));"]);
    const db = new Uint8Array(readFileSync(`${tmp.path}/db.sqlite`));
    const start = Date.now();
    for (let seed = 1; seed <= 1500; seed++) expect(() => fuzzOnce(seed, db), `seed ${seed}`).not.toThrow();
    expect(Date.now() - start).toBeLessThan(20_000);
  });
});
