import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '@xenkit/fixtures';
import { loadCacheConfig, type CacheConfig } from './config/options.js';
import { scanCache, type CacheScan } from './scan.js';
import { cleanCache } from './clean.js';
import { buildNovaTree, setAge, sha, type NovaTree } from './test-helpers/tree.js';

let tree: NovaTree;
let config: CacheConfig;
let scan: CacheScan;

beforeAll(async () => {
  tree = buildNovaTree();
  config = await loadCacheConfig({ files: [tree.conf] });
  scan = await scanCache(config, { now: tree.now });
});
afterAll(() => tree.cleanup());

const entry = (role: string) => {
  const e = scan.entries.find((x) => x.name === tree.names[role]);
  if (!e) throw new Error(`no entry for ${role}`);
  return e;
};

describe('scanCache on a real instances_path', () => {
  it('reads every instance disk backing file as qemu-img does', () => {
    for (const d of scan.disks.filter((x) => x.format === 'qcow2')) {
      const info = JSON.parse(exec('qemu-img', ['info', '--output=json', d.path]).stdout) as Record<string, unknown>;
      expect(d.backingFile, d.path).toBe(info['backing-filename']);
      expect(d.chain[0], d.path).toBe(resolve(info['full-backing-filename'] as string));
    }
    expect(scan.disks.map((d) => d.path).sort()).toEqual(Object.values(tree.disks).sort());
  });

  it('classifies names, ages and use, and predicts what nova does with each file', () => {
    const expected: Record<string, [string, string, boolean]> = {
      rawUsed: ['original', 'keep-in-use', true],
      qcowUsed: ['original', 'keep-in-use', true],
      oldUnused: ['original', 'remove', false],
      youngUnused: ['original', 'too-young', false],
      resizedUnused: ['resized', 'remove', false],
      resizedYoung: ['resized', 'too-young', false],
      resizedUsed: ['resized', 'keep-in-use', true],
      legacySmall: ['legacy-small', 'remove', false],
      chainTop: ['resized', 'keep-in-use', true],
      chainBase: ['original', 'remove', true],
      shortResized: ['resized', 'ignored', false],
      swapUsed: ['swap', 'keep-in-use', true],
      swapUnused: ['swap', 'remove', false],
      ephUsed: ['ephemeral', 'keep-in-use', true],
      ephUnused: ['ephemeral', 'remove', false],
      unknown: ['unknown', 'ignored', false],
    };
    const actual = Object.fromEntries(Object.keys(expected).map((r) => [r, [entry(r).class, entry(r).novaAction, entry(r).inUse]]));
    expect(actual).toEqual(expected);
    expect(scan.entries).toHaveLength(Object.keys(expected).length);
    expect(entry('oldUnused').ageSeconds).toBeCloseTo(2 * 86400, 0);
    expect(entry('resizedUsed').usedBy).toEqual([tree.disks.root3]);
    expect(entry('swapUsed').usedBy).toEqual([tree.disks.swap1]);
    // nova reads only the top layer of inst-4's disk, so it would delete the file under it.
    expect(entry('chainBase')).toMatchObject({ novaInUse: false, novaWouldBreak: true, usedBy: [tree.disks.root4] });
  });

  it("prints nova's log lines in nova's order", () => {
    const p = (role: string) => join(tree.cacheDir, tree.names[role]!);
    const unknown = ['oldUnused', 'youngUnused', 'resizedUnused', 'resizedYoung', 'legacySmall', 'chainBase'].sort((a, b) =>
      tree.names[a]!.localeCompare(tree.names[b]!),
    );
    // Written out per role, not derived from the scan under test: old enough → removed, else too young.
    const tooYoung = new Set(['youngUnused', 'resizedYoung']);
    const decision = (role: string) =>
      tooYoung.has(role) ? `Base, swap or ephemeral file too young to remove: ${p(role)}` : `Removing base, swap or ephemeral file: ${p(role)}`;
    expect(scan.novaLog.map((l) => `${l.level} ${l.message}`)).toEqual([
      ...(['inst-1', 'inst-2', 'inst-3', 'inst-4'] as const).map(
        (inst, i) =>
          `warning Instance ${inst} is using a backing file ${tree.names[['rawUsed', 'qcowUsed', 'resizedUsed', 'chainTop'][i]!]} which does not appear in the image service`,
      ),
      ...unknown.map((r) => `warning Unknown base file: ${p(r)}`),
      `info Active base files: ${['rawUsed', 'qcowUsed', 'resizedUsed', 'chainTop'].map(p).join(' ')}`,
      `info Removable base files: ${unknown.map(p).join(' ')}`,
      ...unknown.map((r) => `info ${decision(r)}`),
      `info Removing base, swap or ephemeral file: ${p('swapUnused')}`,
      `info Removing base, swap or ephemeral file: ${p('ephUnused')}`,
    ]);
  });

  it('uses the wording and scope of older nova releases when asked', async () => {
    const old = await scanCache(config, { now: tree.now, rules: 'base' });
    const lines = old.novaLog.map((l) => l.message);
    expect(lines).toContain(`Removing base file: ${join(tree.cacheDir, tree.names.oldUnused!)}`);
    expect(lines).toContain(`Base file too young to remove: ${join(tree.cacheDir, tree.names.youngUnused!)}`);
    expect(old.entries.find((e) => e.name === tree.names.swapUnused)!.novaAction).toBe('ignored');
    const mid = await scanCache(config, { now: tree.now, rules: 'base-swap' });
    expect(mid.novaLog.map((l) => l.message)).toContain(`Removing base or swap file: ${join(tree.cacheDir, tree.names.swapUnused!)}`);
    expect(mid.entries.find((e) => e.name === tree.names.ephUnused)!.novaAction).toBe('ignored');
  });

  it('counts an image id as using its original and resized copies', async () => {
    const s = await scanCache(config, { now: tree.now, imageIds: ['img-old-unused'] });
    const mine = s.entries.filter((e) => e.usedBy.includes('image:img-old-unused')).map((e) => e.name);
    expect(mine.sort()).toEqual([tree.names.oldUnused, tree.names.resizedUnused].sort());
    expect(s.novaLog[0]).toEqual({ level: 'info', message: `image img-old-unused at (${join(tree.cacheDir, tree.names.oldUnused!)}): checking` });
    expect(s.entries.find((e) => e.name === tree.names.oldUnused)!.novaAction).toBe('keep-in-use');
  });

  it('keeps nothing for removal when remove_unused_base_images is false', async () => {
    const off = await loadCacheConfig({ files: [tree.conf], overrides: ['remove_unused_base_images=false'] });
    const s = await scanCache(off, { now: tree.now });
    expect(s.entries.filter((e) => e.novaAction === 'remove')).toEqual([]);
    expect(s.novaLog.some((l) => l.message.startsWith('Removing'))).toBe(false);
    expect(s.novaLog.some((l) => l.message.startsWith('Removable base files: '))).toBe(true);
  });
});

