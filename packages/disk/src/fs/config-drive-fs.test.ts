import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { BufferSource } from '../block/buffer.js';
import { RawSource } from '../block/raw.js';
import { Iso9660FileSystem } from './iso9660.js';
import { VfatFileSystem } from './vfat.js';

// Config drives as nova builds them: genisoimage -J -R -V config-2, or mkfs.vfat -n config-2 + mcopy.
const META = JSON.stringify({ uuid: 'c0ffee00-1111-2222-3333-444455556666', hostname: 'vm-1', public_keys: { mykey: 'ssh-ed25519 AAAAC3Nza test' } });
const LONG = 'a-rather-long-file-name-that-needs-lfn-or-joliet.json';

describe('config-drive filesystems', () => {
  const dir = tempDir('xenkit-cd-');
  const tree = join(dir.path, 'tree');
  const iso = join(dir.path, 'cd.iso');
  const isoPlain = join(dir.path, 'plain.iso');
  const isoJoliet = join(dir.path, 'joliet.iso');
  const vfat = join(dir.path, 'cd.vfat');
  const bigFile = 'x'.repeat(70_000);

  beforeAll(() => {
    requireTools('genisoimage', 'isoinfo', 'mkfs.vfat', 'mcopy', 'mmd');
    mkdirSync(join(tree, 'openstack/latest'), { recursive: true });
    mkdirSync(join(tree, 'ec2/2009-04-04'), { recursive: true });
    writeFileSync(join(tree, 'openstack/latest/meta_data.json'), META);
    writeFileSync(join(tree, 'openstack/latest/user_data'), '#!/bin/sh\necho hi\n');
    writeFileSync(join(tree, 'ec2/2009-04-04/meta-data.json'), '{"public-keys":{"0":{"openssh-key":"ssh-rsa AAAA k"}}}');
    writeFileSync(join(tree, LONG), bigFile);
    exec('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-J', '-R', '-l', tree]);
    exec('genisoimage', ['-quiet', '-o', isoJoliet, '-V', 'config-2', '-J', tree]);
    exec('genisoimage', ['-quiet', '-o', isoPlain, '-V', 'config-2', tree]);
    exec('mkfs.vfat', ['-C', '-n', 'config-2', vfat, '4096']);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    exec('mmd', ['-i', vfat, '::openstack', '::openstack/latest', '::ec2', '::ec2/2009-04-04'], { env });
    exec('mcopy', ['-i', vfat, join(tree, 'openstack/latest/meta_data.json'), join(tree, 'openstack/latest/user_data'), '::openstack/latest/'], { env });
    exec('mcopy', ['-i', vfat, join(tree, 'ec2/2009-04-04/meta-data.json'), '::ec2/2009-04-04/'], { env });
    exec('mcopy', ['-i', vfat, join(tree, LONG), `::${LONG}`], { env });
  });
  afterAll(() => dir.cleanup());

  const cases = [
    { name: 'iso9660 (Rock Ridge + Joliet)', path: () => iso, open: Iso9660FileSystem.open, long: true },
    { name: 'iso9660 (Joliet only)', path: () => isoJoliet, open: Iso9660FileSystem.open, long: true },
    { name: 'vfat (FAT12, long names)', path: () => vfat, open: VfatFileSystem.open, long: true },
  ];
  for (const c of cases) {
    it(`${c.name}: label, listing and contents match what the tool wrote`, async () => {
      const fs = await c.open(await RawSource.open(c.path()));
      expect(fs.label.toLowerCase()).toBe('config-2');
      expect(await fs.readdir('/')).toEqual(expect.arrayContaining(['ec2', 'openstack']));
      expect(new TextDecoder().decode(await fs.readFile('/openstack/latest/meta_data.json'))).toBe(META);
      expect(new TextDecoder().decode(await fs.readFile('/openstack/latest/user_data'))).toBe('#!/bin/sh\necho hi\n');
      expect(await fs.readdir('/ec2')).toEqual(['2009-04-04']);
      expect((await fs.stat('/openstack')).type).toBe('directory');
      if (c.long) expect(new TextDecoder().decode(await fs.readFile(`/${LONG}`))).toBe(bigFile);
      await expect(fs.readFile('/openstack/missing')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
      await expect(fs.readFile('/openstack')).rejects.toMatchObject({ code: 'E_FS_IS_DIRECTORY' });
      await expect(fs.readFile(`/${LONG}`, { maxBytes: 100 })).rejects.toMatchObject({ code: 'E_FS_TOO_LARGE' });
      expect(await fs.exists('/ec2/2009-04-04/meta-data.json')).toBe(true);
      await fs.close();
    });
  }

  it('plain ISO names match isoinfo, lower-cased and without the ;1 version', async () => {
    const fs = await Iso9660FileSystem.open(await RawSource.open(isoPlain));
    const listed = exec('isoinfo', ['-f', '-i', isoPlain]).stdout.trim().split('\n');
    const top = listed.filter((p) => p.lastIndexOf('/') === 0).map((p) => p.slice(1).replace(/;\d+$/, '').toLowerCase());
    expect(await fs.readdir('/')).toEqual(top.sort());
    await fs.close();
  });

  it('probe tells the formats apart; garbage and truncation give coded errors, never a hang', async () => {
    const isoSrc = await RawSource.open(iso);
    const fatSrc = await RawSource.open(vfat);
    expect([await Iso9660FileSystem.probe(isoSrc), await VfatFileSystem.probe(isoSrc)]).toEqual([true, false]);
    expect([await Iso9660FileSystem.probe(fatSrc), await VfatFileSystem.probe(fatSrc)]).toEqual([false, true]);
    await isoSrc.close();
    await fatSrc.close();
    await expect(Iso9660FileSystem.open(new BufferSource(new Uint8Array(40_000)))).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
    await expect(VfatFileSystem.open(new BufferSource(new Uint8Array(4096)))).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
    // Seeded random corruption of real images: every outcome is a result or a coded error.
    const { readFileSync } = await import('node:fs');
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (const [file, Fs] of [[iso, Iso9660FileSystem], [vfat, VfatFileSystem]] as const) {
      const base = readFileSync(file);
      for (let i = 0; i < 60; i++) {
        const img = Buffer.from(base);
        for (let k = 0; k < 16; k++) img[Math.floor(rand() * Math.min(img.length, 80_000))] = Math.floor(rand() * 256);
        try {
          const fs = await Fs.open(new BufferSource(img));
          for (const p of ['/openstack/latest/meta_data.json', `/${LONG}`]) await fs.readFile(p).catch((e: { code?: string }) => expect(e.code).toMatch(/^E_/));
          await fs.readdir('/ec2').catch((e: { code?: string }) => expect(e.code).toMatch(/^E_/));
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/^E_/);
        }
      }
    }
  });
});
