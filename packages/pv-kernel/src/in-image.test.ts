import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostTreeFileSystem } from '@xenkit/disk';
import { buildElfKernel, buildImage, buildTree, ensureDebianKernel, exec, requireTools, tempDir, type BuiltImage, type DebianKernel } from '@xenkit/fixtures';
import { analyzeKernel, locateFileInImage, type KernelAnalysis } from './index.js';

const tmp = tempDir('xenkit-pvk-image-');
afterAll(() => tmp.cleanup());

let k: DebianKernel;
let name: string;
let host: KernelAnalysis;
let root: BuiltImage; // MBR, p1 ext4 root with /boot/vmlinuz-… and /vmlinuz -> boot/vmlinuz-…
let split: BuiltImage; // MBR, p1 ext2 /boot, p2 ext4 root whose /boot is an empty mount point
let twice: BuiltImage; // two ext4 partitions that both hold /boot/vmlinuz-small
let whole: BuiltImage; // ext4 over the whole disk, no partition table, no kernel
let xfsBoot: BuiltImage; // MBR, p1 xfs /boot (CentOS/RHEL 7 style), p2 ext4 root
let small: string;

beforeAll(async () => {
  requireTools('sfdisk', 'mke2fs', 'qemu-img', 'as', 'ld');
  k = ensureDebianKernel();
  name = basename(k.vmlinuz);
  host = await analyzeKernel(k.vmlinuz, { exhaustive: true });
  const rootTree = buildTree(join(tmp.path, 'root'), {
    'etc/hostname': 'guest\n',
    [`boot/${name}`]: readFileSync(k.vmlinuz),
    vmlinuz: { symlink: `boot/${name}` },
    escape: { symlink: '../../../../../etc/hostname' },
  });
  root = buildImage({ dir: tmp.path, name: 'root', table: 'mbr', format: 'qcow2', partitions: [{ sizeMiB: 40, fs: 'ext4', tree: rootTree }] });
  const bootTree = buildTree(join(tmp.path, 'boot'), { [name]: readFileSync(k.vmlinuz) });
  const sysTree = buildTree(join(tmp.path, 'sys'), { 'boot': { dir: true }, 'etc/fstab': 'LABEL=boot /boot ext2 defaults 0 2\n', vmlinuz: { symlink: `boot/${name}` } });
  split = buildImage({ dir: tmp.path, name: 'split', table: 'mbr', partitions: [{ sizeMiB: 32, fs: 'ext2', tree: bootTree, label: 'boot' }, { sizeMiB: 8, fs: 'ext4', tree: sysTree }] });
  small = buildElfKernel(tmp.path, 'vmlinux-small', { bits: 64, banner: 'Linux version 2.6.32-71.el6.x86_64 (mockbuild)' });
  const a = buildTree(join(tmp.path, 'a'), { 'boot/vmlinuz-small': readFileSync(small) });
  const b = buildTree(join(tmp.path, 'b'), { 'boot/vmlinuz-small': readFileSync(small), 'swapfile': 'x' });
  twice = buildImage({ dir: tmp.path, name: 'twice', table: 'gpt', partitions: [{ sizeMiB: 4, fs: 'ext4', tree: a }, { sizeMiB: 4, fs: 'ext4', tree: b }] });
  xfsBoot = buildImage({ dir: tmp.path, name: 'xfsboot', table: 'mbr', partitions: [{ sizeMiB: 300, fs: 'xfs', tree: bootTree }, { sizeMiB: 8, fs: 'ext4', tree: sysTree }] });
  whole = buildImage({ dir: tmp.path, name: 'whole', table: 'none', partitions: [{ sizeMiB: 4, fs: 'ext4', tree: buildTree(join(tmp.path, 'w'), { 'etc/hostname': 'x\n' }) }] });
}, 240_000);

/** What must not change when the same kernel is read from inside an image. */
function sameKernel(a: KernelAnalysis): void {
  expect(a.notes.length).toBeGreaterThan(5);
  expect(a.notes).toEqual(host.notes);
  expect(a.xenGuestRaw).toBe(host.xenGuestRaw);
  expect(a.verdict).toEqual(host.verdict);
  expect(a.version).toBe(host.version);
  expect(a.size).toBe(host.size);
}

