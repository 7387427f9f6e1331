import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, rng, tempDir } from '@xenkit/fixtures';
import { withExtImage } from '../test-helpers/ext.js';
import { FsError } from './errors.js';
import type { ReadOnlyFileSystem } from './types.js';

// Every file of real mke2fs-made filesystems, read through xenkit's block map, must equal what
// debugfs (e2fsprogs' own reader) and the source tree hold: extent trees of depth 0 and 1, ext2/3
// indirect blocks (single and double), 1 KiB and 4 KiB blocks, holes, with and without metadata_csum
// and 64bit descriptors; inline data goes through libext2fs.
const VARIANTS: Array<{ name: string; args: string[]; inline?: number }> = [
  { name: 'ext4-default', args: ['-t', 'ext4', '-b', '4096'] },
  { name: 'ext4-1k', args: ['-t', 'ext4', '-b', '1024'] },
  { name: 'ext4-nocsum-32bit', args: ['-t', 'ext4', '-b', '4096', '-O', '^metadata_csum,^64bit'] },
  { name: 'ext4-csum-seed', args: ['-t', 'ext4', '-b', '4096', '-O', 'metadata_csum_seed'] },
  { name: 'ext3', args: ['-t', 'ext3', '-b', '4096'] },
  { name: 'ext2-1k', args: ['-t', 'ext2', '-b', '1024'] },
  { name: 'ext4-inline', args: ['-t', 'ext4', '-b', '4096', '-O', 'inline_data'], inline: 2 },
];

const withFs = <T>(img: string, fn: (fs: ReadOnlyFileSystem & { mappedReads: number }) => Promise<T>): Promise<T> => withExtImage<ReadOnlyFileSystem & { mappedReads: number }, T>(img, fn);

