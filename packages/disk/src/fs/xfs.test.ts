import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { RawSource } from '../block/raw.js';
import { BufferSource } from '../block/buffer.js';
import { buildXfs, type ProtoNode } from '../test-helpers/xfs.js';
import { openXfsFileSystem } from './xfs.js';
import type { ReadOnlyFileSystem } from './types.js';

type Dir = Extract<ProtoNode, { kind: 'dir' }>;

/** Bytes that differ at every 4 KiB, so a misplaced block shows. */
function pattern(bytes: number, seed: number): Uint8Array {
  const b = Buffer.alloc(Math.ceil(bytes / 8) * 8);
  for (let off = 0; off < b.length; off += 8) {
    b.writeUInt32BE((off * 2654435761 + seed) >>> 0, off);
    b.writeUInt32BE((off / 8 + seed) >>> 0, off + 4);
  }
  return b.subarray(0, bytes);
}

function tree(): Dir {
  const many: Record<string, ProtoNode> = {};
  for (let i = 0; i < 2000; i++) many[`entry-with-a-longer-name-${String(i).padStart(4, '0')}`] = { kind: 'file', content: `n${i}\n` };
  return {
    kind: 'dir',
    entries: {
      etc: { kind: 'dir', entries: { hostname: { kind: 'file', content: 'guest\n' }, shadow: { kind: 'file', content: 'root:*:1::::::\n', mode: 0o600 } } },
      a: { kind: 'dir', entries: { b: { kind: 'dir', mode: 0o700, uid: 1000, gid: 100, entries: { c: { kind: 'dir', entries: { deep: { kind: 'file', content: 'deep\n', uid: 7, gid: 8 } } } } } } },
      many: { kind: 'dir', entries: many },
      shared: { kind: 'dir', setgid: true, mode: 0o2775, gid: 50, entries: {} },
      big: { kind: 'file', content: pattern(6 * 1024 * 1024 + 123, 1) },
      empty: { kind: 'file', content: '' },
      su: { kind: 'file', content: '#!/bin/sh\n', setuid: true, mode: 0o4755 },
      bin: { kind: 'symlink', target: 'usr/bin' },
      usr: { kind: 'dir', entries: { bin: { kind: 'dir', entries: { sh: { kind: 'file', content: 'ELF', mode: 0o755 } } } } },
      long: { kind: 'symlink', target: `/${'d'.repeat(200)}/${'e'.repeat(300)}/${'f'.repeat(250)}/a/b/c/deep` },
      escape: { kind: 'symlink', target: '../../../../etc/shadow' },
      null: { kind: 'char', major: 1, minor: 3 },
      fifo: { kind: 'fifo' },
    },
  };
}

/** Every path of a proto tree with its node. */
function flatten(dir: Dir, prefix = ''): [string, ProtoNode][] {
  return Object.entries(dir.entries).flatMap(([n, c]) => [[`${prefix}/${n}`, c] as [string, ProtoNode], ...(c.kind === 'dir' ? flatten(c, `${prefix}/${n}`) : [])]);
}

/** xfs_db's view of one directory: entry names, "." and ".." left out. */
function xfsDbLs(img: string, path: string): string[] {
  const out = exec('xfs_db', ['-r', '-c', `ls ${path}`, img]).stdout;
  return out
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 6)
    .map((f) => f.slice(5, -1).join(' '))
    .filter((n) => n !== '.' && n !== '..')
    .sort();
}

function xfsDbCore(img: string, path: string): Record<string, string> {
  const out = exec('xfs_db', ['-r', '-c', `path ${path}`, '-c', 'print core.mode core.uid core.gid core.size core.format core.nextents core.mtime.sec', img], {
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
  }).stdout;
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' = ') as [string, string]));
}

/** Remote symlinks xfs_repair -n calls damaged (xfsprogs 6.1's protofile writes v5 ones without their XSLM header). */
function badSymlinks(img: string): boolean {
  return /bad symlink header/.test(exec('xfs_repair', ['-n', img], { allowFailure: true }).stderr);
}