describe('a kernel inside a disk image', () => {
  it('reads /boot/vmlinuz-… from the ext4 root of a raw and a qcow2 MBR image: the notes equal the host file\'s', async () => {
    for (const [image, format] of [[root.rawPath, 'raw'], [root.path, 'qcow2']] as const) {
      const a = await analyzeKernel({ image, path: `/boot/${name}` }, { exhaustive: true });
      sameKernel(a);
      expect(a.image).toMatchObject({ image, format, volume: 'p1', filesystem: 'ext4', path: `/boot/${name}`, realPath: `/boot/${name}` });
      expect(a.name).toBe(`${image}:p1:/boot/${name}`);
    }
  });

  it('follows /vmlinuz -> boot/vmlinuz-… inside the image', async () => {
    const a = await analyzeKernel({ image: root.path, path: '/vmlinuz' }, { exhaustive: true });
    sameKernel(a);
    expect(a.image).toMatchObject({ path: '/vmlinuz', realPath: `/boot/${name}` });
  });

  it('finds /boot/vmlinuz-… on a separate /boot partition (mounted at /boot, so stored as /vmlinuz-…)', async () => {
    const a = await analyzeKernel({ image: split.path, path: `/boot/${name}` }, { exhaustive: true });
    sameKernel(a);
    expect(a.image).toMatchObject({ volume: 'p1', filesystem: 'ext2', requested: `/boot/${name}`, path: `/${name}` });
    // Named explicitly, the same volume gives the same answer; the root volume's /vmlinuz dangles.
    const named = await analyzeKernel({ image: split.path, path: `/boot/${name}`, volume: 'p1' });
    expect(named.notes).toEqual(host.notes);
    await expect(analyzeKernel({ image: split.path, path: '/vmlinuz', volume: 'p2' })).rejects.toMatchObject({ code: 'E_KERNEL_NOT_IN_IMAGE' });
  });

  it('reads the kernel from an xfs /boot partition, as on CentOS/RHEL 7', async () => {
    const a = await analyzeKernel({ image: xfsBoot.path, path: `/boot/${name}` }, { exhaustive: true });
    sameKernel(a);
    expect(a.image).toMatchObject({ volume: 'p1', filesystem: 'xfs', path: `/${name}` });
  });

  it('refuses to guess when two volumes hold the path, and --volume settles it', async () => {
    const err = await analyzeKernel({ image: twice.path, path: '/boot/vmlinuz-small' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_KERNEL_IMAGE_AMBIGUOUS', category: 'usage' });
    expect((err as Error).message).toContain('p1:/boot/vmlinuz-small, p2:/boot/vmlinuz-small');
    const a = await analyzeKernel({ image: twice.path, path: '/boot/vmlinuz-small', volume: 'p2' });
    const plain = await analyzeKernel(small);
    expect(a.image?.volume).toBe('p2');
    expect(a.verdict).toEqual(plain.verdict);
    expect(a.version).toBe('2.6.32-71.el6.x86_64');
  });

  it('coded errors: missing path, unknown volume, a volume without ext, relative path, a directory', async () => {
    await expect(analyzeKernel({ image: root.path, path: '/boot/vmlinuz-nope' })).rejects.toMatchObject({ code: 'E_KERNEL_NOT_IN_IMAGE', message: expect.stringContaining('p1 ext4') });
    await expect(analyzeKernel({ image: root.path, path: '/vmlinuz', volume: 'p7' })).rejects.toMatchObject({ code: 'E_KERNEL_IMAGE_VOLUME', message: expect.stringContaining('disk, p1 ext4') });
    await expect(analyzeKernel({ image: root.path, path: '/vmlinuz', volume: 'disk' })).rejects.toMatchObject({ code: 'E_KERNEL_IMAGE_FS' });
    await expect(analyzeKernel({ image: root.path, path: 'vmlinuz' })).rejects.toMatchObject({ code: 'E_KERNEL_IMAGE_PATH', category: 'usage' });
    await expect(analyzeKernel({ image: root.path, path: '/boot' })).rejects.toMatchObject({ code: 'E_KERNEL_NOT_IN_IMAGE' });
    const junk = join(tmp.path, 'junk.img');
    writeFileSync(junk, Buffer.alloc(1 << 20));
    await expect(analyzeKernel({ image: junk, path: '/vmlinuz' })).rejects.toMatchObject({ code: 'E_KERNEL_IMAGE_NO_EXT' });
  });

  it('locateFileInImage keeps the filesystem open until close(), and symlinks stay inside the image', async () => {
    const found = await locateFileInImage(root.path, '/vmlinuz');
    try {
      expect(found.source).toMatchObject({ volume: 'p1', realPath: `/boot/${name}` });
      expect(Buffer.from(await found.fs.readFile('/etc/hostname')).toString()).toBe('guest\n');
    } finally {
      await found.close();
    }
    // A link climbing out of the image lands on the image's own /etc/hostname, never the host's.
    const escape = await locateFileInImage(root.path, '/escape');
    try {
      expect(escape.source.realPath).toBe('/etc/hostname');
      expect(Buffer.from(await escape.fs.readFile(escape.source.path)).toString()).toBe('guest\n');
    } finally {
      await escape.close();
    }
    await expect(analyzeKernel({ image: root.path, path: '/escape' })).rejects.toMatchObject({ code: 'E_KERNEL_UNKNOWN_FORMAT' });
  });

  it('a disk image given as the kernel is a usage error naming --path, never a corrupt kernel', async () => {
    for (const [image, kind] of [[root.rawPath, /MBR partition table with ext4 on p1/], [root.path, /qcow2 image/], [split.rawPath, /ext2 on p1, ext4 on p2/], [whole.path, /ext4 on disk/]] as const) {
      const err = await analyzeKernel(image).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_KERNEL_IS_DISK_IMAGE', category: 'usage' });
      expect((err as Error).message).toMatch(kind);
      expect((err as Error).message).toContain('--path');
    }
    // An overlay on the image, one whose backing file is gone, and a qcow2 with a damaged header: all images.
    const overlay = join(tmp.path, 'overlay.qcow2');
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', root.path, overlay]);
    const moved = join(tmp.path, 'elsewhere.qcow2');
    exec('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', join(tmp.path, 'gone.qcow2'), moved, '64M']);
    const damaged = join(tmp.path, 'damaged.qcow2');
    const bytes = readFileSync(overlay);
    bytes.writeUInt32BE(99, 4); // version 99
    writeFileSync(damaged, bytes);
    for (const [image, kind] of [[overlay, /qcow2 image with MBR/], [moved, /backing chain does not open: E_DISK_BACKING_NOT_FOUND/], [damaged, /qcow2 image that does not open/]] as const) {
      const err = await analyzeKernel(image).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_KERNEL_IS_DISK_IMAGE' });
      expect((err as Error).message).toMatch(kind);
    }
  });
});

describe('a kernel in a ReadOnlyFileSystem', () => {
  it('reads { fs, path } with symlinks resolved inside the root', async () => {
    const dir = buildTree(join(tmp.path, 'tree'), { [`boot/${name}`]: '', vmlinuz: { symlink: `/boot/${name}` } });
    copyFileSync(k.vmlinuz, join(dir, 'boot', name));
    const fs = await HostTreeFileSystem.open(dir);
    try {
      sameKernel(await analyzeKernel({ fs, path: '/vmlinuz' }, { exhaustive: true }));
      await expect(analyzeKernel({ fs, path: '/boot' })).rejects.toMatchObject({ code: 'E_KERNEL_UNKNOWN_FORMAT' });
    } finally {
      await fs.close();
    }
  });

  it('reads only the LZ4 blocks up to the Xen notes, not the whole kernel, and finds the same notes', async () => {
    const located = await locateFileInImage(root.rawPath, `/boot/${name}`);
    try {
      let read = 0;
      // The image's filesystem, with its ranged reads counted.
      const counting = Object.create(located.fs, {
        openFile: {
          value: async (path: string) => {
            const file = await located.fs.openFile(path);
            return {
              size: file.size,
              read: async (offset: number, length: number) => {
                const bytes = await file.read(offset, length);
                read += bytes.length;
                return bytes;
              },
              close: () => file.close(),
            };
          },
        },
      }) as typeof located.fs;
      const a = await analyzeKernel({ fs: counting, path: `/boot/${name}` });
      expect(a.codec).toBe('lz4');
      expect(a.notes).toEqual(host.notes);
      expect(a.verdict).toEqual(host.verdict);
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThan(0.8 * host.size);
    } finally {
      await located.close();
    }
  });
});
