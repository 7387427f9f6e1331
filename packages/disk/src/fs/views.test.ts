import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTree, exec, requireTools, splice, tempDir } from '@xenkit/fixtures';
import { openDisk, type Disk } from '../block/open.js';
import { probeDisk, type Volume } from '../layout/probe-disk.js';
import { openExtFileSystem } from './ext.js';
import { HostTreeFileSystem } from './host-tree.js';
import { openIso9660FileSystem } from './iso9660.js';
import type { ReadOnlyFileSystem } from './types.js';
import { openVfatFileSystem } from './vfat.js';

// One tree, written by the real tools into ext4, vfat and (genisoimage) iso9660 partitions of one
// qcow2 disk: every view must give the same answers as the host tree, through the same resolver.
const FILES = {
  'openstack/latest/meta_data.json': '{"uuid":"c0ffee"}',
  'openstack/latest/user_data': '#!/bin/sh\necho hi\n',
  'ec2/2009-04-04/meta-data.json': '{}',
  'readme.txt': 'x'.repeat(5000),
};

async function walk(fs: ReadOnlyFileSystem, dir = '/', out: string[] = []): Promise<string[]> {
  for (const name of await fs.readdir(dir)) {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = await fs.stat(p);
    if (st.type === 'directory') {
      out.push(`${p}/`);
      await walk(fs, p, out);
    } else {
      out.push(`${p} ${st.type} ${st.size} ${Buffer.from(await fs.readFile(p)).toString('base64')}`);
    }
  }
  return out;
}

/** How a view answers the path questions the resolver decides, errors by code. */
async function resolution(fs: ReadOnlyFileSystem): Promise<unknown[]> {
  const code = (p: Promise<unknown>) => p.then((v) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v)).catch((e: { code?: string }) => e.code);
  return Promise.all([
    code(fs.realpath('/openstack/latest/../../ec2/./2009-04-04/')),
    code(fs.readFile('/../../../openstack/latest/user_data')),
    code(fs.readFile('/openstack/latest/user_data/x')),
    code(fs.readFile('/openstack')),
    code(fs.readFile('/readme.txt', { maxBytes: 100 })),
    code(fs.readdir('/readme.txt')),
    code(fs.readlink('/readme.txt')),
    code(fs.readFile('/etc/passwd')),
    fs.exists('/../ec2'),
    fs.exists('/nope'),
    fs.exists('/readme.txt/x'),
    code(fs.stat('relative')),
  ]);
}

describe('every filesystem view on one tree', () => {
  const tmp = tempDir('xenkit-views-');
  const tree = join(tmp.path, 'tree');
  let disk: Disk;
  let volumes: Map<string, Volume>;

  beforeAll(async () => {
    requireTools('genisoimage', 'mkfs.vfat', 'mcopy', 'mke2fs', 'sfdisk', 'qemu-img');
    buildTree(tree, FILES);
    const img = buildImage({
      dir: tmp.path,
      name: 'cd',
      table: 'mbr',
      partitions: [
        { sizeMiB: 8, fs: 'ext4', tree },
        { sizeMiB: 4, fs: 'vfat', tree, label: 'config-2' },
        { sizeMiB: 4, fs: 'none' },
      ],
    });
    const iso = join(tmp.path, 'cd.iso');
    exec('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-J', '-R', tree]);
    const p3 = img.partitions[2] as { offset: number; size: number };
    splice(iso, 0, img.rawPath, p3.offset, Math.min(p3.size, statSync(iso).size));
    const qcow2 = join(tmp.path, 'cd.qcow2');
    exec('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', img.rawPath, qcow2]);
    disk = await openDisk(qcow2);
    const layout = await probeDisk(disk);
    volumes = new Map(layout.volumes.map((v) => [v.id, v]));
  });
  afterAll(async () => {
    await disk?.close();
    tmp.cleanup();
  });

  it('probeDisk finds ext4, vfat and iso9660 on the three partitions', () => {
    expect(['p1', 'p2', 'p3'].map((id) => volumes.get(id)?.filesystem?.type)).toEqual(['ext4', 'vfat', 'iso9660']);
  });

  it('open…FileSystem(source, volume) reads each the same as the host tree, and leaves the source open', async () => {
    const host = await HostTreeFileSystem.open(tree);
    const expected = await walk(host);
    expect(expected.length).toBe(8);
    const views = [
      await openExtFileSystem(disk, volumes.get('p1')),
      await openVfatFileSystem(disk, volumes.get('p2')),
      await openIso9660FileSystem(disk, volumes.get('p3')),
    ];
    expect(views.map((v) => v.description)).toEqual([`ext on ${disk.path} (p1)`, `vfat on ${disk.path} (p2)`, `iso9660 on ${disk.path} (p3)`]);
    for (const fs of views) {
      // ext adds lost+found; the rest of the tree must match byte for byte.
      expect((await walk(fs)).filter((l) => !l.startsWith('/lost+found'))).toEqual(expected);
      await fs.close();
    }
    await host.close();
    expect((await disk.read(510, 2)).length).toBe(2);
  });

  it('path resolution (.., ./, trailing /, size limit, types) answers identically in every view', async () => {
    const host = await HostTreeFileSystem.open(tree);
    const want = await resolution(host);
    expect(want).toEqual([
      '/ec2/2009-04-04',
      FILES['openstack/latest/user_data'],
      'E_FS_NOT_DIRECTORY',
      'E_FS_IS_DIRECTORY',
      'E_FS_TOO_LARGE',
      'E_FS_NOT_DIRECTORY',
      'E_FS_NOT_SYMLINK',
      'E_FS_NOT_FOUND',
      true,
      false,
      false,
      'E_FS_BAD_PATH',
    ]);
    for (const [open, id] of [
      [openExtFileSystem, 'p1'],
      [openVfatFileSystem, 'p2'],
      [openIso9660FileSystem, 'p3'],
    ] as const) {
      const fs = await open(disk, volumes.get(id));
      expect(await resolution(fs), fs.description).toEqual(want);
      await fs.close();
    }
    await host.close();
  });

  it('a volume with no readable ranges is a coded error for every opener', async () => {
    const unmapped: Volume = { id: 'lv:vg/striped', kind: 'lv', offset: 0, size: 4096, segments: [], filesystem: null };
    for (const open of [openExtFileSystem, openVfatFileSystem, openIso9660FileSystem]) {
      await expect(open(disk, unmapped)).rejects.toMatchObject({ code: 'E_FS_CORRUPT', message: expect.stringContaining('lv:vg/striped') });
    }
  });
});
