import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, mutate, requireTools, rng, tempDir } from '@xenkit/fixtures';
import { isXenkitError } from '@xenkit/core';
import { readRpmSqlite } from './rpm.js';

const tmp = tempDir('xenkit-rpm-');
afterAll(() => tmp.cleanup());
const db = `${tmp.path}/db`;

/** rpm's own answer: NAME EPOCH VERSION RELEASE ARCH per installed package. */
function rpmQa(dbpath: string): string[] {
  return exec('rpm', ['--dbpath', dbpath, '-qa', '--qf', '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n']).stdout.trim().split('\n').sort();
}

function ours(dir: string, wal = false): string[] {
  const apps = readRpmSqlite(new Uint8Array(readFileSync(`${dir}/rpmdb.sqlite`)), 'rpmdb.sqlite', wal ? new Uint8Array(readFileSync(`${dir}/rpmdb.sqlite-wal`)) : undefined);
  return apps.map((a) => `${a.name} ${a.epoch ?? '(none)'} ${a.version} ${a.release} ${a.arch}`).sort();
}

beforeAll(() => {
  requireTools('rpmbuild', 'rpm', 'sqlite3');
  // One spec, many subpackages: enough headers for an interior b-tree page, one big enough to overflow.
  const subs = Array.from({ length: 24 }, (_, i) => `%package -n sub${i}\nSummary: sub ${i}\nVersion: 0.${i}\nRelease: ${i}.fc39\n%description -n sub${i}\n${i === 3 ? 'x'.repeat(20000) : `sub package ${i}`}\n%files -n sub${i}\n`).join('\n');
  const spec = `Name: cloud-init\nEpoch: 2\nVersion: 23.4\nRelease: 7.el9\nSummary: Cloud instance init\nLicense: MIT\nURL: https://cloud-init.io/\nBuildArch: noarch\n%description\nInit.\n%files\n${subs}`;
  mkdirSync(`${tmp.path}/top/SPECS`, { recursive: true });
  writeFileSync(`${tmp.path}/top/SPECS/t.spec`, spec);
  exec('rpmbuild', ['--define', `_topdir ${tmp.path}/top`, '-bb', `${tmp.path}/top/SPECS/t.spec`]);
  const rpms = readdirSync(`${tmp.path}/top/RPMS/noarch`).map((f) => `${tmp.path}/top/RPMS/noarch/${f}`);
  exec('rpm', ['--dbpath', db, '--initdb']);
  exec('rpm', ['--dbpath', db, '-i', '--justdb', '--nodeps', '--ignorearch', '--ignoreos', ...rpms]);
});

