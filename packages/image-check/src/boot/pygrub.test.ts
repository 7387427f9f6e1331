import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { openImageTarget } from '../image.js';
import { findGuests, mountOfPath } from '../os/guest.js';
import { writeTree } from '../test-helpers/trees.js';
import { findBootConfig } from './find.js';

const PYGRUB = '/usr/lib/xen-4.17/bin/pygrub';
const tmp = tempDir('xenkit-pygrub-');
afterAll(() => tmp.cleanup());
let n = 0;

interface PygrubEntry {
  title: string;
  kernel: string;
  args: string;
}

const norm = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

/**
 * `pygrub -l` (every entry) and `pygrub -q` (the default it boots, with the kernel it copied out).
 * pygrub 4.17's -l crashes on an entry without an initrd, so every entry here has one.
 */
function pygrub(image: string): { entries: PygrubEntry[]; args: string; kernel: Uint8Array } {
  requireTools(PYGRUB);
  const list = exec(PYGRUB, ['-l', image]).stdout;
  const entries: PygrubEntry[] = [];
  for (const block of list.split(/^title: /m).slice(1)) {
    const field = (k: string) => new RegExp(`^  ${k}: (.*)$`, 'm').exec(block)?.[1] ?? '';
    entries.push({ title: block.split('\n')[0] as string, kernel: field('kernel'), args: field('args') === 'None' ? '' : field('args') });
  }
  const out = `${tmp.path}/out${n++}`;
  exec('mkdir', ['-p', out]);
  const chosen = exec(PYGRUB, ['-q', `--output-directory=${out}`, '--output-format=simple', image]).stdout;
  const kernelPath = /^kernel (.*)$/m.exec(chosen)?.[1] as string;
  return { entries, args: /^args (.*)$/m.exec(chosen)?.[1] ?? '', kernel: new Uint8Array(readFileSync(kernelPath)) };
}

/** A root with one distinct kernel file per entry, so the kernel pygrub copies out names the entry. */
function bootTree(config: Record<string, string>): string {
  const files: Record<string, string> = {
    '/etc/fstab': '/dev/xvda1 / ext4 defaults 0 1\n',
    '/etc/hosts': '',
    '/bin/.keep': '',
    '/etc/os-release': 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian"\n',
    ...config,
  };
  for (let i = 0; i < 4; i++) {
    files[`/boot/vmlinuz-${i}`] = `kernel number ${i}\n`;
    files[`/boot/initrd-${i}`] = `initrd ${i}\n`;
  }
  return writeTree(`${tmp.path}/tree${n++}`, { files, links: {} });
}

async function ours(image: string) {
  const target = await openImageTarget(image);
  try {
    const [guest] = await findGuests(target.volumes);
    if (!guest) throw new Error('no guest');
    const cfg = await findBootConfig(guest.fs, mountOfPath(guest));
    if (!cfg) throw new Error('no boot config');
    const chosen = cfg.entries[cfg.pygrubIndex];
    const kernel = chosen?.kernel ? await guest.fs.readFile(`${cfg.pathPrefix}${chosen.kernel}`) : new Uint8Array();
    return { cfg, chosen, kernel };
  } finally {
    await target.close();
  }
}

const menu = (i: number, title: string, extra = '') => `menuentry '${title}' --class debian $menuentry_id_option 'id-${i}' {\n\tinsmod ext2\n\tlinux\t/boot/vmlinuz-${i} root=/dev/xvda1 ro entry=${i} ${extra}\n\tinitrd\t/boot/initrd-${i}\n}\n`;

const GRUB2 = {
  'numeric default across a submenu (pygrub flattens it)': `set default="2"\n${menu(0, 'zero')}submenu 'Advanced' {\n${menu(1, 'one')}${menu(2, 'two', 'console=ttyS0')}}\n${menu(3, 'three')}`,
  'saved_entry (pygrub ignores grubenv)': `if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nif [ "\${next_entry}" ] ; then\n   set default="\${next_entry}"\nelse\n   set default="\${saved_entry}"\nfi\n${menu(0, 'zero')}${menu(1, 'one')}`,
  'title default': `set default="one"\n${menu(0, 'zero')}${menu(1, 'one')}`,
  'no default, function block': `function load_video {\n  insmod all_video\n}\n${menu(0, 'zero')}${menu(1, 'one')}`,
  'default past the end': `set default="9"\n${menu(0, 'zero')}${menu(1, 'one')}`,
};