describe('bad input gives coded errors and removes nothing', () => {
  it('rejects a missing instances_path or cache directory', async () => {
    const missing = await loadCacheConfig({ overrides: [`instances_path=${join(tree.root, 'nope')}`] });
    await expect(scanCache(missing)).rejects.toMatchObject({ code: 'E_CACHE_DIR_MISSING' });
    const noCache = await loadCacheConfig({ files: [tree.conf], overrides: ['subdirectory_name=_absent'] });
    await expect(scanCache(noCache)).rejects.toMatchObject({ code: 'E_CACHE_DIR_MISSING' });
  });

  it('refuses to clean when an instance disk cannot be read', async () => {
    const t = buildNovaTree();
    try {
      const before = readdirSync(t.cacheDir).sort();
      const dir = join(t.instancesPath, 'inst-broken');
      mkdirSync(dir);
      // A qcow2 whose header is cut short: its backing file cannot be known.
      copyFileSync(t.disks.root1!, join(dir, 'disk'));
      truncateSync(join(dir, 'disk'), 40);
      const c = await loadCacheConfig({ files: [t.conf] });
      await expect(cleanCache(c, { yes: true })).rejects.toMatchObject({
        code: 'E_CACHE_DISK_UNREADABLE',
        details: { path: join(dir, 'disk') },
      });
      expect(readdirSync(t.cacheDir).sort()).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  it('rejects a backing chain that loops', async () => {
    const t = buildNovaTree();
    try {
      const dir = join(t.instancesPath, 'inst-loop');
      mkdirSync(dir);
      const a = join(dir, 'disk');
      const b = join(dir, 'disk.b');
      exec('qemu-img', ['create', '-q', '-f', 'qcow2', b, '1M']);
      exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', a]);
      exec('qemu-img', ['rebase', '-u', '-b', a, '-F', 'qcow2', b]);
      const c = await loadCacheConfig({ files: [t.conf] });
      await expect(scanCache(c)).rejects.toMatchObject({ code: 'E_CACHE_BACKING_CHAIN' });
    } finally {
      t.cleanup();
    }
  });

  it('reports instance disks whose backing file is gone', async () => {
    const t = buildNovaTree();
    try {
      const dir = join(t.instancesPath, 'inst-orphan');
      mkdirSync(dir);
      const gone = join(t.cacheDir, 'f'.repeat(40));
      writeFileSync(gone, Buffer.alloc(4096));
      exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', gone, '-F', 'raw', join(dir, 'disk'), '4096']);
      rmSync(gone);
      const s = await scanCache(await loadCacheConfig({ files: [t.conf] }));
      expect(s.missingBackings).toEqual([{ disk: join(dir, 'disk'), backing: gone }]);
      expect(existsSync(gone)).toBe(false);
      expect(readFileSync(join(dir, 'disk')).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    } finally {
      t.cleanup();
    }
  });
});

describe('symlinks and odd entries in _base', () => {
  it('lists a symlink as skipped and never follows or removes it', async () => {
    const t = buildNovaTree();
    try {
      const outside = join(t.root, 'outside-target');
      writeFileSync(outside, 'x');
      setAge(outside, t.now, 90 * 86400);
      const link = join(t.cacheDir, 'e'.repeat(40));
      symlinkSync(outside, link);
      mkdirSync(join(t.cacheDir, 'd'.repeat(40)));
      const c = await loadCacheConfig({ files: [t.conf] });
      const r = await cleanCache(c, { yes: true });
      expect(r.scan.skipped).toEqual([
        { name: 'd'.repeat(40), path: join(t.cacheDir, 'd'.repeat(40)), reason: 'directory' },
        { name: 'e'.repeat(40), path: link, reason: 'symlink: never followed or removed' },
      ]);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(existsSync(outside)).toBe(true);
    } finally {
      t.cleanup();
    }
  });

  it('takes an absolute subdirectory_name as the cache directory, as os.path.join does', async () => {
    const c = await loadCacheConfig({ files: [tree.conf], overrides: ['subdirectory_name=/srv/cache'] });
    expect(c.cacheDir).toBe('/srv/cache');
  });
});

describe('use by identity', () => {
  it('counts a cache file as used when a disk reaches it through another path (hard link)', async () => {
    const t = buildNovaTree();
    try {
      const victim = join(t.cacheDir, t.names.oldUnused!);
      const alias = join(t.root, 'elsewhere.img');
      linkSync(victim, alias);
      mkdirSync(join(t.instancesPath, 'inst-alias'));
      const disk = join(t.instancesPath, 'inst-alias', 'disk');
      exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', alias, '-F', 'raw', disk]);
      const c = await loadCacheConfig({ files: [t.conf] });
      const r = await cleanCache(c, { yes: true, now: t.now });
      expect(r.items.find((i) => i.path === victim)).toMatchObject({ action: 'kept', reason: `in use by ${disk}` });
      expect(existsSync(victim)).toBe(true);
    } finally {
      t.cleanup();
    }
  });
});

describe('image ids', () => {
  it("checks an image's files in nova's order: original, _sm, then resized copies", async () => {
    const t = buildNovaTree();
    try {
      const fp = sha('img-order');
      for (const n of [fp, `${fp}_sm`, `${fp}_10`, `${fp}_5`]) writeFileSync(join(t.cacheDir, n), 'x');
      const s = await scanCache(await loadCacheConfig({ files: [t.conf] }), { imageIds: ['img-order'] });
      expect(s.novaLog.filter((l) => l.message.endsWith(': checking')).map((l) => l.message)).toEqual(
        [fp, `${fp}_sm`, `${fp}_10`].map((n) => `image img-order at (${join(t.cacheDir, n)}): checking`),
      );
      // `<sha1>_5` is outside nova's scan, but xenkit still counts the image id as using it.
      expect(s.entries.find((e) => e.name === `${fp}_5`)).toMatchObject({ novaAction: 'ignored', usedBy: ['image:img-order'] });
    } finally {
      t.cleanup();
    }
  });
});
