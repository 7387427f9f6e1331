import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildElfKernel, buildImage, buildTree, centos5XenGuest, compressWith, exec, requireTools, tempDir, type BuiltImage } from '@xenkit/fixtures';
import { runCaptured } from '../test-helpers/capture.js';

const READNOTES = '/usr/lib/xen-4.17/bin/readnotes';
const tmp = tempDir('xenkit-cli-kernel-');
afterAll(() => tmp.cleanup());

let xen: string;
let xenGz: string;
let plain: string;
beforeAll(() => {
  requireTools('as', 'ld', 'gzip', READNOTES);
  const notes = [
    { type: 6, str: 'linux' }, { type: 7, str: '2.6' }, { type: 5, str: 'xen-3.0' },
    { type: 3, num: 0xffffffff80000000n }, { type: 4, num: 0xffffffff80000000n },
    { type: 1, num: 0xffffffff80200000n }, { type: 14, num: 1n, size: 4 as const }, { type: 8, str: 'generic' },
  ];
  xen = buildElfKernel(tmp.path, 'vmlinux-2.6.18-xen', {
    bits: 64, notes, xenGuest: centos5XenGuest(64), banner: 'Linux version 2.6.18-8.el5xen (builder) #1 SMP',
  });
  xenGz = join(tmp.path, 'vmlinuz-2.6.18-8.el5xen');
  compressWith('gzip', xen, xenGz, false);
  plain = buildElfKernel(tmp.path, 'vmlinux-2.6.32', { bits: 64, banner: 'Linux version 2.6.32-71.el6.x86_64 (mockbuild)' });
  requireTools('sfdisk', 'mke2fs', 'qemu-img');
  const tree = buildTree(join(tmp.path, 'root'), {
    'boot/vmlinuz-2.6.18-8.el5xen': readFileSync(xenGz),
    vmlinuz: { symlink: 'boot/vmlinuz-2.6.18-8.el5xen' },
  });
  const other = buildTree(join(tmp.path, 'other'), { 'boot/vmlinuz-2.6.18-8.el5xen': readFileSync(plain) });
  image = buildImage({ dir: tmp.path, name: 'guest', table: 'mbr', format: 'qcow2', partitions: [{ sizeMiB: 4, fs: 'ext4', tree }] });
  twice = buildImage({ dir: tmp.path, name: 'twice', table: 'mbr', partitions: [{ sizeMiB: 4, fs: 'ext4', tree }, { sizeMiB: 4, fs: 'ext3', tree: other }] });
});

let image: BuiltImage;
let twice: BuiltImage;

describe('xenkit kernel', () => {
  it('prints version, container, codec, ELF, every note as readnotes does, and the verdict; exit 0 when PV-capable', async () => {
    const r = await runCaptured(['kernel', xenGz, '--exhaustive']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/version\s+2\.6\.18-8\.el5xen/);
    expect(r.stdout).toMatch(/container\s+gzip, codec gzip/);
    expect(r.stdout).toMatch(/ELF\s+64-bit x86-64/);
    expect(r.stdout).toMatch(/verdict\s+PV-capable \(xen-3\.0-x86_64\)/);
    // Every line readnotes prints for the unwrapped ELF appears, indented, in the same order.
    const peer = exec(READNOTES, [xen]).stdout.trim().split('\n');
    const ours = r.stdout.split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  - ')).map((l) => l.slice(2));
    expect(ours).toEqual(peer);
  });

  it('--json carries the same data', async () => {
    const r = await runCaptured(['kernel', xenGz, '--json']);
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ container: 'gzip', codec: 'gzip', version: '2.6.18-8.el5xen', elf: { class: 64 }, verdict: { pv: true, guestType: 'xen-3.0-x86_64' } });
    expect(data.notes.map((n: { name: string }) => n.name)).toEqual(['GUEST_OS', 'GUEST_VERSION', 'XEN_VERSION', 'VIRT_BASE', 'PADDR_OFFSET', 'ENTRY', 'SUSPEND_CANCEL', 'LOADER']);
    expect(data.notes[6]).toMatchObject({ value: '0x1', display: 'SUSPEND_CANCEL:        0x1 (4 bytes)' });
  });

  it('exit 1 with Xen\'s reason when the kernel is not PV-capable', async () => {
    const r = await runCaptured(['kernel', plain]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("ERROR: Not a Xen-ELF image: No ELF notes or '__xen_guest' section found");
  });

  it('exit 2 with a coded error on unreadable input', async () => {
    const junk = join(tmp.path, 'junk');
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    const r = await runCaptured(['kernel', junk]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_KERNEL_UNKNOWN_FORMAT: /);
    const missing = await runCaptured(['kernel', join(tmp.path, 'nope'), '--json']);
    expect(missing.status).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe('E_NOT_FOUND');
  });

  it('IMAGE --path reads the kernel inside a qcow2 image, through a symlink, with the notes readnotes prints for the ELF', async () => {
    const r = await runCaptured(['kernel', image.path, '--path', '/vmlinuz', '--exhaustive']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`image\\s+${image.path.replace(/[.]/g, '\\.')} \\(qcow2\\), ext4 on p1, /vmlinuz -> /boot/vmlinuz-2\\.6\\.18-8\\.el5xen`));
    const peer = exec(READNOTES, [xen]).stdout.trim().split('\n');
    const ours = r.stdout.split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  - ')).map((l) => l.slice(2));
    expect(ours).toEqual(peer);
    const json = JSON.parse((await runCaptured(['kernel', image.rawPath, '--path', '/boot/vmlinuz-2.6.18-8.el5xen', '--json'])).stdout);
    expect(json).toMatchObject({ codec: 'gzip', image: { format: 'raw', volume: 'p1', filesystem: 'ext4' }, verdict: { pv: true } });
  });

  it('two volumes holding the path: exit 2 listing them; --volume chooses', async () => {
    const r = await runCaptured(['kernel', twice.path, '--path', '/boot/vmlinuz-2.6.18-8.el5xen']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_KERNEL_IMAGE_AMBIGUOUS: .*p1:\/boot\/vmlinuz-2\.6\.18-8\.el5xen, p2:\/boot\/vmlinuz-2\.6\.18-8\.el5xen.*--volume/);
    const p2 = await runCaptured(['kernel', twice.path, '--path', '/boot/vmlinuz-2.6.18-8.el5xen', '--volume', 'p2']);
    expect(p2.status).toBe(1); // p2 holds the kernel without Xen notes
    expect(p2.stdout).toMatch(/ext3 on p2/);
  });

  it('a disk image without --path is a usage error that says to pass --path; --volume alone is refused', async () => {
    for (const file of [image.path, image.rawPath]) {
      const r = await runCaptured(['kernel', file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^E_KERNEL_IS_DISK_IMAGE: .*is a disk image .*--path/);
    }
    const r = await runCaptured(['kernel', image.path, '--volume', 'p1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_USAGE: --volume needs --path/);
  });
});