describe('rpmdb.sqlite', () => {
  it('lists what rpm -qa lists (interior pages, overflow chains)', () => {
    const real = rpmQa(db);
    expect(real.length).toBe(25);
    expect(ours(db)).toEqual(real);
    const apps = readRpmSqlite(new Uint8Array(readFileSync(`${db}/rpmdb.sqlite`)), 'x');
    expect(apps.find((a) => a.name === 'sub3')?.description?.length).toBe(20000);
    expect(apps.find((a) => a.name === 'cloud-init')).toMatchObject({ epoch: 2, url: 'https://cloud-init.io/', summary: 'Cloud instance init' });
  });

  it('applies committed frames of the write-ahead log', () => {
    const snap = `${tmp.path}/snap`;
    mkdirSync(snap);
    // Delete two packages in WAL mode without a checkpoint, and copy the files while the log is live.
    const py = `import sqlite3,shutil\nc=sqlite3.connect('${db}/rpmdb.sqlite')\nc.execute('PRAGMA wal_autocheckpoint=0')\nc.execute("DELETE FROM Packages WHERE hnum IN (1,2)")\nc.commit()\nfor s in ('','-wal'): shutil.copy('${db}/rpmdb.sqlite'+s,'${snap}/rpmdb.sqlite'+s)\nc.close()\n`;
    exec('python3', ['-c', py]);
    const oracle = `${tmp.path}/oracle`;
    mkdirSync(oracle);
    for (const f of ['rpmdb.sqlite', 'rpmdb.sqlite-wal']) copyFileSync(`${snap}/${f}`, `${oracle}/${f}`);
    // Without the log the main file still holds all 25; with it, what sqlite itself reads.
    expect(readRpmSqlite(new Uint8Array(readFileSync(`${snap}/rpmdb.sqlite`)), 'x').length).toBe(25);
    expect(ours(snap, true).length).toBe(Number(exec('sqlite3', [`${oracle}/rpmdb.sqlite`, 'select count(*) from Packages']).stdout.trim()));
    expect(ours(snap, true).length).toBe(23);
  });

  it('rejects garbage with a coded error', () => {
    expect(() => readRpmSqlite(new Uint8Array(4096), 'bad')).toThrow(/E_SQLITE_CORRUPT|not a readable SQLite/);
    const real = new Uint8Array(readFileSync(`${db}/rpmdb.sqlite`));
    const broken = real.slice();
    broken[100] = 0x42; // sqlite_master's page type
    expect(() => readRpmSqlite(broken, 'broken')).toThrow(/not a table b-tree page/);
    expect(() => readRpmSqlite(real.subarray(0, 8192), 'truncated')).toThrow(/out of range|past the end/);
  });

  it('turns crafted cell pointers, overflow pointers and WAL sizes into E_SQLITE_CORRUPT (seeded fuzz of real files)', () => {
    const real = new Uint8Array(readFileSync(`${db}/rpmdb.sqlite`));
    const ps = ((real[16] as number) << 8) | (real[17] as number);
    // An interior table page's first cell pointer aimed at the page's last two bytes: the child
    // pointer read there would run past the page.
    const interior = Array.from({ length: real.length / ps }, (_, i) => i).find((i) => real[i * ps + (i === 0 ? 100 : 0)] === 0x05);
    expect(interior).toBeDefined();
    const hdr = (interior as number) * ps + (interior === 0 ? 100 : 0);
    const bent = real.slice();
    bent[hdr + 12] = ((ps - 2) >> 8) & 0xff;
    bent[hdr + 13] = (ps - 2) & 0xff;
    expect(() => readRpmSqlite(bent, 'bent')).toThrow(expect.objectContaining({ code: 'E_SQLITE_CORRUPT' }));

    // A WAL whose commit frames claim 2^32-1 pages, over mutated page headers and cell areas.
    const snap = `${tmp.path}/fuzzsnap`;
    mkdirSync(snap);
    const py = `import sqlite3,shutil\nc=sqlite3.connect('${db}/rpmdb.sqlite')\nc.execute('PRAGMA wal_autocheckpoint=0')\nc.execute("UPDATE Packages SET blob=blob WHERE hnum IN (3,4)")\nc.commit()\nfor s in ('','-wal'): shutil.copy('${db}/rpmdb.sqlite'+s,'${snap}/rpmdb.sqlite'+s)\nc.close()\n`;
    exec('python3', ['-c', py]);
    const base = new Uint8Array(readFileSync(`${snap}/rpmdb.sqlite`));
    const wal = new Uint8Array(readFileSync(`${snap}/rpmdb.sqlite-wal`));
    for (let off = 32; off + 24 + ps <= wal.length; off += 24 + ps) {
      if (wal[off + 4] || wal[off + 5] || wal[off + 6] || wal[off + 7]) wal.set([0xff, 0xff, 0xff, 0xff], off + 4);
    }
    const r = rng(20261126);
    const pages = base.length / ps;
    const start = Date.now();
    for (let i = 0; i < 400; i++) {
      const bytes = base.slice();
      const page = r.int(pages);
      mutate(bytes, r, 1 + r.int(6), { position: () => page * ps + (r.int(2) ? r.int(120) : r.int(ps)) });
      try {
        readRpmSqlite(bytes, 'fuzz.sqlite', r.int(2) ? wal : undefined);
      } catch (e) {
        expect(isXenkitError(e), `iteration ${i}: ${String(e)}`).toBe(true);
      }
    }
    expect(Date.now() - start).toBeLessThan(20_000);
  });
});