async function expectMatches(fs: ReadOnlyFileSystem, img: string, root: Dir): Promise<void> {
  const remoteLinksBad = badSymlinks(img);
  for (const [path, node] of flatten(root)) {
    const st = await fs.lstat(path);
    if (node.kind === 'file') {
      expect(st.type).toBe('file');
      expect(Buffer.from(await fs.readFile(path)).equals(Buffer.from(node.content))).toBe(true);
      expect(st.mode & 0o7777).toBe(node.mode ?? 0o644);
      expect([st.uid, st.gid]).toEqual([node.uid ?? 0, node.gid ?? 0]);
    } else if (node.kind === 'dir') {
      expect(st.type).toBe('directory');
      expect(await fs.readdir(path)).toEqual(Object.keys(node.entries).sort());
    } else if (node.kind === 'symlink') {
      expect(st.type).toBe('symlink');
      if (remoteLinksBad && node.target.length > 300) await expect(fs.readlink(path)).rejects.toMatchObject({ code: 'E_FS_CORRUPT', message: expect.stringContaining('XSLM') });
      else expect(await fs.readlink(path)).toBe(node.target);
    } else {
      expect(st.type).toBe(node.kind);
    }
  }
  for (const dir of ['/', '/many', '/a/b', '/etc']) expect(await fs.readdir(dir)).toEqual(xfsDbLs(img, dir));
  for (const path of ['/big', '/a/b', '/long', '/many', '/su', '/null']) {
    const core = xfsDbCore(img, path);
    const st = await fs.lstat(path);
    expect(`0${st.mode.toString(8)}`).toBe(core['core.mode']);
    expect([String(st.uid), String(st.gid), String(st.size)]).toEqual([core['core.uid'], core['core.gid'], core['core.size']]);
    expect(Math.floor(st.mtimeMs / 1000) * 1000).toBe(Date.parse(`${core['core.mtime.sec']} GMT`));
  }
}

/** mkfs.xfs geometries: the defaults (v5, 4 KiB blocks), v4, and small blocks with multi-block directory blocks. */
const VARIANTS: Record<string, string[]> = {
  v5: [],
  v4: ['-m', 'crc=0'],
  'v5 1k blocks 8k dir blocks': ['-b', 'size=1024', '-n', 'size=8192'],
  'v4 2k blocks 16k dir blocks no ftype 512-byte inodes': ['-m', 'crc=0', '-b', 'size=2048', '-n', 'size=16384,ftype=0', '-i', 'size=512'],
};

describe('openXfsFileSystem on filesystems made by mkfs.xfs -p (no mount)', () => {
  const tmp = tempDir('xenkit-xfs-');
  const root = tree();
  const images: Record<string, string> = {};

  beforeAll(() => {
    requireTools('mkfs.xfs', 'xfs_db', 'xfs_repair', 'truncate');
    for (const [name, args] of Object.entries(VARIANTS)) images[name] = buildXfs(tmp.path, name.replace(/\W+/g, '-'), root, 320, args);
  });
  afterAll(() => tmp.cleanup());

  it.each(Object.keys(VARIANTS))('reads every file, directory, link and mode of a %s filesystem as xfs_db sees it', async (v) => {
    const img = images[v] as string;
    const source = await RawSource.open(img);
    const fs = await openXfsFileSystem(source);
    try {
      expect(xfsDbCore(img, '/many')['core.format']).toMatch(/extents|btree/); // leaf/node, not block or local
      await expectMatches(fs, img, root);
      expect(new TextDecoder().decode(await fs.readFile('/escape'))).toBe('root:*:1::::::\n'); // resolved inside the root
      await expect(fs.readFile('/long')).rejects.toMatchObject({ code: badSymlinks(img) ? 'E_FS_CORRUPT' : 'E_FS_NOT_FOUND' });
      expect(await fs.realpath('/bin/sh')).toBe('/usr/bin/sh');
      await expect(fs.readFile('/big', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'E_FS_TOO_LARGE' });
      await expect(fs.readFile('/nope')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
      await expect(fs.readdir('/etc/hostname')).rejects.toMatchObject({ code: 'E_FS_NOT_DIRECTORY' });
    } finally {
      await fs.close();
      await source.close();
    }
  });

  it('rejects what is not xfs, and a bad superblock CRC, with E_FS_CORRUPT', async () => {
    await expect(openXfsFileSystem(new BufferSource(new Uint8Array(65536), 'zeros'))).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
    const source = await RawSource.open(images.v5 as string);
    const head = new Uint8Array(await source.read(0, 1024 * 1024));
    await source.close();
    head[130] = (head[130] as number) ^ 1; // sb_icount, covered by the CRC only
    await expect(openXfsFileSystem(new BufferSource(head, 'bad-crc'))).rejects.toMatchObject({ code: 'E_FS_CORRUPT', message: expect.stringContaining('CRC') });
  });
});
