import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTree, exec, requireTools, sfdiskJson, tempDir, type BuiltImage } from '@xenkit/fixtures';
import { BufferSource } from '../block/buffer.js';
import { openDisk } from '../block/open.js';
import { RawSource } from '../block/raw.js';
import { blkidAt, partedFsTypes } from '../test-helpers/tools.js';
import { probeDisk } from './probe-disk.js';

describe('probeDisk on images made by sfdisk, mke2fs, mkfs.xfs, mkswap, mkfs.vfat and LVM', () => {
  const tmp = tempDir('xenkit-layout-');
  let mbr: BuiltImage;
  let gpt: BuiltImage;
  let lvm: BuiltImage;

  beforeAll(() => {
    requireTools('sfdisk', 'blkid', 'parted', 'mke2fs', 'mkfs.xfs', 'mkswap', 'mkfs.vfat', 'pvcreate');
    const tree = buildTree(join(tmp.path, 'tree'), { 'etc/hostname': 'g\n' });
    mbr = buildImage({
      dir: tmp.path,
      name: 'mbr',
      table: 'mbr',
      partitions: [
        { sizeMiB: 8, fs: 'ext4', tree, label: 'root', bootable: true },
        { sizeMiB: 8, fs: 'ext4', mkfsArgs: ['-O', '^has_journal'] },
        { sizeMiB: 8, fs: 'ext3' },
        { sizeMiB: 8, fs: 'ext2', label: 'logical5' },
        { sizeMiB: 8, fs: 'swap', label: 'sw' },
        { sizeMiB: 34, fs: 'vfat', label: 'ESP' },
        { sizeMiB: 4, fs: 'none' },
      ],
    });
    gpt = buildImage({
      dir: tmp.path,
      name: 'gpt',
      table: 'gpt',
      partitions: [
        { sizeMiB: 300, fs: 'xfs', label: 'data', name: 'data' },
        { sizeMiB: 8, fs: 'ext4', name: 'boot', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', bootable: true },
      ],
    });
    lvm = buildImage({
      dir: tmp.path,
      name: 'lvm',
      table: 'mbr',
      partitions: [
        { sizeMiB: 8, fs: 'ext2', bootable: true },
        { sizeMiB: 48, fs: 'lvm' },
      ],
      lvm: {
        vg: 'xkvg',
        lvs: [
          { name: 'root', sizeMiB: 8, fs: 'ext4', tree, extendMiB: 8 },
          { name: 'swap', sizeMiB: 8, fs: 'swap' },
        ],
      },
    });
  });
  afterAll(() => tmp.cleanup());

  const probe = async (image: string) => {
    const src = await RawSource.open(image);
    try {
      return await probeDisk(src);
    } finally {
      await src.close();
    }
  };

  it('reads MBR primary and logical partitions exactly as sfdisk --json lists them', async () => {
    const layout = await probe(mbr.rawPath);
    const ref = sfdiskJson(mbr.rawPath);
    expect(layout.table.scheme).toBe('mbr');
    expect(layout.table.diskId).toBe(String((ref as { id?: string }).id));
    const expected = (ref.partitions ?? [])
      .filter((p) => !['5', 'f', '85'].includes(p.type))
      .map((p) => ({ number: Number(/(\d+)$/.exec(p.node)?.[1]), startSector: p.start, sectors: p.size, type: p.type }));
    expect(layout.partitions.map((p) => ({ number: p.number, startSector: p.startSector, sectors: p.sectors, type: p.type }))).toEqual(expected);
    expect(layout.table.extended?.number).toBe(4);
    expect(layout.partitions.find((p) => p.number === 1)?.bootable).toBe(true);
    expect(layout.partitions.find((p) => p.number === 2)?.bootable).toBe(false);
    expect(layout.partitions.filter((p) => p.kind === 'logical').map((p) => p.number)).toEqual([5, 6, 7, 8]);
  });

  it('names every filesystem as blkid -p does, and ext* as parted does', async () => {
    for (const img of [mbr, gpt]) {
      const layout = await probe(img.rawPath);
      const parted = partedFsTypes(img.rawPath);
      for (const p of layout.partitions) {
        const v = layout.volumes.find((x) => x.partition === p.number);
        const ref = blkidAt(img.rawPath, p.offset, p.size);
        expect({ n: p.number, type: v?.filesystem?.type }).toEqual({ n: p.number, type: ref.TYPE });
        if (ref.LABEL) expect(v?.filesystem?.label).toBe(ref.LABEL);
        if (ref.UUID) expect(v?.filesystem?.uuid).toBe(ref.UUID);
        if (v?.filesystem?.parted !== undefined) {
          expect({ n: p.number, parted: v.filesystem.parted ?? '' }).toEqual({ n: p.number, parted: parted.get(p.number) ?? '' });
        }
      }
    }
  });

  it('classifies a journal-less ext4 as ext4 for blkid and ext2 for parted', async () => {
    const layout = await probe(mbr.rawPath);
    const fs = layout.volumes.find((v) => v.partition === 2)?.filesystem;
    expect(fs?.type).toBe('ext4');
    expect(fs?.parted).toBe('ext2');
    expect(fs?.ext?.hasJournal).toBe(false);
    expect(fs?.ext?.features).toContain('extent');
    expect(fs?.ext?.needsRecovery).toBe(false);
  });

  it('reads GPT entries, names and GUIDs as sfdisk lists them', async () => {
    const layout = await probe(gpt.rawPath);
    const ref = sfdiskJson(gpt.rawPath) as { id?: string; partitions?: { start: number; size: number; type: string; uuid: string; name: string; attrs?: string }[] };
    expect(layout.table).toMatchObject({ scheme: 'gpt', pmbr: 'protective', gptHeader: 'primary', diskId: ref.id });
    expect(layout.partitions.map((p) => [p.startSector, p.sectors, p.type, p.uuid, p.name])).toEqual(
      (ref.partitions ?? []).map((p) => [p.start, p.size, p.type, p.uuid, p.name]),
    );
    expect(layout.partitions[1]?.typeName).toBe('EFI System');
    expect(layout.partitions.map((p) => p.bootable)).toEqual((ref.partitions ?? []).map((p) => p.attrs === 'LegacyBIOSBootable'));
    expect(layout.partitions[1]?.bootable).toBe(true);
  });

  it('finds the VG, maps a two-segment LV and probes the filesystems inside LVs', async () => {
    const layout = await probe(lvm.rawPath);
    expect(layout.lvm?.vgs.map((v) => v.name)).toEqual(['xkvg']);
    const vg = layout.lvm?.vgs[0];
    expect(vg?.lvs.map((l) => l.name).sort()).toEqual(['root', 'swap']);
    const root = layout.volumes.find((v) => v.id === 'lv:xkvg/root');
    const built = lvm.lvs.find((l) => l.name === 'root');
    expect(root?.segments).toEqual(built?.segments.map((s) => ({ offset: s.offset, length: s.size })));
    expect(root?.filesystem?.type).toBe(blkidAt(lvm.rawPath, built?.segments[0]?.offset ?? 0).TYPE);
    expect(layout.volumes.find((v) => v.id === 'lv:xkvg/swap')?.filesystem?.type).toBe('swap');
    expect(layout.volumes.find((v) => v.partition === 2)?.filesystem?.type).toBe(blkidAt(lvm.rawPath, lvm.partitions[1]?.offset ?? 0).TYPE);
    expect(layout.lvm?.pvs[0]?.uuid).toBe(blkidAt(lvm.rawPath, lvm.partitions[1]?.offset ?? 0).UUID);
  });

  it('maps an LV spanning two PVs of one VG', async () => {
    const two = buildImage({
      dir: tmp.path,
      name: 'twopv',
      table: 'gpt',
      partitions: [
        { sizeMiB: 12, fs: 'lvm' },
        { sizeMiB: 12, fs: 'lvm' },
      ],
      // Two extents per PV: the striped LV takes one of each, so 'wide' must take the other of each.
      lvm: { vg: 'twovg', lvs: [{ name: 'striped', sizeMiB: 8, fs: 'none', lvcreateArgs: ['-i', '2', '-I', '64k'] }, { name: 'wide', sizeMiB: 8, fs: 'ext4' }] },
    });
    const layout = await probe(two.rawPath);
    expect(layout.lvm?.pvs.map((p) => p.volume)).toEqual(['p1', 'p2']);
    expect(layout.lvm?.vgs[0]?.pvs.every((p) => p.present)).toBe(true);
    const wide = layout.volumes.find((v) => v.id === 'lv:twovg/wide');
    const built = two.lvs.find((l) => l.name === 'wide');
    expect(built?.segments.length).toBe(2);
    expect(wide?.segments).toEqual(built?.segments.map((s) => ({ offset: s.offset, length: s.size })));
    expect(wide?.filesystem?.type).toBe('ext4');
    const striped = layout.lvm?.vgs[0]?.lvs.find((l) => l.name === 'striped');
    expect(striped?.unmappable).toBe('2-way striped segment');
    expect(layout.volumes.find((v) => v.id === 'lv:twovg/striped')).toMatchObject({ segments: [], filesystem: null, size: 8 * 1024 * 1024 });
  });

  it('reports a hybrid MBR next to the GPT', async () => {
    const small = buildImage({ dir: tmp.path, name: 'hybrid', table: 'gpt', partitions: [{ sizeMiB: 2, fs: 'none' }, { sizeMiB: 2, fs: 'none' }] });
    const bytes = new Uint8Array(readFileSync(small.rawPath));
    const p1 = small.partitions[0] as { offset: number; size: number };
    const e = 446 + 16; // second MBR entry: a Linux partition mirroring GPT partition 1
    bytes[e + 4] = 0x83;
    const dv = new DataView(bytes.buffer);
    dv.setUint32(e + 8, p1.offset / 512, true);
    dv.setUint32(e + 12, p1.size / 512, true);
    const layout = await probeDisk(new BufferSource(bytes, 'hybrid'));
    expect(layout.table.pmbr).toBe('hybrid');
    expect(layout.table.hybridEntries?.map((h) => [h.number, h.type, h.startSector])).toEqual([[2, '83', p1.offset / 512]]);
    expect(layout.partitions.length).toBe(2);
  });

  it('finds the same layout through qcow2 and VHD containers (openDisk)', async () => {
    const raw = await probe(lvm.rawPath);
    for (const [fmt, opts] of [['qcow2', ['-O', 'qcow2']], ['vhd', ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on']]] as const) {
      const out = join(tmp.path, `lvm.${fmt}`);
      exec('qemu-img', ['convert', '-f', 'raw', ...opts, lvm.rawPath, out]);
      const disk = await openDisk(out);
      try {
        const layout = await probeDisk(disk);
        expect(disk.format).toBe(fmt);
        expect(layout.volumes).toEqual(raw.volumes);
        expect(layout.partitions).toEqual(raw.partitions);
      } finally {
        await disk.close();
      }
    }
  });

  it('names an isohybrid-style ISO 9660 on a partitioned whole disk', async () => {
    mkdirSync(join(tmp.path, 'isotree'));
    writeFileSync(join(tmp.path, 'isotree', 'x'), 'x');
    const iso = join(tmp.path, 'hy.iso');
    exec('genisoimage', ['-quiet', '-V', 'HYBRID', '-o', iso, join(tmp.path, 'isotree')]);
    exec('truncate', ['-s', '4M', iso]);
    exec('sfdisk', ['-q', '--no-reread', iso], { input: 'start=2048, type=83\n' });
    const layout = await probe(iso);
    const ref = blkidAt(iso, 0);
    expect(ref.TYPE).toBe('iso9660');
    const whole = layout.volumes.find((v) => v.kind === 'disk')?.filesystem;
    expect([whole?.type, whole?.label, whole?.uuid]).toEqual([ref.TYPE, ref.LABEL, ref.UUID]);
    expect(layout.partitions.length).toBe(1);
  });

  it('reads a few KiB, not the disk', async () => {
    const layout = await probe(lvm.rawPath);
    expect(layout.bytesRead).toBeLessThan(128 * 1024);
  });
});
