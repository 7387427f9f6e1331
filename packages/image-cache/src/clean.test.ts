import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exec } from '@xenkit/fixtures';
import { loadCacheConfig } from './config/options.js';
import { scanCache } from './scan.js';
import { cleanCache, executeClean } from './clean.js';
import { buildNovaTree, setAge, type NovaTree } from './test-helpers/tree.js';

const trees: NovaTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});
function tree(): NovaTree {
  const t = buildNovaTree();
  trees.push(t);
  return t;
}

const REMOVABLE = ['oldUnused', 'resizedUnused', 'legacySmall', 'swapUnused', 'ephUnused'];

/** Every instance disk still opens with its whole backing chain, according to qemu-img itself. */
function assertChainsIntact(t: NovaTree): void {
  for (const disk of Object.values(t.disks)) exec('qemu-img', ['info', '--backing-chain', '-U', disk]);
}

describe('cleanCache', () => {
  it('without --yes only reports what it would remove', async () => {
    const t = tree();
    const before = readdirSync(t.cacheDir).sort();
    const r = await cleanCache(await loadCacheConfig({ files: [t.conf] }));
    expect(r.dryRun).toBe(true);
    expect(r.removed).toEqual([]);
    expect(readdirSync(t.cacheDir).sort()).toEqual(before);
    const would = r.items.filter((i) => i.action === 'would-remove').map((i) => i.name);
    expect(would.sort()).toEqual(REMOVABLE.map((k) => t.names[k]).sort());
    expect(r.items.find((i) => i.name === t.names.chainBase)).toMatchObject({ action: 'kept', reason: `in use by ${t.disks.root4}` });
  });

  it('with --yes removes exactly the unused files old enough for their kind, and nothing in use', async () => {
    const t = tree();
    const r = await cleanCache(await loadCacheConfig({ files: [t.conf] }), { yes: true });
    expect(r.removed.sort()).toEqual(REMOVABLE.map((k) => join(t.cacheDir, t.names[k]!)).sort());
    expect(r.bytesFreed).toBeGreaterThan(0);
    for (const [role, name] of Object.entries(t.names)) {
      expect(existsSync(join(t.cacheDir, name)), role).toBe(!REMOVABLE.includes(role));
    }
    assertChainsIntact(t);
  });

  it('removes nothing when remove_unused_base_images is false', async () => {
    const t = tree();
    const before = readdirSync(t.cacheDir).sort();
    const c = await loadCacheConfig({ files: [t.conf], overrides: ['image_cache.remove_unused_base_images=false'] });
    const r = await cleanCache(c, { yes: true });
    expect(r.removed).toEqual([]);
    expect(readdirSync(t.cacheDir).sort()).toEqual(before);
    expect(r.items.find((i) => i.name === t.names.oldUnused)!.reason).toBe('remove_unused_base_images is false');
  });

  it('keeps a file that an instance starts using between the scan and the removal', async () => {
    const t = tree();
    const c = await loadCacheConfig({ files: [t.conf] });
    const scan = await scanCache(c);
    const victim = join(t.cacheDir, t.names.oldUnused!);
    expect(scan.entries.find((e) => e.path === victim)!.novaAction).toBe('remove');
    // A new instance is spawned on the image after the scan.
    mkdirSync(join(t.instancesPath, 'inst-new'));
    const disk = join(t.instancesPath, 'inst-new', 'disk');
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', victim, '-F', 'raw', disk]);
    const r = await executeClean(scan, c, { yes: true });
    expect(existsSync(victim)).toBe(true);
    expect(r.items.find((i) => i.path === victim)).toMatchObject({ action: 'kept', reason: `in use at re-check by ${disk}` });
    expect(r.removed).toHaveLength(REMOVABLE.length - 1);
    exec('qemu-img', ['info', '--backing-chain', '-U', disk]);
  });

  it('keeps a file whose mtime changed since the scan (nova touches files it uses)', async () => {
    const t = tree();
    const c = await loadCacheConfig({ files: [t.conf] });
    const scan = await scanCache(c);
    const touched = join(t.cacheDir, t.names.swapUnused!);
    setAge(touched, Date.now(), 5 * 86400);
    const r = await executeClean(scan, c, { yes: true });
    expect(existsSync(touched)).toBe(true);
    expect(r.items.find((i) => i.path === touched)!.reason).toMatch(/^modified or touched since the scan/);
  });

  it('stops at a re-check that cannot read a disk, and removes nothing after it', async () => {
    const t = tree();
    const c = await loadCacheConfig({ files: [t.conf] });
    const scan = await scanCache(c);
    const before = readdirSync(t.cacheDir).sort();
    mkdirSync(join(t.instancesPath, 'inst-corrupt'));
    writeFileSync(join(t.instancesPath, 'inst-corrupt', 'disk'), Buffer.from('QFI\xfb\x00\x00\x00', 'latin1'));
    const r = await executeClean(scan, c, { yes: true });
    expect(r.aborted?.code).toBe('E_CACHE_DISK_UNREADABLE');
    expect(r.removed).toEqual([]);
    expect(readdirSync(t.cacheDir).sort()).toEqual(before);
    expect(r.items.filter((i) => i.action === 'kept' && i.reason.startsWith('not attempted'))).toHaveLength(REMOVABLE.length - 1);
  });
});
