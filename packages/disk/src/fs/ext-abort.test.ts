import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFs, buildTree, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource } from '../block/buffer.js';
import { openExtFileSystem } from './ext.js';
import type { ReadOnlyFileSystem } from './types.js';

describe('openExtFileSystem after libext2fs aborts', () => {
  const tmp = tempDir('xenkit-ext-abort-');
  let img: Uint8Array;
  beforeAll(() => {
    requireTools('mke2fs', 'truncate');
    const tree = buildTree(join(tmp.path, 'tree'), { 'etc/hostname': 'guest\n' });
    const path = join(tmp.path, 'a.img');
    exec('truncate', ['-s', '4M', path]);
    makeFs(path, 0, 4 * 1024 * 1024, { fs: 'ext4', tree }, tmp.path);
    img = new Uint8Array(readFileSync(path));
  });
  afterAll(() => tmp.cleanup());

  it('fails with a coded error when the WASM heap runs out, then works again on a fresh module', async () => {
    // Mounts held open fill libext2fs's fixed heap until it aborts (Aborted(OOM)); an aborted module
    // is unusable, so the reader must load a new one for the next filesystem.
    const held: ReadOnlyFileSystem[] = [];
    let failure: unknown;
    for (let i = 0; i < 20_000 && failure === undefined; i++) {
      try {
        held.push(await openExtFileSystem(new BufferSource(img, `held#${i}`)));
      } catch (e) {
        failure = e;
      }
    }
    expect(failure).toMatchObject({ code: 'E_FS_CORRUPT' });
    // What xenkit reads itself (lookups, data) does not need the aborted module; what would need it fails coded.
    expect(new TextDecoder().decode(await held[0]?.readFile('/etc/hostname'))).toBe('guest\n');
    const viaLib = (held[0] as unknown as { call(p: string, fn: () => Promise<unknown>): Promise<unknown> }).call('/', async () => 0);
    await expect(viaLib).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
    for (const fs of held) await fs.close();
    const fresh = await openExtFileSystem(new BufferSource(img, 'fresh'));
    expect(new TextDecoder().decode(await fresh.readFile('/etc/hostname'))).toBe('guest\n');
    await fresh.close();
  }, 120_000);
});

describe('loading libext2fs', () => {
  it('leaves the host process error handlers as they were', async () => {
    const { buildImage } = await import('@xenkit/fixtures');
    const { openDisk, probeDisk } = await import('../index.js');
    const before = ['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e));
    const dir = tempDir();
    try {
      const img = buildImage({ dir: dir.path, name: 'h', table: 'mbr', format: 'raw', partitions: [{ sizeMiB: 8, fs: 'ext4' }] });
      const disk = await openDisk(img.path);
      const layout = await probeDisk(disk);
      const volume = layout.volumes.find((v) => v.filesystem?.type === 'ext4');
      const fs = await openExtFileSystem(disk, volume);
      expect(await fs.exists('/lost+found')).toBe(true);
      await fs.close();
      await disk.close();
    } finally {
      dir.cleanup();
    }
    expect(['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e))).toEqual(before);
  });
});
