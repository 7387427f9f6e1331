import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XenkitError } from '@xenkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, rng, tempDir } from '@xenkit/fixtures';
import { withExtImage } from '../test-helpers/ext.js';
import type { ReadOnlyFileSystem } from './types.js';

// Hostile ext images: mke2fs-made filesystems whose structures are then damaged with debugfs -w or
// byte patches at offsets debugfs reports. For every path, xenkit's view must either answer exactly
// what libext2fs (the filesystem's fallback, e2fsprogs' own library) answers, or fail with a coded
// XenkitError — quickly, never a hang, a crash or an uncoded exception.

type Lib = Record<'readdir' | 'lstat' | 'readlink', (p: string) => Promise<unknown>>;
type Opened = ReadOnlyFileSystem & { mappedReads: number; libext2fsCalls: number; fs: { promises: Lib } };

const MiB = 1 << 20;

function debugfs(img: string, cmd: string, write = false): string {
  const r = spawnSync('debugfs', [...(write ? ['-w'] : []), '-R', cmd, img], { encoding: 'utf8' });
  // debugfs exits 0 whatever its command thought; anything on stderr beyond its banner is a failure.
  const complaint = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('debugfs 1.'));
  if (r.status !== 0 || complaint.length > 0) throw new Error(`debugfs ${cmd}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The physical blocks debugfs lists for a path (data and map blocks). */
function blocksOf(img: string, path: string): number[] {
  return debugfs(img, `blocks ${path}`).trim().split(/\s+/).filter(Boolean).map(Number);
}

function inodeOf(img: string, path: string): number {
  const m = /Inode:\s+(\d+)/.exec(debugfs(img, `stat ${path}`));
  if (!m) throw new Error(`no inode for ${path}`);
  return Number(m[1]);
}

function patch(img: string, offset: number, bytes: number[] | Buffer): void {
  const fd = openSync(img, 'r+');
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  writeSync(fd, b, 0, b.length, offset);
  closeSync(fd);
}

function peek(img: string, offset: number, length: number): Buffer {
  const fd = openSync(img, 'r');
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** HOSTILE_DEBUG=1: where the readers differ (or xenkit errs), for a person to read; no assertion. */
function note(...what: unknown[]): void {
  appendFileSync(join(tmpdir(), 'xenkit-ext-hostile.log'), `${what.map((w) => String(w instanceof Object && 'ok' in w ? JSON.stringify(w) : w)).join(' ')}\n`);
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

function expectCoded(error: unknown, what: string): void {
  expect(error instanceof XenkitError, `${what}: ${String(error)}`).toBe(true);
  expect((error as XenkitError).code, what).toMatch(/^E_/);
}

/**
 * Walk the whole tree (links not followed, depth-bounded for hard-linked directory cycles),
 * comparing every listing, lstat and link target with libext2fs and reading every file.
 * Returns the paths visited and the errors seen (all coded).
 */
async function compareWithLibext2fs(fs: Opened, maxDepth = 6): Promise<{ seen: string[]; errors: string[] }> {
  const lib = fs.fs.promises;
  const seen: string[] = [];
  const errors: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const ours = await settle(fs.readdir(dir));
    if (!ours.ok) {
      expectCoded(ours.error, `readdir ${dir}`);
      errors.push(`readdir ${dir}: ${(ours.error as XenkitError).code}`);
      return;
    }
    const theirs = await settle(lib.readdir(dir));
    if (process.env.HOSTILE_DEBUG && !theirs.ok) note('DISAGREE readdir', dir, String(theirs.error));
    if (theirs.ok) {
      expect([...ours.value].sort(), `readdir ${dir}`).toEqual((theirs.value as string[]).filter((n) => n !== '.' && n !== '..').sort());
    }
    for (const name of ours.value) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      seen.push(path);
      const st = await settle(fs.lstat(path));
      const their = await settle(lib.lstat(path));
      if (!st.ok) {
        expectCoded(st.error, `lstat ${path}`);
        errors.push(`lstat ${path}: ${(st.error as XenkitError).code}`);
        continue;
      }
      if (process.env.HOSTILE_DEBUG && !their.ok) note('DISAGREE lstat', path, 'ours ok, lib:', String(their.error));
      if (their.ok) {
        const t = their.value as { mode: number; size: number; ino: number; nlink: number; uid: number; gid: number; mtime: Date };
        // node-ext2fs's glue returns only i_uid/i_gid's low 16 bits.
        expect({ mode: st.value.mode, size: st.value.size, ino: st.value.ino, nlink: st.value.nlink, uid: st.value.uid & 0xffff, gid: st.value.gid & 0xffff, mtimeMs: st.value.mtimeMs }, `lstat ${path}`).toEqual({
          mode: t.mode,
          size: t.size,
          ino: t.ino,
          nlink: t.nlink,
          uid: t.uid,
          gid: t.gid,
          mtimeMs: t.mtime.getTime(),
        });
      }
      if (st.value.type === 'symlink') {
        const link = await settle(fs.readlink(path));
        const theirLink = await settle(lib.readlink(path));
        if (process.env.HOSTILE_DEBUG && link.ok !== theirLink.ok) note('DISAGREE readlink', path, link, theirLink);
        if (link.ok && theirLink.ok) expect(link.value, `readlink ${path}`).toBe(theirLink.value);
        else if (!link.ok) {
          expectCoded(link.error, `readlink ${path}`);
          errors.push(`readlink ${path}: ${(link.error as XenkitError).code}`);
        }
      } else if (st.value.type === 'file') {
        const data = await settle(fs.readFile(path));
        // libext2fs's own read of the same file (small files only: the hostile sizes are huge).
        const theirData = st.value.size <= 1 << 20 ? await settle(libRead(fs, path, st.value.size)) : null;
        if (data.ok && theirData?.ok) expect(Buffer.from(data.value).equals(Buffer.from(theirData.value)), `read ${path}`).toBe(true);
        if (process.env.HOSTILE_DEBUG && theirData && data.ok !== theirData.ok) note('DISAGREE read', path, String(data.ok ? '' : data.error), String(theirData.ok ? '' : theirData.error));
        if (!data.ok) {
          expectCoded(data.error, `read ${path}`);
          errors.push(`read ${path}: ${(data.error as XenkitError).code}`);
        }
      } else if (st.value.type === 'directory' && depth < maxDepth) {
        await walk(path, depth + 1);
      }
    }
  };
  await walk('/', 0);
  return { seen, errors };
}

/** The bytes libext2fs reads for a path (through the filesystem's own fallback reader). */
async function libRead(fs: Opened, path: string, size: number): Promise<Uint8Array> {
  return (fs as unknown as { readWhole(p: string, n: number): Promise<Uint8Array> }).readWhole(path, size);
}

const withFs = <T>(img: string, fn: (fs: Opened) => Promise<T>): Promise<T> => withExtImage<Opened, T>(img, fn);

describe('ext reader on hostile images', () => {
  const tmp = tempDir('xenkit-ext-hostile-');
  const tree = join(tmp.path, 'tree');
  let n = 0;

  beforeAll(() => {
    requireTools('mke2fs', 'debugfs', 'e2fsck', 'truncate');
    mkdirSync(join(tree, 'etc/sub'), { recursive: true });
    mkdirSync(join(tree, 'many'), { recursive: true });
    writeFileSync(join(tree, 'etc/hostname'), 'guest\n');
    writeFileSync(join(tree, 'etc/sub/deep'), 'deep\n');
    for (let i = 0; i < 300; i++) writeFileSync(join(tree, 'many', `name-${i}-padding-padding`), `${i}\n`);
    writeFileSync(join(tree, 'data'), Buffer.alloc(200_000, 0x61));
    writeFileSync(join(tree, 'block'), Buffer.alloc(4096, 0x62));
    // Islands with holes: a depth-1 extent tree on ext4, indirect blocks on ext2.
    const fd = openSync(join(tree, 'sparse'), 'w');
    for (let i = 0; i < 12; i++) writeSync(fd, Buffer.alloc(3000, 0x41 + i), 0, 3000, i * 100_000);
    closeSync(fd);
    symlinkSync('etc/hostname', join(tree, 'fast'));
    symlinkSync(`/etc/${'sub/../'.repeat(12)}hostname`, join(tree, 'slow'));
  });
  afterAll(() => tmp.cleanup());

  function make(args: string[], size = 16 * MiB): string {
    const img = join(tmp.path, `img-${n++}.img`);
    writeFileSync(img, '');
    exec('truncate', ['-s', String(size), img]);
    exec('mke2fs', ['-q', '-F', ...args, '-d', tree, img]);
    return img;
  }

  describe('feature variants read exactly as libext2fs reads them', () => {
    const variants: Array<[string, string[]]> = [
      ['ext4 without journal', ['-t', 'ext4', '-O', '^has_journal']],
      ['ext4 with 128-byte inodes', ['-t', 'ext4', '-I', '128']],
      ['ext4 metadata_csum without dir_index', ['-t', 'ext4', '-O', 'metadata_csum,^dir_index']],
      ['ext4 meta_bg', ['-t', 'ext4', '-O', 'meta_bg,^resize_inode']],
      ['ext4 uninit_bg without metadata_csum', ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg']],
      ['ext4 2 KiB blocks, few inodes', ['-t', 'ext4', '-b', '2048', '-N', '600']],
      ['ext3 128-byte inodes', ['-t', 'ext3', '-I', '128', '-b', '1024']],
      ['ext4 encrypt feature (all through libext2fs)', ['-t', 'ext4', '-O', 'encrypt']],
    ];
    for (const [name, args] of variants) {
      it(name, async () => {
        const img = make(args);
        // e2fsck -fyD hashes /many where dir_index is on; exit 1 means "modified".
        expect([0, 1]).toContain(spawnSync('e2fsck', ['-fyD', img]).status);
        await withFs(img, async (fs) => {
          const { seen, errors } = await compareWithLibext2fs(fs);
          expect(errors).toEqual([]);
          expect(seen.length).toBeGreaterThan(300);
          for (const path of ['/data', '/sparse', '/block', '/etc/sub/deep']) {
            const st = await fs.stat(path);
            expect(Buffer.from(await fs.readFile(path)).equals(Buffer.from(await libRead(fs, path, st.size))), path).toBe(true);
          }
          expect(new TextDecoder().decode(await fs.readFile('/slow'))).toBe('guest\n');
          if (!name.includes('meta_bg') && !name.includes('encrypt')) expect(fs.mappedReads).toBeGreaterThan(0);
        });
      });
    }
  });

  // The ext2fs package's libext2fs build refuses to mount these (e2fsck and debugfs 1.47 read them):
  // the view must say so with a coded error naming the reason, rather than guess.
  for (const [name, args, reason] of [
    ['bigalloc', ['-t', 'ext4', '-O', 'bigalloc', '-C', '16384'], /legacy bitmaps/],
    ['64 KiB blocks', ['-t', 'ext4', '-b', '65536'], /bitmap/],
    ['casefold', ['-t', 'ext4', '-O', 'casefold'], /unsupported feature/],
  ] as const) {
    it(`ext4 ${name}: refused with a coded error`, async () => {
      const img = make([...args], 64 * MiB);
      // Valid filesystems by e2fsprogs 1.47's own reckoning: the refusal is the bundled library's.
      expect(spawnSync('e2fsck', ['-fn', img]).status).toBe(0);
      expect(debugfs(img, 'cat /etc/hostname')).toContain('guest');
      await expect(withFs(img, async () => undefined)).rejects.toMatchObject({ code: 'E_FS_CORRUPT', message: expect.stringMatching(reason) });
    });
  }

  /** Byte offset of the directory entry `name` in directory `dir`'s first block. */
  function direntOffset(img: string, dir: string, name: string): number {
    const bs = Number(/Block size:\s+(\d+)/.exec(debugfs(img, 'stats'))?.[1]);
    const block = blocksOf(img, dir)[0] as number;
    const bytes = peek(img, block * bs, bs);
    const at = bytes.indexOf(Buffer.from(name));
    if (at < 8) throw new Error(`${name} not in ${dir}'s first block`);
    return block * bs + at - 8;
  }

  const ext4 = ['-t', 'ext4', '-b', '4096'];
  const ext4NoCsum = ['-t', 'ext4', '-b', '4096', '-O', '^metadata_csum,^dir_index'];
  const ext2 = ['-t', 'ext2', '-b', '4096'];
  const cases: Array<{ name: string; args: string[]; damage: (img: string) => void; check?: (fs: Opened, img: string) => Promise<void> }> = [
    {
      name: 'a hard-linked directory cycle (/etc/sub/loop is /etc)',
      args: ext4,
      damage: (img) => debugfs(img, 'link /etc /etc/sub/loop', true),
      check: async (fs) => {
        const ours = await fs.lstat('/etc/sub/loop/sub/loop/sub/loop/hostname');
        expect(ours.ino).toBe(((await fs.fs.promises.lstat('/etc/sub/loop/sub/loop/sub/loop/hostname')) as { ino: number }).ino);
      },
    },
    { name: 'a dirent with rec_len 0', args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc', 'hostname') + 4, u16(0)) },
    { name: 'a dirent with an odd rec_len', args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc', 'hostname') + 4, u16(13)) },
    { name: 'a dirent with rec_len past the block', args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc', 'hostname') + 4, u16(0xfff0)) },
    { name: 'a dirent naming an inode past s_inodes_count', args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc', 'hostname'), u32(0x7fff_fff0)) },
    { name: 'a dirent naming inode 1 (bad blocks)', args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc', 'hostname'), u32(1)) },
    { name: "'..' pointing elsewhere", args: ext4NoCsum, damage: (img) => patch(img, direntOffset(img, '/etc/sub', '..'), u32(inodeOf(img, '/many'))) },
    ...(['/', '\0'] as const).map((c) => ({
      name: `a name containing ${JSON.stringify(c)}: the listing is refused, as the kernel refuses it`,
      args: ext4NoCsum,
      damage: (img: string) => patch(img, direntOffset(img, '/etc', 'hostname') + 8 + 4, Buffer.from(c)),
      check: async (fs: Opened) => {
        await expect(fs.readdir('/etc')).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
        expect((await fs.lstat('/etc/sub/deep')).type).toBe('file');
      },
    })),
    {
      // The last entry ('sub', whose rec_len runs to the block's end) renamed to 'hostname'.
      name: 'a duplicated name',
      args: ext4NoCsum,
      damage: (img) => {
        const at = direntOffset(img, '/etc', 'sub');
        patch(img, at + 6, [8]);
        patch(img, at + 8, Buffer.from('hostname'));
      },
    },
    { name: 'a slow symlink longer than a block', args: ext4, damage: (img) => debugfs(img, 'sif /slow size 8192', true) },
    { name: 'a fast symlink of size 0', args: ext4, damage: (img) => debugfs(img, 'sif /fast size 0', true) },
    { name: 'a fast symlink claiming 60 bytes (now a slow one)', args: ext4, damage: (img) => debugfs(img, 'sif /fast size 60', true) },
    { name: 'a directory of 1 GiB that is all holes but its first block', args: ext4, damage: (img) => debugfs(img, 'sif /etc size 0x40000000', true) },
    { name: 'a directory of 2^40 bytes', args: ext2, damage: (img) => debugfs(img, 'sif /etc size 0x10000000000', true) },
    {
      name: 'a hashed directory whose i_size stops before its last blocks',
      args: ext4,
      damage: (img) => {
        expect([0, 1]).toContain(spawnSync('e2fsck', ['-fyD', img]).status);
        debugfs(img, 'sif /many size 4096', true);
      },
    },
    {
      name: "a hashed directory's index root with a bad checksum",
      args: ext4,
      damage: (img) => {
        expect([0, 1]).toContain(spawnSync('e2fsck', ['-fyD', img]).status);
        const root = blocksOf(img, '/many')[0] as number;
        // dx_root: '.' (12 bytes), '..' then dx_root_info at 0x18 and the count/limit + entries at 0x20.
        const at = root * 4096 + 0x2c;
        patch(img, at, [(peek(img, at, 1)[0] as number) ^ 0x55]);
      },
      // libext2fs (and debugfs's ls) refuse the directory; so must xenkit, with a coded error.
      check: async (fs) => {
        await expect(fs.fs.promises.readdir('/many')).rejects.toThrow();
        await expect(fs.readdir('/many')).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
      },
    },
    {
      name: "a hashed directory's leaf block with a bad checksum",
      args: ext4,
      damage: (img) => {
        expect([0, 1]).toContain(spawnSync('e2fsck', ['-fyD', img]).status);
        const leaf = blocksOf(img, '/many')[1] as number;
        patch(img, leaf * 4096 + 20, Buffer.from('X'));
      },
    },
    { name: 'an extent beyond the filesystem', args: ext4, damage: (img) => debugfs(img, 'sif /data block[5] 0x0fffff00', true) },
    { name: 'an extent over the superblock', args: ext4, damage: (img) => debugfs(img, 'sif /data block[5] 0', true) },
    { name: 'an unwritten extent', args: ext4, damage: (img) => debugfs(img, `sif /block block[4] ${0x8001}`, true) },
    { name: 'extents past i_size', args: ext4, damage: (img) => debugfs(img, 'sif /data size 100', true) },
    {
      name: 'an extent index pointing at the inode table',
      args: ext4,
      damage: (img) => {
        const table = Number(/inode table at (\d+)/i.exec(debugfs(img, 'stats'))?.[1]);
        debugfs(img, `sif /sparse block[4] ${table}`, true);
      },
    },
    {
      name: 'an extent index whose range disagrees with its leaf',
      args: ext4,
      damage: (img) => debugfs(img, 'sif /sparse block[3] 20', true),
      check: async (fs) => {
        const st = await fs.stat('/sparse');
        const lib = await settle(libRead(fs, '/sparse', st.size));
        const ours = await settle(fs.readFile('/sparse'));
        if (ours.ok && lib.ok) expect(Buffer.from(ours.value).equals(Buffer.from(lib.value))).toBe(true);
        else if (!ours.ok) expectCoded(ours.error, 'read /sparse');
      },
    },
    {
      name: 'an extent leaf turned into an index pointing at itself',
      args: ext4NoCsum,
      damage: (img) => {
        const leaf = Number(/\s0\/\s*1\s+1\/\s*1\s+\d+\s*-\s*\d+\s+(\d+)/.exec(debugfs(img, 'ex /sparse'))?.[1]);
        expect(leaf).toBeGreaterThan(0);
        // depth 1, first entry an index (ei_block 0, ei_leaf = the leaf itself); root's depth 2.
        patch(img, leaf * 4096 + 6, u16(1));
        patch(img, leaf * 4096 + 12, Buffer.concat([u32(0), u32(leaf), u16(0)]));
        debugfs(img, `sif /sparse block[1] ${0x2_0004}`, true);
      },
    },
    {
      name: 'an indirect block pointing at the group descriptors',
      args: ext2,
      damage: (img) => debugfs(img, 'sif /data block[IND] 1', true),
    },
    {
      name: 'a triple-indirect block that points at itself at every level, 2^42 bytes long',
      args: ext2,
      damage: (img) => {
        const self = blocksOf(img, '/block')[0] as number;
        patch(img, self * 4096, Buffer.concat(Array.from({ length: 1024 }, () => u32(self))));
        debugfs(img, `sif /data block[TIND] ${self}`, true);
        debugfs(img, 'sif /data size 0x40000000000', true);
      },
      check: async (fs) => {
        const st = await fs.stat('/data');
        expect(st.size).toBe(2 ** 42);
        const file = await settle(fs.openFile('/data'));
        if (file.ok) {
          // Past the direct and indirect blocks: the self-pointing block as data, as libext2fs reads it.
          const at = 2 ** 41;
          const ours = Buffer.from(await file.value.read(at, 16));
          const fd = await new Promise<number>((res, rej) => (fs as unknown as { fs: { open: (p: string, f: number, m: number, cb: (e: Error | null, fd: number) => void) => void } }).fs.open('/data', 0o1000000, 0, (e, d) => (e ? rej(e) : res(d))));
          const theirs = Buffer.alloc(16);
          await (fs.fs.promises as unknown as { read(fd: number, b: Uint8Array, o: number, l: number, p: number): Promise<unknown> }).read(fd, theirs, 0, 16, at);
          expect(ours.equals(theirs)).toBe(true);
          await file.value.close();
        } else expectCoded(file.error, 'open /data');
      },
    },
    { name: 'an old-style slow symlink shorter than 60 bytes', args: ext4, damage: (img) => debugfs(img, 'sif /slow size 10', true) },
    { name: 'a fast symlink flagged encrypted', args: ext4, damage: (img) => debugfs(img, `sif /fast flags ${0x800}`, true) },
    { name: 'a file flagged inline_data on a filesystem without it', args: ext4, damage: (img) => debugfs(img, `sif /data flags ${0x10000000}`, true) },
    { name: 'a directory flagged casefold', args: ext4, damage: (img) => debugfs(img, `sif /etc flags ${0x40000000 | 0x80000}`, true) },
    { name: 'a file flagged as a directory', args: ext4, damage: (img) => debugfs(img, `sif /data mode ${0o40755}`, true) },
    { name: 'a directory flagged as a regular file', args: ext4, damage: (img) => debugfs(img, `sif /etc mode ${0o100644}`, true) },
    { name: 'a dirent naming a cleared inode', args: ext4, damage: (img) => debugfs(img, 'clri /etc/hostname', true) },
    { name: 'an i_extra_isize larger than the inode', args: ext4, damage: (img) => debugfs(img, 'sif /data extra_isize 200', true) },
    {
      name: 'an extent root claiming room for 1 entry (libext2fs: 2 to 4)',
      args: ext4,
      damage: (img) => debugfs(img, `sif /data block[1] ${1}`, true),
      check: async (fs) => {
        await expect(libRead(fs, '/data', 200_000)).rejects.toThrow();
        await expect(fs.readFile('/data')).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
      },
    },
    { name: 'an extent tree claiming depth 6', args: ext4, damage: (img) => debugfs(img, `sif /data block[1] ${(6 << 16) | 4}`, true) },
    {
      name: 'symlinks that loop or climb above the root',
      args: ext4,
      damage: (img) => {
        debugfs(img, 'symlink /etc/a /etc/b', true);
        debugfs(img, 'symlink /etc/b /etc/a', true);
        debugfs(img, 'symlink /etc/up ../../../../../../etc/hostname', true);
      },
      check: async (fs) => {
        await expect(fs.readFile('/etc/a')).rejects.toMatchObject({ code: 'E_FS_SYMLINK_LOOP' });
        expect(new TextDecoder().decode(await fs.readFile('/etc/up'))).toBe('guest\n');
      },
    },
  ];

  for (const c of cases) {
    it(c.name, { timeout: 30_000 }, async () => {
      const img = make(c.args);
      c.damage(img);
      const started = Date.now();
      await withFs(img, async (fs) => {
        const { errors } = await compareWithLibext2fs(fs);
        if (process.env.HOSTILE_DEBUG) note(c.name, JSON.stringify(errors), fs.mappedReads, fs.libext2fsCalls);
        await c.check?.(fs, img);
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  }

  it('mtimes past 2038 and before 1970 read as debugfs reads them', async () => {
    const img = make(['-t', 'ext4']);
    debugfs(img, 'sif /data mtime 20500101000000', true);
    debugfs(img, 'sif /block mtime @-100000', true);
    debugfs(img, 'sif /etc/hostname mtime 21060301000000', true);
    await withFs(img, async (fs) => {
      for (const path of ['/data', '/block', '/etc/hostname', '/sparse']) {
        // debugfs: " mtime: 0xSSSSSSSS:EEEEEEEE -- date"; seconds = signed low word + (extra & 3) << 32.
        const m = /\bmtime: 0x([0-9a-f]{8}):([0-9a-f]{8})/.exec(debugfs(img, `stat ${path}`));
        expect(m, path).not.toBeNull();
        const want = (Number.parseInt(m?.[1] as string, 16) | 0) + (Number.parseInt(m?.[2] as string, 16) & 3) * 2 ** 32;
        expect((await fs.lstat(path)).mtimeMs, path).toBe(want * 1000);
      }
      expect(new Date((await fs.lstat('/data')).mtimeMs).toISOString()).toBe('2050-01-01T00:00:00.000Z');
      expect((await fs.lstat('/block')).mtimeMs).toBe(-100_000_000);
    });
  });

  // Random damage where xenkit's own parsers see it (no checksums to catch it first): wherever both
  // readers answer, they must answer alike; xenkit's failures must be coded.
  it('mutated checksum-less images: xenkit and libext2fs agree wherever both answer', { timeout: 120_000 }, async () => {
    const iterations = Number(process.env.HOSTILE_ITERATIONS ?? 30);
    const base = make(['-t', 'ext4', '-b', '1024', '-O', '^metadata_csum', '-I', '256'], 4 * MiB);
    const pristine = peek(base, 0, 4 * MiB);
    const random = rng(20261126);
    // The used part of group 0's inode table, the directories' blocks and /sparse's map blocks.
    const table = Number(/inode table at (\d+)/i.exec(debugfs(base, 'stats'))?.[1]);
    const targets: Array<[number, number]> = [[table * 1024, 400 * 256]];
    for (const path of ['/', '/etc', '/etc/sub', '/many', '/sparse']) for (const b of blocksOf(base, path)) targets.push([b * 1024, 1024]);
    let compared = 0;
    for (let i = 0; i < iterations; i++) {
      const img = join(tmp.path, 'mutated.img');
      const bytes = Buffer.from(pristine);
      for (let k = 1 + random.int(8); k > 0; k--) {
        const [at, length] = targets[random.int(targets.length)] as [number, number];
        bytes[at + random.int(length)] = random.int(256);
      }
      writeFileSync(img, bytes);
      const opened = await settle(
        withFs(img, async (fs) => {
          await compareWithLibext2fs(fs, 3);
          compared++;
        }),
      );
      if (!opened.ok && !(opened.error instanceof XenkitError)) throw new Error(`iteration ${i}: ${String((opened.error as Error).stack)}`);
      if (!opened.ok && process.env.HOSTILE_DEBUG && (opened.error as Error).name === 'AssertionError') note('MUTATION', i, String(opened.error));
      if (!opened.ok && (opened.error as Error).name === 'AssertionError') throw opened.error;
    }
    expect(compared).toBeGreaterThan(iterations / 4);
  });

  it('-I 128: owners above 65535 and no i_extra checksum half', async () => {
    const owned = join(tmp.path, 'owned-tree');
    mkdirSync(owned, { recursive: true });
    writeFileSync(join(owned, 'f'), 'x');
    const img = join(tmp.path, 'owned.img');
    writeFileSync(img, '');
    exec('truncate', ['-s', '8M', img]);
    exec('mke2fs', ['-q', '-F', '-t', 'ext4', '-I', '128', '-d', owned, img]);
    debugfs(img, 'sif /f uid 0x12345', true);
    debugfs(img, 'sif /f gid 0x23456', true);
    expect(spawnSync('e2fsck', ['-fn', img]).status).toBe(0);
    await withFs(img, async (fs) => {
      expect(await fs.stat('/f')).toMatchObject({ uid: 0x12345, gid: 0x23456 });
    });
  });
});
