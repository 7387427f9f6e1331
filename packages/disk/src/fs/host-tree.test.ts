import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostTreeFileSystem } from './host-tree.js';

describe('HostTreeFileSystem', () => {
  let base: string;
  let root: string;
  let fs: HostTreeFileSystem;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'xenkit-tree-'));
    root = join(base, 'root');
    mkdirSync(join(root, 'etc/ssh'), { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'etc/hostname'), 'guest\n');
    writeFileSync(join(root, 'usr/bin/bash'), 'ELF');
    writeFileSync(join(base, 'secret'), 'host secret');
    symlinkSync('usr/bin', join(root, 'bin'));
    symlinkSync('/usr/bin/bash', join(root, 'etc/abs-link'));
    symlinkSync('../../../../../secret', join(root, 'etc/escape'));
    symlinkSync('/../secret', join(root, 'etc/escape-abs'));
    symlinkSync('loop-b', join(root, 'etc/loop-a'));
    symlinkSync('loop-a', join(root, 'etc/loop-b'));
    symlinkSync('nowhere', join(root, 'etc/dangling'));
    fs = await HostTreeFileSystem.open(root);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reads files and lists directories', async () => {
    expect(new TextDecoder().decode(await fs.readFile('/etc/hostname'))).toBe('guest\n');
    expect(await fs.readdir('/etc')).toContain('hostname');
    expect((await fs.stat('/etc')).type).toBe('directory');
  });

  it('resolves absolute and relative links inside the root', async () => {
    expect(await fs.realpath('/bin/bash')).toBe('/usr/bin/bash');
    expect(await fs.realpath('/etc/abs-link')).toBe('/usr/bin/bash');
    expect((await fs.lstat('/bin')).type).toBe('symlink');
    expect(await fs.readlink('/bin')).toBe('usr/bin');
  });

  it('never escapes the root through .. or absolute links', async () => {
    await expect(fs.readFile('/etc/escape')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
    await expect(fs.readFile('/etc/escape-abs')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
    await expect(fs.readFile('/../../secret')).rejects.toMatchObject({ code: 'E_FS_NOT_FOUND' });
  });

  it('reports loops, dangling links, limits and bad paths with codes', async () => {
    await expect(fs.stat('/etc/loop-a')).rejects.toMatchObject({ code: 'E_FS_SYMLINK_LOOP' });
    expect(await fs.exists('/etc/dangling')).toBe(false);
    expect(await fs.exists('/etc/hostname')).toBe(true);
    await expect(fs.readFile('/etc/hostname', { maxBytes: 2 })).rejects.toMatchObject({ code: 'E_FS_TOO_LARGE' });
    await expect(fs.readFile('/etc')).rejects.toMatchObject({ code: 'E_FS_IS_DIRECTORY' });
    await expect(fs.readdir('/etc/hostname')).rejects.toMatchObject({ code: 'E_FS_NOT_DIRECTORY' });
    await expect(fs.readFile('etc/hostname')).rejects.toMatchObject({ code: 'E_FS_BAD_PATH' });
    await expect(fs.readlink('/etc/hostname')).rejects.toMatchObject({ code: 'E_FS_NOT_SYMLINK' });
  });

  it('refuses to open a missing tree with a coded error', async () => {
    await expect(HostTreeFileSystem.open(join(base, 'missing'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