describe('ext data read through the block map', () => {
  const tmp = tempDir('xenkit-extmap-');
  const tree = join(tmp.path, 'tree');
  const files: Record<string, Buffer> = {};

  beforeAll(() => {
    requireTools('mke2fs', 'debugfs');
    const random = rng(7);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random.int(256)));
    files['/small.txt'] = Buffer.from('hello\n');
    files['/empty'] = Buffer.alloc(0);
    files['/block'] = bytes(4096);
    files['/etc/medium'] = bytes(300_000);
    files['/boot/big'] = randomBytes(5 << 20);
    mkdirSync(join(tree, 'etc'), { recursive: true });
    mkdirSync(join(tree, 'boot'), { recursive: true });
    for (const [p, b] of Object.entries(files)) writeFileSync(join(tree, p), b);
    // 24 islands of data with holes between: more extents than an inode holds (a depth-1 tree), and
    // zero runs in ext2/3's indirect map.
    const sparse = Buffer.alloc(24 * 200_000);
    const fd = openSync(join(tree, 'sparse'), 'w');
    for (let i = 0; i < 24; i++) {
      const island = bytes(3000 + i * 50);
      writeSync(fd, island, 0, island.length, i * 200_000);
      island.copy(sparse, i * 200_000);
    }
    writeSync(fd, Buffer.from([1]), 0, 1, sparse.length - 1);
    sparse[sparse.length - 1] = 1;
    closeSync(fd);
    files['/sparse'] = sparse;
    // Metadata the lookups must get right: a directory big enough to be hashed (e2fsck -D indexes it),
    // fast and slow symlinks, 32-bit owners, an old mtime, a nested tree.
    mkdirSync(join(tree, 'many/deeper/deepest'), { recursive: true });
    for (let i = 0; i < 400; i++) writeFileSync(join(tree, 'many', `entry-with-a-longish-name-${i}.conf`), `${i}\n`);
    writeFileSync(join(tree, 'many/deeper/deepest/leaf'), 'leaf\n');
    symlinkSync('boot/big', join(tree, 'fast-link'));
    symlinkSync(`/many/deeper${'/deepest/..'.repeat(8)}/deepest/leaf`, join(tree, 'slow-link'));
    writeFileSync(join(tree, 'owned'), 'owned\n');
    chownSync(join(tree, 'owned'), 100_000, 200_000);
    utimesSync(join(tree, 'owned'), 1_000_000, 1_000_000);
    for (const v of VARIANTS) {
      const img = join(tmp.path, `${v.name}.img`);
      writeFileSync(img, '');
      exec('truncate', ['-s', '48M', img]);
      exec('mke2fs', ['-q', '-F', ...v.args, '-d', tree, img]);
      // e2fsck -D rebuilds directories, hashing the big one where dir_index is on (exit 1: "modified").
      const fsck = spawnSync('e2fsck', ['-fyD', img]);
      expect([0, 1], `e2fsck -fyD ${v.name}: ${fsck.stderr}`).toContain(fsck.status);
    }
  });
  afterAll(() => tmp.cleanup());

    for (const v of VARIANTS) {
    it(`${v.name}: every file equals the tree and debugfs's cat`, async () => {
      const img = join(tmp.path, `${v.name}.img`);
      await withFs(img, async (fs) => {
        for (const [path, want] of Object.entries(files)) {
          const got = Buffer.from(await fs.readFile(path));
          expect(got.equals(want), `${path} vs tree`).toBe(true);
          let peer = spawnSync('debugfs', ['-R', `cat ${path}`, img], { maxBuffer: 64 << 20 }).stdout;
          // debugfs 1.47's cat prints an inline file's whole 60-byte i_block, not just its i_size bytes.
          if (v.inline && want.length < 60) peer = peer.subarray(0, want.length);
          expect(got.equals(peer), `${path} vs debugfs`).toBe(true);
        }
        // Inline data (files of a few bytes) is libext2fs's to read; everything else was mapped.
        expect(fs.mappedReads).toBe(Object.keys(files).length - (v.inline ?? 0));
      });
    });
  }

  for (const v of VARIANTS) {
    it(`${v.name}: every lookup, listing and link answered as libext2fs answers it${v.inline ? '' : ', without calling it'}`, async () => {
      await withFs(join(tmp.path, `${v.name}.img`), async (fs) => {
        const lib = (fs as unknown as { fs: { promises: Record<string, (p: string) => Promise<unknown>> } }).fs.promises;
        const calls = (fs as unknown as { libext2fsCalls: number }).libext2fsCalls;
        const seen: string[] = [];
        const walk = async (dir: string): Promise<void> => {
          const names = await fs.readdir(dir);
          const theirs = ((await lib.readdir!(dir)) as string[]).filter((n) => n !== '.' && n !== '..').sort();
          expect(names, dir).toEqual(theirs);
          for (const name of names) {
            const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
            seen.push(path);
            const ours = await fs.lstat(path);
            const st = (await lib.lstat!(path)) as { mode: number; uid: number; gid: number; size: number; ino: number; nlink: number; mtime: Date };
            // node-ext2fs's glue returns only i_uid/i_gid's low 16 bits; debugfs (below) has the whole owner.
            expect({ ...ours, uid: ours.uid & 0xffff, gid: ours.gid & 0xffff }, path).toEqual({ type: ours.type, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtime.getTime(), ino: st.ino, nlink: st.nlink });
            if (ours.type === 'symlink') expect(await fs.readlink(path), path).toBe(await lib.readlink!(path));
            if (ours.type === 'directory') await walk(path);
          }
        };
        await walk('/');
        expect(seen.length).toBeGreaterThan(400);
        if (v.name === 'ext4-default') {
          // The 400-entry directory really is hashed (EXT4_INDEX_FL), so htree blocks were walked.
          const flags = /Flags:\s+0x([0-9a-f]+)/.exec(exec('debugfs', ['-R', 'stat /many', join(tmp.path, `${v.name}.img`)]).stdout);
          expect(Number.parseInt(flags?.[1] ?? '0', 16) & 0x1000).toBe(0x1000);
        }
        expect(await fs.exists('/many/nope')).toBe(false);
        expect(await fs.readFile('/slow-link').then((b) => Buffer.from(b).toString())).toBe('leaf\n');
        const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(exec('debugfs', ['-R', 'stat /owned', join(tmp.path, `${v.name}.img`)]).stdout);
        expect(owner?.slice(1, 3)).toEqual(['100000', '200000']);
        expect(await fs.stat('/owned')).toMatchObject({ uid: 100_000, gid: 200_000 });
        const ownCalls = (fs as unknown as { libext2fsCalls: number }).libext2fsCalls - calls;
        if (v.inline) expect(ownCalls).toBeGreaterThan(0);
        else expect(ownCalls).toBe(0);
      });
    });
  }

  it('ranged reads match the file at random offsets, clipped at the end', async () => {
    const random = rng(11);
    for (const name of ['ext4-default', 'ext2-1k']) {
      await withFs(join(tmp.path, `${name}.img`), async (fs) => {
        for (const path of ['/boot/big', '/sparse', '/etc/medium']) {
          const want = files[path] as Buffer;
          const file = await fs.openFile(path);
          expect(file.size).toBe(want.length);
          for (let i = 0; i < 40; i++) {
            const offset = random.int(want.length + 10);
            const length = random.int(i % 2 ? 64 : 1 << 20);
            const got = Buffer.from(await file.read(offset, length));
            expect(got.equals(want.subarray(offset, offset + length)), `${path} ${offset}+${length}`).toBe(true);
          }
          await expect(file.read(-1, 4)).rejects.toMatchObject({ code: 'E_FS_BAD_RANGE' });
          await file.close();
        }
        await expect(fs.openFile('/etc')).rejects.toMatchObject({ code: 'E_FS_IS_DIRECTORY' });
        await expect(fs.openFile('/nope')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
      });
    }
  });

  it('a damaged extent block is never read as data: the checksum sends the read to libext2fs, which refuses it', async () => {
    const img = join(tmp.path, 'damaged.img');
    copyFileSync(join(tmp.path, 'ext4-default.img'), img);
    const ex = exec('debugfs', ['-R', 'ex /sparse', img]).stdout;
    const index = /^\s*0\/\s*1\s+1\/\s*1\s+\d+\s*-\s*\d+\s+(\d+)/m.exec(ex);
    expect(index, ex).not.toBeNull();
    const leaf = Number(index?.[1]);
    // Change the first extent's length: a map that trusted it would return the wrong bytes.
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.from([0x7f]), 0, 1, leaf * 4096 + 12 + 4);
    closeSync(fd);
    await withFs(img, async (fs) => {
      const read = fs.readFile('/sparse').then((b) => Buffer.from(b).equals(files['/sparse'] as Buffer));
      await expect(read).rejects.toBeInstanceOf(FsError);
      expect(fs.mappedReads).toBe(0);
      // Other files are unaffected.
      expect(Buffer.from(await fs.readFile('/boot/big')).equals(files['/boot/big'] as Buffer)).toBe(true);
    });
    expect(readFileSync(img).length).toBe(48 << 20);
  });
});
