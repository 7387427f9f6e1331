import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageHeader } from './header.js';
import { qemuInfo } from './test-helpers/qemu.js';

describe('readImageHeader', () => {
  const tmp = tempDir('xenkit-hdr-');
  const p = (n: string): string => join(tmp.path, n);
  beforeAll(() => {
    requireTools('qemu-img');
    writeFileSync(p('base.raw'), Buffer.alloc(3 * 1024 * 1024, 7));
    exec('qemu-img', ['convert', '-O', 'qcow2', '-o', 'compat=0.10', p('base.raw'), p('v2.qcow2')]);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'v2.qcow2', '-F', 'qcow2', p('top.qcow2'), '5M']);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', p('overraw.qcow2')]);
    exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', p('dyn.vhd'), '100M']);
    exec('qemu-img', ['convert', '-O', 'vpc', '-o', 'subformat=fixed', p('base.raw'), p('fixed.vhd')]);
    writeFileSync(p('named.qcow2'), Buffer.alloc(8192)); // a raw file named like qcow2: magic decides
  });
  afterAll(() => tmp.cleanup());

  it('reports qcow2 v3 with its backing file and format, like qemu-img info', async () => {
    const h = await readImageHeader(p('top.qcow2'));
    const q = qemuInfo(p('top.qcow2'));
    expect(h).toMatchObject({ format: 'qcow2', version: 3, clusterSize: 4096, backingFile: 'v2.qcow2', backingFormat: 'qcow2' });
    expect(h.virtualSize).toBe(q['virtual-size']);
    expect(h.backingFile).toBe(q['backing-filename']);
    expect(h.backingPath).toBe(q['full-backing-filename']);
  });

  it('reports qcow2 v2 (compat=0.10) and a raw backing format', async () => {
    const v2 = await readImageHeader(p('v2.qcow2'));
    expect(v2).toMatchObject({ format: 'qcow2', version: 2, backingFile: null, virtualSize: qemuInfo(p('v2.qcow2'))['virtual-size'] });
    const o = await readImageHeader(p('overraw.qcow2'));
    expect(o).toMatchObject({ backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 3 * 1024 * 1024 });
  });

  it('reports VHD sizes as qemu-img does', async () => {
    for (const [n, sub] of [['dyn.vhd', 'dynamic'], ['fixed.vhd', 'fixed']] as const) {
      const h = await readImageHeader(p(n));
      expect(h).toMatchObject({ format: 'vhd', subformat: sub, backingFile: null });
      expect(h.virtualSize).toBe(qemuInfo(p(n), 'vpc')['virtual-size']);
    }
  });

  it('detects by magic, not by name', async () => {
    expect(await readImageHeader(p('named.qcow2'))).toMatchObject({ format: 'raw', virtualSize: 8192 });
  });

  it('names the image in a coded error for a missing file', async () => {
    const e = await readImageHeader(p('nope.qcow2')).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_NOT_FOUND' });
    expect(String((e as Error).message)).toContain('nope.qcow2');
  });
});
