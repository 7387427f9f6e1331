import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTree, exec, requireTools, tempDir, type BuiltImage } from '@xenkit/fixtures';
import { runCaptured } from '../test-helpers/capture.js';

describe('xenkit disk', () => {
  const tmp = tempDir('xenkit-cli-disk-');
  let img: BuiltImage;
  beforeAll(() => {
    requireTools('sfdisk', 'mke2fs', 'qemu-img', 'pvcreate');
    const tree = buildTree(join(tmp.path, 'tree'), { 'etc/hostname': 'g\n' });
    img = buildImage({
      dir: tmp.path,
      name: 'cli',
      table: 'mbr',
      format: 'qcow2',
      partitions: [
        { sizeMiB: 8, fs: 'ext4', tree, label: 'root', bootable: true },
        { sizeMiB: 24, fs: 'lvm' },
      ],
      lvm: { vg: 'clivg', lvs: [{ name: 'data', sizeMiB: 8, fs: 'ext3' }] },
    });
  });
  afterAll(() => tmp.cleanup());

  it('prints format, sizes, the layout bar, partitions, LVM and bytes read', async () => {
    const r = await runCaptured(['disk', img.path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: qcow2, virtual 34\.0 MiB, allocated/);
    expect(r.stdout).toMatch(/partition table: mbr \(id 0x[0-9a-f]{8}\)/);
    expect(r.stdout).toMatch(/layout: \[\.?1+2+\.*\]/);
    expect(r.stdout).toMatch(/^\s+1\s+1\.0 MiB\s+8\.0 MiB\s+83 Linux\s+\*\s+ext4 label=root/m);
    expect(r.stdout).toMatch(/^\s+2\s+9\.0 MiB\s+24\.0 MiB\s+8e Linux LVM\s+LVM2_member/m);
    expect(r.stdout).toMatch(/LVM volume group clivg/);
    expect(r.stdout).toMatch(/^\s+data\s+8\.0 MiB\s+1\s+ext3 \(parted: ext3\)|^\s+data\s+8\.0 MiB\s+1\s+ext3 /m);
    expect(r.stdout).toMatch(/read [\d.]+ KiB to find the layout/);
  });

  it('--json prints the same report as data', async () => {
    const r = await runCaptured(['disk', img.path, '--json']);
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout) as {
      format: string;
      virtualSize: number;
      layout: { partitions: { number: number; offset: number }[]; volumes: { id: string; filesystem: { type: string } | null }[]; bytesRead: number };
    };
    expect(data.format).toBe('qcow2');
    expect(data.virtualSize).toBe(img.size);
    expect(data.layout.partitions.map((p) => [p.number, p.offset])).toEqual(img.partitions.map((p) => [p.number, p.offset]));
    expect(data.layout.volumes.find((v) => v.id === 'lv:clivg/data')?.filesystem?.type).toBe('ext3');
    expect(data.layout.bytesRead).toBeGreaterThan(0);
  });

  it('exits 2 with a coded error for a GPT whose both headers are damaged', async () => {
    const bad = buildImage({ dir: tmp.path, name: 'badgpt', table: 'gpt', partitions: [{ sizeMiB: 2, fs: 'none' }] });
    const fd = openSync(bad.rawPath, 'r+');
    writeSync(fd, Buffer.from('XX'), 0, 2, 512 + 60);
    writeSync(fd, Buffer.from('XX'), 0, 2, bad.size - 512 + 60);
    closeSync(fd);
    const r = await runCaptured(['disk', bad.rawPath]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/E_GPT_CORRUPT/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 with a coded error for a missing image', async () => {
    const r = await runCaptured(['disk', join(tmp.path, 'missing.img')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/E_NOT_FOUND/);
  });

  it('--confine-backing refuses a backing file outside the directory (exit 2) and allows one inside', async () => {
    const dir = join(tmp.path, 'untrusted');
    mkdirSync(dir);
    const escape = join(dir, 'escape.qcow2');
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', img.path, '-F', 'qcow2', escape]);
    const open = await runCaptured(['disk', escape]);
    expect(open.status).toBe(0);
    expect(open.stdout).toMatch(/chain: .*escape\.qcow2 \(qcow2\) -> .*\(qcow2\)/);
    const refused = await runCaptured(['disk', '--confine-backing', dir, escape]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/E_DISK_BACKING_OUTSIDE/);
    expect(refused.stdout).toBe('');
    exec('qemu-img', ['convert', '-O', 'qcow2', img.path, join(dir, 'base.qcow2')]);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(dir, 'top.qcow2')]);
    const inside = await runCaptured(['disk', '--confine-backing', dir, join(dir, 'top.qcow2')]);
    expect(inside.status).toBe(0);
    expect(inside.stdout).toMatch(/chain: .*top\.qcow2 \(qcow2\) -> .*base\.qcow2 \(qcow2\)/);
  });
});
