import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTree, exec, requireTools, splice, tempDir, type BuiltImage } from '@xenkit/fixtures';
import { RawSource } from '../block/raw.js';
import { probeDisk } from '../layout/probe-disk.js';
import { withExtImage } from '../test-helpers/ext.js';
import { openExtFileSystem } from './ext.js';
import type { ReadOnlyFileSystem } from './types.js';

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('openExtFileSystem (libext2fs over a read-only BlockSource view)', () => {
  const tmp = tempDir('xenkit-extfs-');
  let img: BuiltImage;
  let before: string;
  const big = 'x'.repeat(300_000);

  beforeAll(() => {
    requireTools('mke2fs', 'debugfs', 'e2fsck', 'sfdisk');
    const tree = buildTree(join(tmp.path, 'tree'), {
      'etc/hostname': 'guest\n',
      'etc/udev/rules.d/70-persistent-net.rules': '',
      'etc/alternatives/editor': { symlink: '/usr/bin/vim' },
      'etc/escape': { symlink: '../../../../../../etc/shadow' },
      'etc/loop': { symlink: 'loop' },
      'usr/bin/vim': { content: '#!vim', mode: 0o755 },
      'bin': { symlink: 'usr/bin' },
      'var/big': big,
      'empty': { dir: true },
    });
    img = buildImage({
      dir: tmp.path,
      name: 'ext',
      table: 'mbr',
      partitions: [
        { sizeMiB: 16, fs: 'ext4', tree },
        { sizeMiB: 8, fs: 'ext2', tree, mkfsArgs: ['-b', '1024'] },
        { sizeMiB: 48, fs: 'lvm' },
      ],
      lvm: { vg: 'extvg', lvs: [{ name: 'root', sizeMiB: 8, fs: 'ext3', tree, extendMiB: 8 }, { name: 'pad', sizeMiB: 4, fs: 'none' }] },
    });
    before = sha(img.rawPath);
  });
  afterAll(() => tmp.cleanup());

  function withFs<T>(volumeId: string, fn: (fs: ReadOnlyFileSystem) => Promise<T>): Promise<T> {
    return withExtImage(img.rawPath, fn, async (src) => {
      const volume = (await probeDisk(src)).volumes.find((v) => v.id === volumeId);
      if (!volume) throw new Error(`no volume ${volumeId}`);
      return volume;
    });
  }

  it('reads files byte-for-byte as debugfs cat prints them, on partitions and on a two-segment LV', async () => {
    const lv = img.lvs.find((l) => l.name === 'root');
    // debugfs reads the LV only where it is contiguous; the first segment holds the root directory.
    const where: [string, string][] = [
      ['p1', `${img.rawPath}?offset=${img.partitions[0]?.offset}`],
      ['p2', `${img.rawPath}?offset=${img.partitions[1]?.offset}`],
    ];
    for (const [id, dev] of where) {
      await withFs(id, async (fs) => {
        for (const f of ['/etc/hostname', '/usr/bin/vim', '/var/big']) {
          const ref = exec('debugfs', ['-R', `cat ${f}`, dev]).stdout;
          expect(new TextDecoder().decode(await fs.readFile(f))).toBe(ref);
        }
      });
    }
    expect(lv?.segments.length).toBe(2);
    // Reassemble the LV's segments into one file so debugfs can read it as the kernel would see it.
    const flat = join(tmp.path, 'lv-root.img');
    let at = 0;
    for (const seg of lv?.segments ?? []) {
      splice(img.rawPath, seg.offset, flat, at, seg.size);
      at += seg.size;
    }
    await withFs('lv:extvg/root', async (fs) => {
      for (const f of ['/etc/hostname', '/usr/bin/vim', '/var/big']) {
        expect(new TextDecoder().decode(await fs.readFile(f))).toBe(exec('debugfs', ['-R', `cat ${f}`, flat]).stdout);
      }
      expect(new TextDecoder().decode(await fs.readFile('/var/big'))).toBe(big);
      expect(await fs.readdir('/etc')).toEqual(['alternatives', 'escape', 'hostname', 'loop', 'udev']);
    });
  });

  it('lists, stats and resolves links inside the image root', async () => {
    await withFs('p1', async (fs) => {
      expect(await fs.readdir('/')).toEqual(['bin', 'empty', 'etc', 'lost+found', 'usr', 'var']);
      expect((await fs.stat('/etc')).type).toBe('directory');
      expect((await fs.lstat('/bin')).type).toBe('symlink');
      expect(await fs.readlink('/bin')).toBe('usr/bin');
      expect(await fs.realpath('/bin/vim')).toBe('/usr/bin/vim');
      expect(await fs.realpath('/etc/alternatives/editor')).toBe('/usr/bin/vim');
      expect((await fs.stat('/usr/bin/vim')).mode & 0o777).toBe(0o755);
      expect((await fs.stat('/etc/udev/rules.d/70-persistent-net.rules')).size).toBe(0);
      expect(await fs.exists('/etc/udev/rules.d/70-persistent-net.rules')).toBe(true);
      expect(await fs.exists('/etc/shadow')).toBe(false);
      expect(await fs.readdir('/empty')).toEqual([]);
    });
  });

  it('gives coded errors for escapes, loops, limits and wrong types', async () => {
    await withFs('p1', async (fs) => {
      await expect(fs.readFile('/etc/escape')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
      await expect(fs.stat('/etc/loop')).rejects.toMatchObject({ code: 'E_FS_SYMLINK_LOOP' });
      await expect(fs.readFile('/var/big', { maxBytes: 1000 })).rejects.toMatchObject({ code: 'E_FS_TOO_LARGE' });
      await expect(fs.readFile('/etc')).rejects.toMatchObject({ code: 'E_FS_IS_DIRECTORY' });
      await expect(fs.readdir('/etc/hostname')).rejects.toMatchObject({ code: 'E_FS_NOT_DIRECTORY' });
      await expect(fs.readlink('/etc/hostname')).rejects.toMatchObject({ code: 'E_FS_NOT_SYMLINK' });
      await expect(fs.readFile('relative')).rejects.toMatchObject({ code: 'E_FS_BAD_PATH' });
      await expect(fs.readFile('/nope')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
    });
  });

  it('refuses a volume that is not ext with a coded error', async () => {
    const src = await RawSource.open(img.rawPath);
    try {
      const layout = await probeDisk(src);
      const pad = layout.volumes.find((v) => v.id === 'lv:extvg/pad');
      await expect(openExtFileSystem(src, pad)).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
    } finally {
      await src.close();
    }
  });

  it('leaves the image byte-identical and e2fsck -fn clean', async () => {
    await withFs('p1', async (fs) => {
      await fs.readFile('/etc/hostname');
      await fs.readdir('/usr/bin');
    });
    expect(sha(img.rawPath)).toBe(before);
    for (const p of img.partitions.slice(0, 2)) {
      const r = exec('e2fsck', ['-fn', `${img.rawPath}?offset=${p.offset}`], { allowFailure: true });
      expect({ status: r.status, out: r.stdout }).toMatchObject({ status: 0 });
    }
  });
});
