import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, closeSync, writeSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { loadCacheConfig, type CacheConfig } from './config/options.js';
import { preallocateDisks } from './preallocate.js';

const MiB = 1024 * 1024;
let tmp: ReturnType<typeof tempDir>;
let instances: string;
let raw: string;
let qcow: string;
let configDrive: string;

const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
/** Allocation as coreutils' stat(1) reports it. */
const allocated = (p: string) => {
  const [blocks, unit] = exec('stat', ['-c', '%b %B', p]).stdout.trim().split(' ').map(Number);
  return blocks! * unit!;
};

beforeAll(() => {
  requireTools('qemu-img', 'qemu-io', 'fallocate', 'stat');
  tmp = tempDir('xenkit-prealloc-');
  instances = join(tmp.path, 'instances');
  mkdirSync(join(instances, '_base'), { recursive: true });
  mkdirSync(join(instances, 'inst-p'));
  // A sparse raw disk with data in the middle: the data must survive preallocation byte for byte.
  raw = join(instances, 'inst-p', 'disk');
  writeFileSync(raw, '');
  const fd = openSync(raw, 'r+');
  writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 3 * MiB);
  closeSync(fd);
  truncateSync(raw, 8 * MiB);
  const base = join(instances, '_base', 'ephemeral_1_40d1321');
  exec('qemu-img', ['create', '-q', '-f', 'raw', base, '4M']);
  qcow = join(instances, 'inst-p', 'disk.local');
  exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', qcow]);
  exec('qemu-io', ['-c', 'write -P 0x5a 1M 64k', qcow]);
  configDrive = join(instances, 'inst-p', 'disk.config');
  writeFileSync(configDrive, '');
  truncateSync(configDrive, MiB);
  writeFileSync(join(instances, 'inst-p', 'disk.info'), '{}');
});
afterAll(() => tmp.cleanup());

const conf = (mode: string): Promise<CacheConfig> =>
  loadCacheConfig({ overrides: [`instances_path=${instances}`, `preallocate_images=${mode}`] });

describe('preallocateDisks', () => {
  it('does nothing when preallocate_images is none, even with --yes', async () => {
    const before = allocated(raw);
    const r = await preallocateDisks(await conf('none'), { yes: true });
    expect(r.mode).toBe('none');
    expect(r.disks.every((d) => d.action === 'skipped')).toBe(true);
    expect(allocated(raw)).toBe(before);
  });

  it('reports disks that are not fully allocated, measured as stat(1) measures them', async () => {
    const r = await preallocateDisks(await conf('space'));
    expect(r.dryRun).toBe(true);
    const byPath = Object.fromEntries(r.disks.map((d) => [d.path, d]));
    expect(Object.keys(byPath).sort()).toEqual([raw, configDrive, qcow].sort());
    expect(byPath[raw]).toMatchObject({ format: 'raw', targetBytes: 8 * MiB, allocatedBytes: allocated(raw), action: 'would-fallocate' });
    expect(byPath[qcow]).toMatchObject({ format: 'qcow2', virtualSize: 4 * MiB, allocatedBytes: allocated(qcow), action: 'would-fallocate' });
    expect(byPath[qcow]!.targetBytes).toBe(Math.max(statSync(qcow).size, 4 * MiB));
    expect(byPath[configDrive]!.action).toBe('skipped');
    expect(r.summary.notFullyAllocated).toBe(2);
  });

  it('with --yes fallocates the holes without changing size or data', async () => {
    const rawSum = digest(raw);
    const qcowSum = digest(qcow);
    const sizes = [statSync(raw).size, statSync(qcow).size];
    const r = await preallocateDisks(await conf('space'), { yes: true });
    expect(r.summary).toMatchObject({ fallocated: 2, failed: 0 });
    expect([statSync(raw).size, statSync(qcow).size]).toEqual(sizes);
    expect(digest(raw)).toBe(rawSum);
    expect(digest(qcow)).toBe(qcowSum);
    expect(allocated(raw)).toBeGreaterThanOrEqual(8 * MiB);
    expect(allocated(qcow)).toBeGreaterThanOrEqual(4 * MiB);
    exec('qemu-img', ['check', '-q', qcow]);
    expect(exec('qemu-io', ['-c', 'read -P 0x5a 1M 64k', qcow]).stdout).toContain('read 65536/65536 bytes');
    const again = await preallocateDisks(await conf('space'));
    expect(again.disks.filter((d) => d.action === 'would-fallocate')).toEqual([]);
  });

  it('reports a failing fallocate as a coded failure', async () => {
    truncateSync(raw, 16 * MiB);
    const r = await preallocateDisks(await conf('space'), { yes: true, fallocate: join(tmp.path, 'no-such-fallocate') });
    const d = r.disks.find((x) => x.path === raw)!;
    expect(d).toMatchObject({ action: 'failed', error: { code: 'E_CACHE_FALLOCATE_FAILED' } });
    expect(d.reason).toContain('not found');
  });
});
