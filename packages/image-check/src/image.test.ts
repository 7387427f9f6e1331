import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { checkImage } from './api.js';
import { openImageTarget } from './image.js';
import { novaAutoDiskConfigReason, parsePartedMachine } from './checks/nova.js';
import { executable, goodDebian, ROOT_UUID, withChanges, writeTree } from './test-helpers/trees.js';

const tmp = tempDir('xenkit-imgcheck-');
afterAll(() => tmp.cleanup());

const good = writeTree(`${tmp.path}/good-tree`, goodDebian());

/** nova's rule evaluated on the real `parted --script --machine IMG 'unit s' print`. */
function novaOnParted(raw: string): string | null {
  requireTools('parted');
  const out = exec('parted', ['--script', '--machine', raw, 'unit s', 'print']).stdout;
  return novaAutoDiskConfigReason(parsePartedMachine(out).partitions);
}

function statuses(r: { checks: { id: string; status: string }[] }) {
  return Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
}

describe('check IMAGE', () => {
  it.each(['raw', 'qcow2', 'vhd'] as const)('agrees with check --root on the same tree (%s), and auto-disk-config matches nova-on-parted', async (format) => {
    const img = buildImage({ dir: `${tmp.path}/${format}`, name: 'one', table: 'mbr', format, partitions: [{ sizeMiB: 48, fs: 'ext4', tree: good, uuid: ROOT_UUID }] });
    const fromImage = await checkImage({ image: img.path });
    const fromTree = await checkImage({ root: good });
    const imageStatuses = statuses(fromImage);
    expect(imageStatuses['auto-disk-config']).toBe('pass');
    expect(novaOnParted(img.rawPath)).toBeNull();
    const { ['auto-disk-config']: _a, ...restImage } = imageStatuses;
    const { ['auto-disk-config']: _b, ...restTree } = statuses(fromTree);
    expect(restImage).toEqual(restTree);
    expect(fromImage.os).toMatchObject({ root: '/dev/sda1', distro: 'debian', majorVersion: 12, minorVersion: 5 });
    expect(fromImage.source).toMatchObject({ kind: 'image', format });
    expect(fromImage.properties.auto_disk_config).toBe('True');
    expect(fromImage.verdict).toBe('pass');
  });

  it('fails a journal-less ext4 with nova\'s "unable to resize: ext2", as parted sees it', async () => {
    const img = buildImage({ dir: `${tmp.path}/nojournal`, name: 'nj', table: 'mbr', partitions: [{ sizeMiB: 48, fs: 'ext4', tree: good, mkfsArgs: ['-O', '^has_journal'] }] });
    const r = await checkImage({ image: img.path }, { only: ['auto-disk-config'] });
    const expected = novaOnParted(img.rawPath);
    expect(expected).toBe('Disk contains a filesystem we are unable to resize: ext2');
    expect(r.checks[0]?.status).toBe('fail');
    expect(r.checks[0]?.summary).toBe(`nova would log: "${expected}"`);
  });

  it('fails two partitions and a lone partition 2 with nova\'s reasons; a separate /boot is mounted for the boot checks', async () => {
    const spec = goodDebian();
    const boot = writeTree(`${tmp.path}/boot-tree`, {
      files: Object.fromEntries(Object.entries(spec.files).filter(([p]) => p.startsWith('/boot/')).map(([p, c]) => [p.slice(5), c])),
      links: {},
    });
    const rootOnly = writeTree(
      `${tmp.path}/root-tree`,
      withChanges(spec, { ...Object.fromEntries(Object.keys(spec.files).filter((p) => p.startsWith('/boot/')).map((p) => [p, null])), '/boot/.keep': '', '/etc/fstab': `UUID=${ROOT_UUID} / ext4 defaults 0 1\nLABEL=BOOT /boot ext4 defaults 0 2\n` }),
    );
    const img = buildImage({
      dir: `${tmp.path}/sepboot`,
      name: 'two',
      table: 'gpt',
      partitions: [
        { sizeMiB: 24, fs: 'ext4', tree: boot, label: 'BOOT' },
        { sizeMiB: 48, fs: 'ext4', tree: rootOnly, uuid: ROOT_UUID },
      ],
    });
    const r = await checkImage({ image: img.path });
    const byId = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    expect(novaOnParted(img.rawPath)).toBe('Disk must have only one partition.');
    expect(byId['auto-disk-config']?.summary).toContain('Disk must have only one partition.');
    expect(r.os?.mountpoints).toEqual([
      { mountpoint: '/', device: '/dev/sda2' },
      { mountpoint: '/boot', device: '/dev/sda1' },
    ]);
    expect(byId['console-log']?.status).toBe('pass');
    expect(byId['pv-kernel']?.status).toBe('pass');

    const lone = buildImage({ dir: `${tmp.path}/lone2`, name: 'lone', table: 'gpt', partitions: [{ sizeMiB: 1, fs: 'none' }, { sizeMiB: 48, fs: 'ext4', tree: good }] });
    exec('sfdisk', ['--delete', lone.rawPath, '1']);
    expect(novaOnParted(lone.rawPath)).toBe('The only partition should be partition 1.');
    const lr = await checkImage({ image: lone.rawPath }, { only: ['auto-disk-config'] });
    expect(lr.checks[0]?.summary).toContain('The only partition should be partition 1.');
  });

  it('finds a root inside an LVM LV and fails auto-disk-config and resize-on-boot for it', async () => {
    const tree = writeTree(`${tmp.path}/lvm-tree`, withChanges(goodDebian(), { '/etc/fstab': '/dev/mapper/vg0-root / ext4 defaults 0 1\n' }));
    const img = buildImage({ dir: `${tmp.path}/lvm`, name: 'lvm', table: 'mbr', partitions: [{ sizeMiB: 64, fs: 'lvm' }], lvm: { vg: 'vg0', lvs: [{ name: 'root', sizeMiB: 48, fs: 'ext4', tree }] } });
    const r = await checkImage({ image: img.path });
    const byId = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    expect(r.os?.root).toBe('/dev/vg0/root');
    const nova = novaOnParted(img.rawPath);
    expect(byId['auto-disk-config']?.summary).toBe(`nova would log: "${nova}"`);
    expect(byId['auto-disk-config']?.evidence.join('\n')).toContain('LVM');
    expect(byId['resize-on-boot']?.status).toBe('fail');

    // The guide's LVM recipe in rc.local makes it pass.
    const rc = '#!/bin/sh\nparted /dev/xvda --script "mkpart primary 1GiB 100%"\npvcreate /dev/xvda2\nvgextend vg0 /dev/xvda2\nlvextend /dev/mapper/vg0-root /dev/xvda2\nresize2fs /dev/mapper/vg0-root\n';
    const tree2 = writeTree(`${tmp.path}/lvm-tree2`, executable(withChanges(goodDebian(), { '/etc/fstab': '/dev/mapper/vg0-root / ext4 defaults 0 1\n', '/etc/rc.local': rc, '/lib/systemd/system/rc-local.service': '[Service]\nExecStart=/etc/rc.local start\n' }), '/etc/rc.local'));
    const img2 = buildImage({ dir: `${tmp.path}/lvm2`, name: 'lvm', table: 'mbr', partitions: [{ sizeMiB: 64, fs: 'lvm' }], lvm: { vg: 'vg0', lvs: [{ name: 'root', sizeMiB: 48, fs: 'ext4', tree: tree2 }] } });
    const r2 = await checkImage({ image: img2.path }, { only: ['resize-on-boot'] });
    expect(r2.checks[0]?.status).toBe('pass');
    expect(r2.checks[0]?.summary).toContain('/etc/rc.local');
  });

  it('checks the OS the boot loader boots when a disk holds two, and another with --os', async () => {
    const other = writeTree(`${tmp.path}/other-tree`, { files: { '/etc/os-release': 'ID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39"\n', '/etc/hosts': '', '/bin/.keep': '' }, links: {} });
    const img = buildImage({ dir: `${tmp.path}/two-os`, name: 'two', table: 'gpt', partitions: [{ sizeMiB: 16, fs: 'ext4', tree: other }, { sizeMiB: 48, fs: 'ext4', tree: good }] });
    const r = await checkImage({ image: img.path }, { skip: ['auto-disk-config'] });
    expect(r.os?.root).toBe('/dev/sda2');
    expect(r.otherOperatingSystems.map((o) => [o.root, o.distro])).toEqual([['/dev/sda1', 'fedora']]);
    const f = await checkImage({ image: img.path }, { osRoot: '/dev/sda1', only: ['console-log'] });
    expect(f.os?.distro).toBe('fedora');
    expect(f.checks[0]?.status).toBe('fail');
    await expect(checkImage({ image: img.path }, { osRoot: '/dev/sda9' })).rejects.toThrow(/E_OS_NOT_FOUND|no operating system with root/);
  });

  it('reads an xfs root (mkfs.xfs -p, no mount) as check --root reads its tree; only nova\'s resize rule fails', async () => {
    const img = buildImage({ dir: `${tmp.path}/xfs`, name: 'xfs', table: 'mbr', partitions: [{ sizeMiB: 320, fs: 'xfs', tree: good, uuid: ROOT_UUID }] });
    const r = await checkImage({ image: img.path });
    expect(novaOnParted(img.rawPath)).toBe('Disk contains a filesystem we are unable to resize: xfs');
    expect(r.checks.find((c) => c.id === 'auto-disk-config')?.summary).toContain('unable to resize: xfs');
    expect(r.os).toMatchObject({ root: '/dev/sda1', distro: 'debian', majorVersion: 12, minorVersion: 5 });
    const { ['auto-disk-config']: _a, ...fromImage } = statuses(r);
    const { ['auto-disk-config']: _b, ...fromTree } = statuses(await checkImage({ root: good }));
    expect(fromImage).toEqual(fromTree);
    expect(Object.values(fromImage)).not.toContain('error');
    expect(r.verdict).toBe('fail');
  });

  it('judges an xfs volume without a Linux root by the disk alone: unreadable input (exit 2), disk results in the details', async () => {
    const img = buildImage({ dir: `${tmp.path}/xfs-empty`, name: 'xfs', table: 'mbr', partitions: [{ sizeMiB: 320, fs: 'xfs' }] });
    const err = await checkImage({ image: img.path }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; details: { checks: { id: string; summary: string }[] } },
    );
    expect(err?.code).toBe('E_NO_OS');
    expect(err?.message).toContain('no Linux root filesystem found');
    expect(err?.details.checks.map((c) => c.id)).toEqual(['auto-disk-config']);
    expect(err?.details.checks[0]?.summary).toContain('unable to resize: xfs');
  });

  it.each(['mbr', 'gpt'] as const)('lists partitions as parted does (%s, swap/ext2/ext3/vfat/xfs, logical partitions)', async (table) => {
    requireTools('parted');
    const img = buildImage({
      dir: `${tmp.path}/many-${table}`,
      name: 'many',
      table,
      partitions: [
        { sizeMiB: 8, fs: 'swap' },
        { sizeMiB: 8, fs: 'ext2' },
        { sizeMiB: 8, fs: 'ext3' },
        { sizeMiB: 40, fs: 'vfat' },
        { sizeMiB: 300, fs: 'xfs' },
      ],
    });
    const parted = parsePartedMachine(exec('parted', ['--script', '--machine', img.rawPath, 'unit s', 'print']).stdout);
    const target = await openImageTarget(img.path);
    try {
      expect(target.disk?.table).toBe(parted.table);
      expect(target.disk?.partitions.map((p) => [p.number, p.partedType, p.startSector, p.sizeSectors])).toEqual(parted.partitions.map((p) => [p.number, p.partedType, p.startSector, p.sizeSectors]));
    } finally {
      await target.close();
    }
  });
});