describe('default boot entry vs pygrub -l / pygrub -q (xen-utils-4.17)', () => {
  for (const [name, cfg] of Object.entries(GRUB2)) {
    it(`grub2: ${name}`, async () => {
      const env: Record<string, string> = name.startsWith('saved') ? { '/boot/grub/grubenv': '# GRUB Environment Block\nsaved_entry=id-1\n'.padEnd(1024, '#') } : {};
      const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'g', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/grub/grub.cfg': cfg, ...env }) }] });
      const real = pygrub(img.path);
      const mine = await ours(img.path);
      expect(mine.cfg.entries.map((e) => [e.title, e.kernel, norm(e.args)])).toEqual(real.entries.map((e) => [e.title, e.kernel, norm(e.args)]));
      expect(norm(mine.chosen?.args)).toBe(norm(real.args));
      expect(mine.kernel).toEqual(real.kernel);
      if (name.startsWith('saved')) expect(mine.cfg.entries[mine.cfg.defaultIndex]?.title).toBe('one');
    });
  }

  it('an unquoted menuentry: pygrub rejects the whole grub.cfg, and so do we', async () => {
    const cfg = `set default="1"\nmenuentry zero --class debian {\n\tlinux\t/boot/vmlinuz-0 root=/dev/xvda1 ro\n\tinitrd\t/boot/initrd-0\n}\n${menu(1, 'one', 'console=ttyS0')}${menu(2, 'two')}`;
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'uq', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/grub/grub.cfg': cfg }) }] });
    requireTools(PYGRUB);
    expect(exec(PYGRUB, ['-l', img.path]).stdout).not.toContain('title:');
    expect(exec(PYGRUB, ['-q', `--output-directory=${tmp.path}`, img.path], { allowFailure: true }).status).not.toBe(0);
    const mine = await ours(img.path);
    expect(mine.cfg.entries.map((e) => e.title)).toEqual(['zero', 'one', 'two']);
    expect(mine.cfg.pygrubIndex).toBe(-1);
    expect(mine.cfg.pygrubError).toContain('closing brace without menuentry');
    // Quoted titles with a space before the brace are what pygrub counts: it agrees again.
    const ok = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'q', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/grub/grub.cfg': cfg.replace('menuentry zero', "menuentry 'zero'") }) }] });
    const real = pygrub(ok.path);
    const again = await ours(ok.path);
    expect(again.cfg.entries.map((e) => e.title)).toEqual(real.entries.map((e) => e.title));
    expect(again.kernel).toEqual(real.kernel);
  });

  it('a grub.cfg over 1 MiB: pygrub reads its first 1 MiB and boots from that', async () => {
    const pad = `${'# padding line for a big generated grub.cfg\n'.repeat(Math.ceil((1024 * 1024) / 44))}`;
    const cfg = `set default="1"\n${menu(0, 'zero')}${menu(1, 'one', 'console=ttyS0')}${pad}${menu(2, 'two')}`;
    expect(cfg.length).toBeGreaterThan(1024 * 1024);
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'big', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/grub/grub.cfg': cfg }) }] });
    const real = pygrub(img.path);
    const mine = await ours(img.path);
    expect(real.entries.map((e) => e.title)).toEqual(['zero', 'one']);
    expect(mine.cfg.entries.map((e) => e.title)).toEqual(['zero', 'one', 'two']);
    expect(norm(mine.chosen?.args)).toBe(norm(real.args));
    expect(mine.kernel).toEqual(real.kernel);
  });

  it('grub-legacy menu.lst with default 1', async () => {
    const lst = 'default 1\ntimeout 5\ntitle zero\n  root (hd0,0)\n  kernel /boot/vmlinuz-0 ro root=/dev/xvda1 entry=0\n  initrd /boot/initrd-0\ntitle one\n  root (hd0,0)\n  kernel (hd0,0)/boot/vmlinuz-1 ro root=/dev/xvda1 entry=1 console=ttyS0\n  initrd /boot/initrd-1\n';
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'l', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext3', tree: bootTree({ '/boot/grub/menu.lst': lst }) }] });
    const real = pygrub(img.path);
    const mine = await ours(img.path);
    expect(mine.cfg.format).toBe('grub-legacy');
    expect(mine.cfg.entries.map((e) => [e.title, e.kernel, norm(e.args)])).toEqual(real.entries.map((e) => [e.title, e.kernel, norm(e.args)]));
    expect(norm(mine.chosen?.args)).toBe(norm(real.args));
    expect(mine.kernel).toEqual(real.kernel);
  });

  it('extlinux with a DEFAULT label', async () => {
    const ext = 'DEFAULT second\nTIMEOUT 10\nLABEL first\n  KERNEL /boot/vmlinuz-0\n  APPEND root=/dev/xvda1 ro entry=0 initrd=/boot/initrd-0\nLABEL second\n  KERNEL /boot/vmlinuz-2\n  APPEND initrd=/boot/initrd-2 root=/dev/xvda1 ro entry=2 console=ttyS0\n';
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'x', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/extlinux/extlinux.conf': ext }) }] });
    const real = pygrub(img.path);
    const mine = await ours(img.path);
    expect(mine.cfg.format).toBe('extlinux');
    expect(mine.cfg.entries.map((e) => [e.title, e.kernel, norm(e.args)])).toEqual(real.entries.map((e) => [e.title, e.kernel, norm(e.args)]));
    expect(norm(mine.chosen?.args)).toBe(norm(real.args));
    expect(mine.kernel).toEqual(real.kernel);
  });

  it('grub2 on a separate /boot partition (kernel paths relative to it)', async () => {
    const files: Record<string, string> = { '/grub/grub.cfg': `set default="1"\n${menu(0, 'zero').replace(/\/boot\//g, '/')}${menu(1, 'one', 'console=ttyS0').replace(/\/boot\//g, '/')}` };
    for (let i = 0; i < 2; i++) {
      files[`/vmlinuz-${i}`] = `kernel number ${i}\n`;
      files[`/initrd-${i}`] = `initrd ${i}\n`;
    }
    const boot = writeTree(`${tmp.path}/boot${n++}`, { files, links: {} });
    const root = bootTree({ '/etc/fstab': '/dev/xvda2 / ext4 defaults 0 1\nLABEL=boot /boot ext3 defaults 0 2\n', '/boot/.keep': '' });
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'b', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext3', tree: boot, label: 'boot' }, { sizeMiB: 16, fs: 'ext4', tree: root }] });
    const real = pygrub(img.path);
    const mine = await ours(img.path);
    expect(mine.cfg.pathPrefix).toBe('/boot');
    expect(mine.cfg.entries.map((e) => [e.title, e.kernel, norm(e.args)])).toEqual(real.entries.map((e) => [e.title, e.kernel, norm(e.args)]));
    expect(norm(mine.chosen?.args)).toBe(norm(real.args));
    expect(mine.kernel).toEqual(real.kernel);
  });

  it('a BLS-only grub.cfg: pygrub finds nothing to boot, and we say so', async () => {
    const cfg = 'set default="${saved_entry}"\ninsmod blscfg\nblscfg\n';
    const bls = 'title Fedora (0)\nlinux /boot/vmlinuz-0\ninitrd /boot/initrd-0\noptions root=/dev/xvda1 ro\n';
    const img = buildImage({ dir: `${tmp.path}/img${n++}`, name: 'bls', table: 'mbr', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: bootTree({ '/boot/grub2/grub.cfg': cfg, '/boot/loader/entries/f-0.conf': bls }) }] });
    requireTools(PYGRUB);
    const real = exec(PYGRUB, ['-q', `--output-directory=${tmp.path}`, img.path], { allowFailure: true });
    expect(real.status).not.toBe(0);
    const target = await openImageTarget(img.path);
    const [guest] = await findGuests(target.volumes);
    const cfgFound = await findBootConfig(guest!.fs, mountOfPath(guest!));
    await target.close();
    expect(cfgFound?.format).toBe('grub2-bls');
    expect(cfgFound?.pygrubIndex).toBe(-1);
    expect(cfgFound?.entries[cfgFound.defaultIndex]?.title).toBe('Fedora (0)');
  });
});
