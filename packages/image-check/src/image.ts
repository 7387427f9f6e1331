import { openDisk, openExtFileSystem, openXfsFileSystem, probeDisk, type DiskLayout, type Volume } from '@xenkit/disk';
import { silentLogger, type Logger } from '@xenkit/core';
import { CachedSource } from './cache.js';
import type { Target } from './check.js';
import type { DiskFacts, DiskPartitionFacts } from './checks/types.js';
import type { GuestVolume } from './os/volumes.js';

const EXT = new Set(['ext2', 'ext3', 'ext4', 'ext4dev']);
// MBR type 8e and GPT's Linux LVM GUID.
const LVM_TYPES = new Set(['8e', 'E6D6D379-F507-44C2-A23C-238F2A3DF928']);

/** The device name virt-inspector would show: /dev/sda, /dev/sdaN, /dev/VG/LV. */
function deviceName(v: Volume): string {
  if (v.kind === 'partition') return `/dev/sda${v.partition}`;
  if (v.kind === 'lv' && v.lv) return `/dev/${v.lv.vg}/${v.lv.name}`;
  return '/dev/sda';
}

function guestVolumes(layout: DiskLayout, open: (v: Volume) => Promise<GuestVolume['open'] extends () => Promise<infer R> ? R : never>): GuestVolume[] {
  const mbrId = layout.table.scheme === 'mbr' && layout.table.diskId ? layout.table.diskId.replace(/^0x/i, '').toLowerCase() : undefined;
  const out: GuestVolume[] = [];
  for (const v of layout.volumes) {
    const fs = v.filesystem;
    // The whole-disk volume counts only when no partition table claims the disk.
    if (v.kind === 'disk' && layout.table.scheme !== 'none') continue;
    const part = v.partition !== undefined ? layout.partitions.find((p) => p.number === v.partition) : undefined;
    const partuuid = part?.uuid ?? (mbrId && part ? `${mbrId}-${part.number.toString(16).padStart(2, '0')}` : undefined);
    out.push({
      device: deviceName(v),
      kind: v.kind,
      ...(fs ? { fsType: fs.type } : {}),
      ...(fs?.parted ? { partedType: fs.parted } : {}),
      ...(fs?.label ? { label: fs.label } : {}),
      ...(fs?.uuid ? { uuid: fs.uuid } : {}),
      ...(partuuid ? { partuuid } : {}),
      ...(part?.name ? { partlabel: part.name } : {}),
      ...(v.partition !== undefined ? { partitionNumber: v.partition } : {}),
      ...(v.lv ? { vg: v.lv.vg, lv: v.lv.name } : {}),
      size: v.size,
      open: () => open(v),
    });
  }
  return out;
}

/** Partitions as parted lists them: the MBR extended container included, logical ones from 5. */
export function diskFacts(layout: DiskLayout): DiskFacts {
  const scheme = layout.table.scheme;
  const partitions: DiskPartitionFacts[] = [];
  if (scheme === 'none') {
    const disk = layout.volumes.find((v) => v.kind === 'disk');
    const fs = disk?.filesystem;
    if (fs) partitions.push({ number: 1, partedType: fs.parted ?? '', fsType: fs.type, lvm: fs.type === 'LVM2_member' });
  } else {
    const ext = layout.table.extended;
    for (const p of layout.partitions) {
      const v = layout.volumes.find((x) => x.kind === 'partition' && x.partition === p.number);
      const fs = v?.filesystem;
      partitions.push({
        number: p.number,
        partedType: fs?.parted ?? '',
        ...(fs ? { fsType: fs.type } : {}),
        startSector: p.startSector,
        sizeSectors: p.sectors,
        lvm: fs?.type === 'LVM2_member' || LVM_TYPES.has(p.type.toLowerCase()) || LVM_TYPES.has(p.type.toUpperCase()),
      });
    }
    if (ext) partitions.push({ number: ext.number, partedType: '', startSector: ext.offset / 512, sizeSectors: ext.size / 512, lvm: false });
    partitions.sort((a, b) => a.number - b.number);
  }
  return {
    table: scheme === 'mbr' ? 'msdos' : scheme === 'gpt' ? 'gpt' : 'loop',
    partitions,
    lvm: partitions.some((p) => p.lvm) || (layout.lvm?.pvs.length ?? 0) > 0,
  };
}

/**
 * Open an image (raw, qcow2, VHD, with backing chains) as a check target: its partition table, LVM
 * and filesystems probed from superblocks; ext2/3/4 volumes readable through libext2fs, xfs through
 * @xenkit/disk's own reader. Other filesystems (btrfs) are listed but cannot be opened.
 */
export async function openImageTarget(path: string, logger: Logger = silentLogger, options: { syncReads?: boolean } = {}): Promise<Target & { layout: DiskLayout }> {
  const disk = await openDisk(path, { logger, syncReads: options.syncReads ?? false });
  try {
    const layout = await probeDisk(disk, { path });
    const cached = new CachedSource(disk);
    const volumes = guestVolumes(layout, async (v) => {
      const type = v.filesystem?.type;
      if (type && EXT.has(type)) return openExtFileSystem(cached, v, { logger });
      if (type === 'xfs') return openXfsFileSystem(cached, v);
      return null;
    });
    return {
      source: { kind: 'image', path, format: disk.format },
      volumes,
      disk: diskFacts(layout),
      layout,
      bytesRead: () => disk.bytesRead,
      close: () => disk.close(),
    };
  } catch (e) {
    await disk.close();
    throw e;
  }
}
