import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectDisk } from '../layout/inspect.js';
import { openDisk, type OpenDiskOptions } from './open.js';
import { qemuInfo } from './test-helpers/qemu.js';

const MiB = 1024 * 1024;

describe('confineBackingTo keeps backing files of untrusted images in one directory', () => {
  const tmp = tempDir('xenkit-confine-');
  const p = (n: string): string => join(tmp.path, n);
  const q = (...args: string[]): void => void exec('qemu-img', args);
  beforeAll(() => {
    requireTools('qemu-img');
    mkdirSync(p('images'));
    mkdirSync(p('host'));
    writeFileSync(p('host/secret.raw'), Buffer.alloc(MiB, 0x5a));
    q('create', '-q', '-f', 'qcow2', p('images/base.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', p('images/good.qcow2'));
    q('create', '-q', '-f', 'qcow2', '-b', p('host/secret.raw'), '-F', 'raw', p('images/absolute.qcow2'));
    q('create', '-q', '-f', 'qcow2', '-b', '../host/secret.raw', '-F', 'raw', p('images/dotdot.qcow2'));
    symlinkSync(p('host/secret.raw'), p('images/link.raw'));
    q('create', '-q', '-f', 'qcow2', '-b', 'link.raw', '-F', 'raw', p('images/symlink.qcow2'));
    q('create', '-q', '-f', 'qcow2', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', p('images/missing.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-u', '-b', p('host/gone.raw'), '-F', 'raw', p('images/missing-outside.qcow2'), '1M');
  });
  afterAll(() => tmp.cleanup());

  const open = async (name: string, options: OpenDiskOptions = {}): Promise<string[]> => {
    const d = await openDisk(p(`images/${name}`), options);
    try {
      return d.chain.map((l) => l.path);
    } finally {
      await d.close();
    }
  };
  const confine = (): OpenDiskOptions => ({ confineBackingTo: p('images') });

  it('by default follows backing names anywhere, as qemu-img does', async () => {
    for (const name of ['absolute.qcow2', 'dotdot.qcow2', 'symlink.qcow2']) {
      expect(qemuInfo(p(`images/${name}`))['backing-filename']).toBeTruthy();
      const qemuChain = exec('qemu-img', ['info', '--backing-chain', p(`images/${name}`)]).stdout.match(/^image: /gm);
      expect(qemuChain).toHaveLength(2);
      expect(await open(name)).toHaveLength(2);
    }
  });

  it('opens a chain that stays inside the directory', async () => {
    expect(await open('good.qcow2', confine())).toEqual([p('images/good.qcow2'), p('images/base.qcow2')]);
    const report = await inspectDisk(p('images/good.qcow2'), confine());
    expect(report.chain).toHaveLength(2);
  });

  it.each(['absolute.qcow2', 'dotdot.qcow2', 'symlink.qcow2', 'missing-outside.qcow2'])('refuses %s with E_DISK_BACKING_OUTSIDE', async (name) => {
    const err = await openDisk(p(`images/${name}`), confine()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_DISK_BACKING_OUTSIDE', details: { path: p(`images/${name}`), confineTo: p('images') } });
    expect((err as Error).message).toContain(p('images'));
    await expect(inspectDisk(p(`images/${name}`), confine())).rejects.toMatchObject({ code: 'E_DISK_BACKING_OUTSIDE' });
  });

  it('still reports a missing backing file inside the directory as not found', async () => {
    await expect(openDisk(p('images/missing.qcow2'), confine())).rejects.toMatchObject({ code: 'E_DISK_BACKING_NOT_FOUND' });
  });

  it('names an unusable confinement directory', async () => {
    await expect(openDisk(p('images/good.qcow2'), { confineBackingTo: p('nowhere') })).rejects.toMatchObject({ code: 'E_DISK_CONFINE_DIR' });
  });
});
