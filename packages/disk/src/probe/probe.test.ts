import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, makeFs, requireTools, tempDir } from '@xenkit/fixtures';
import { RawSource } from '../block/raw.js';
import { blkidAt } from '../test-helpers/tools.js';
import { probeFilesystem } from './probe.js';

const MiB = 1024 * 1024;

/** A sparse file of `mib` MiB. */
function blank(path: string, mib: number): string {
  writeFileSync(path, '');
  exec('truncate', ['-s', `${mib}M`, path]);
  return path;
}

describe('probeFilesystem agrees with blkid -p on volumes made by the real tools', () => {
  const tmp = tempDir('xenkit-probe-');
  const files: Record<string, string> = {};
  beforeAll(() => {
    requireTools('mke2fs', 'mkfs.xfs', 'mkfs.btrfs', 'mkswap', 'mkfs.vfat', 'genisoimage', 'cryptsetup', 'debugfs', 'dumpe2fs', 'blkid', 'truncate');
    const d = tmp.path;
    const fs = (name: string, mib: number, spec: Parameters<typeof makeFs>[3]): void => {
      files[name] = blank(join(d, `${name}.img`), mib);
      makeFs(files[name] as string, 0, mib * MiB, spec, d);
    };
    fs('ext2', 8, { fs: 'ext2', label: 'two' });
    fs('ext3', 8, { fs: 'ext3', uuid: '0b1c7a57-1f0f-4a53-8d7a-5c1e3f2e9a01' });
    fs('ext4', 8, { fs: 'ext4', label: 'root' });
    fs('ext4-nojournal', 8, { fs: 'ext4', mkfsArgs: ['-O', '^has_journal'] });
    fs('ext4-1k', 8, { fs: 'ext4', mkfsArgs: ['-b', '1024', '-O', '^metadata_csum,^64bit'] });
    fs('xfs', 300, { fs: 'xfs', label: 'xdata' });
    fs('swap', 8, { fs: 'swap', label: 'sw', uuid: '9d7d5c2a-8a3e-4a4f-9e79-5d1c0f7e2b11' });
    fs('fat16', 16, { fs: 'vfat', label: 'SMALL', mkfsArgs: ['-F', '16'] });
    fs('fat32', 40, { fs: 'vfat', label: 'BIG', mkfsArgs: ['-F', '32'] });
    files.jbd = blank(join(d, 'jbd.img'), 8);
    exec('mke2fs', ['-q', '-F', '-O', 'journal_dev', '-b', '4096', files.jbd]);
    files.btrfs = blank(join(d, 'btrfs.img'), 128);
    exec('mkfs.btrfs', ['-q', '-L', 'bt', files.btrfs]);
    files.luks = blank(join(d, 'luks.img'), 32);
    exec('cryptsetup', ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--label', 'vault', '--key-file=-', files.luks], { input: 'pw' });
    mkdirSync(join(d, 'iso'));
    writeFileSync(join(d, 'iso', 'a'), 'x');
    files.iso = join(d, 'cd.iso');
    exec('genisoimage', ['-quiet', '-V', 'CLOUDINIT', '-o', files.iso, join(d, 'iso')]);
    files.recover = blank(join(d, 'recover.img'), 8);
    makeFs(files.recover, 0, 8 * MiB, { fs: 'ext4' }, d);
    exec('debugfs', ['-w', '-R', 'feature needs_recovery', files.recover]);
  });
  afterAll(() => tmp.cleanup());

  const probe = async (path: string) => {
    const src = await RawSource.open(path);
    try {
      return await probeFilesystem(src, path);
    } finally {
      await src.close();
    }
  };

  it('names type, label, uuid and version exactly as blkid does', async () => {
    for (const [name, path] of Object.entries(files)) {
      const ref = blkidAt(path, 0);
      expect({ name, blkidType: typeof ref.TYPE }).toEqual({ name, blkidType: 'string' });
      const got = await probe(path);
      const want: Record<string, string | undefined> = { name, type: ref.TYPE, label: ref.LABEL, uuid: ref.UUID };
      expect({ name, type: got?.type, label: got?.label, uuid: got?.uuid }).toEqual(want);
      if (ref.VERSION) expect({ name, version: got?.version }).toEqual({ name, version: ref.VERSION });
      expect(got?.issues.filter((i) => i.code.startsWith('E_'))).toEqual([]);
    }
  });

  it('reports ext features as dumpe2fs lists them, and needs_recovery', async () => {
    for (const name of ['ext2', 'ext3', 'ext4', 'ext4-nojournal', 'ext4-1k', 'recover']) {
      const path = files[name] as string;
      const line = /Filesystem features:\s+(.*)/.exec(exec('dumpe2fs', ['-h', path]).stdout)?.[1] ?? '';
      const got = await probe(path);
      expect({ name, features: got?.ext?.features.slice().sort() }).toEqual({ name, features: line.trim().split(/\s+/).sort() });
      const blockSize = /Block size:\s+(\d+)/.exec(exec('dumpe2fs', ['-h', path]).stdout)?.[1];
      expect(got?.blockSize).toBe(Number(blockSize));
    }
    const rec = await probe(files.recover as string);
    expect(rec?.ext?.needsRecovery).toBe(true);
    expect(rec?.issues.map((i) => i.code)).toContain('W_EXT_NEEDS_RECOVERY');
    expect((await probe(files.ext4 as string))?.ext?.needsRecovery).toBe(false);
  });

  it('reads nothing past the superblocks it needs', async () => {
    const src = await RawSource.open(files.ext4 as string);
    await probeFilesystem(src, 'ext4');
    expect(src.bytesRead).toBeLessThanOrEqual(8192);
    await src.close();
  });

  it('reports nothing for a blank volume', async () => {
    expect(await probe(blank(join(tmp.path, 'zero.img'), 1))).toBeNull();
    expect(readFileSync(files.iso as string).length).toBeGreaterThan(0);
  });
});
