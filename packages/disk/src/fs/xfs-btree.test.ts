import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { RawSource } from '../block/raw.js';
import { openXfsFileSystem } from './xfs.js';

// mkfs.xfs -p writes every file as one allocation, so a bmbt (btree-format) data fork needs a real
// fragmented file: xfs_io writes one on a loop mount (root only), and the kernel's copy of it is the
// reference. Everything else in the XFS tests is made without mounting.
describe('openXfsFileSystem on a btree-format file written by the kernel (loop mount)', () => {
  const tmp = tempDir('xenkit-xfs-bt-');
  afterAll(() => tmp.cleanup());

  it('reads a fragmented file through its bmbt (holes and unwritten extents too) and a remote v5 symlink as the kernel wrote them', async () => {
    requireTools('mkfs.xfs', 'xfs_db', 'xfs_io', 'mount', 'umount', 'truncate');
    if (process.getuid?.() !== 0) throw new Error('this test loop-mounts an XFS image (to make a btree-format file) and must run as root');
    const img = join(tmp.path, 'bt.img');
    const mnt = join(tmp.path, 'mnt');
    exec('mkdir', ['-p', mnt]);
    exec('truncate', ['-s', '320M', img]);
    exec('mkfs.xfs', ['-q', img], { env: { ...process.env, TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' } });
    const longTarget = `/${'a'.repeat(250)}/${'b'.repeat(250)}/${'c'.repeat(250)}/end`;
    const writes = Array.from({ length: 100 }, (_, i) => ['-c', `pwrite -q -S ${(i % 250) + 1} ${i * 8192} 4096`]).flat();
    exec('mount', ['-o', 'loop', img, mnt]);
    try {
      exec('xfs_io', ['-f', ...writes, '-c', 'falloc 2000000 65536', '-c', 'pwrite -q -S 7 3000000 4096', join(mnt, 'frag')]);
      exec('cp', [join(mnt, 'frag'), join(tmp.path, 'kernel-copy')]);
      // mkfs.xfs 6.1's protofile writes v5 remote symlinks without their XSLM header; the kernel does not.
      exec('ln', ['-s', longTarget, join(mnt, 'long')]);
    } finally {
      exec('umount', [mnt]);
    }
    const core = exec('xfs_db', ['-r', '-c', 'path /frag', '-c', 'print core.format core.nextents', img]).stdout;
    expect(core).toContain('core.format = 3 (btree)');
    const source = await RawSource.open(img);
    const fs = await openXfsFileSystem(source);
    try {
      const ours = Buffer.from(await fs.readFile('/frag'));
      expect(ours.equals(readFileSync(join(tmp.path, 'kernel-copy')))).toBe(true);
      expect(ours.length).toBe(3_004_096);
      expect(await fs.readlink('/long')).toBe(longTarget);
      expect(ours[99 * 8192]).toBe(100);
    } finally {
      await fs.close();
      await source.close();
    }
  });
});
