import { XenkitError } from '@xenkit/core';
import { DiskError } from '../block/errors.js';
import { sourcePath, type BlockSource } from '../block/types.js';
import type { LvmSection } from '../lvm/text.js';
import { scanPv, vgFromMetadata, vgSection, type LvmLv, type LvmVg } from '../lvm/vg.js';
import { probeFilesystem, type FsProbe } from '../probe/probe.js';
import { readPartitionTable } from './table.js';
import type { LayoutIssue, Partition, PartitionTable } from './types.js';
import { SliceSource, type Segment } from './view.js';

/** One place a filesystem can live: the whole disk, a partition or an LVM logical volume. */
export interface Volume {
  /** "disk", "p1"…, "lv:vg/name". */
  id: string;
  kind: 'disk' | 'partition' | 'lv';
  /** Byte offset of the volume's first byte on the disk, and its length. */
  offset: number;
  size: number;
  /** Byte ranges on the disk, in volume order (one for disks and partitions). */
  segments: Segment[];
  partition?: number;
  lv?: { vg: string; name: string };
  filesystem: FsProbe | null;
}

export interface LvmLayout {
  vgs: LvmVg[];
  /** Which volume holds each PV found (a PV without metadata has no vg). */
  pvs: { volume: string; uuid: string; vg?: string }[];
}

export interface DiskLayout {
  path: string;
  size: number;
  table: Omit<PartitionTable, 'partitions'>;
  partitions: Partition[];
  lvm: LvmLayout | null;
  volumes: Volume[];
  issues: LayoutIssue[];
  /** Bytes read from the source while probing. */
  bytesRead: number;
}

/**
 * Find everything on a disk: its partition table, the filesystem on the whole disk and on every
 * partition, the LVM volume groups on any PVs, and the filesystem on every linear LV. Reads only
 * table sectors, superblocks and LVM metadata (a few KiB per volume).
 */
export async function probeDisk(source: BlockSource, options: { path?: string } = {}): Promise<DiskLayout> {
  const path = options.path ?? sourcePath(source);
  const before = source.bytesRead;
  const { partitions, ...table } = await readPartitionTable(source, path);
  const issues: LayoutIssue[] = [...table.issues];
  const volumes: Volume[] = [volumeOf('disk', 'disk', [{ offset: 0, length: source.size }])];
  for (const p of partitions) {
    if (p.offset >= source.size) continue;
    const length = Math.min(p.size, source.size - p.offset);
    const v = volumeOf(`p${p.number}`, 'partition', [{ offset: p.offset, length }]);
    v.partition = p.number;
    volumes.push(v);
  }
  const pvs: LvmLayout['pvs'] = [];
  // Newest metadata per VG name (highest seqno), from any of its PVs in this image.
  const metadata = new Map<string, { seqno: number; meta: LvmSection }>();
  for (const v of volumes) {
    const view = new SliceSource(source, v.segments, `${path}:${v.id}`);
    v.filesystem = await probeFilesystem(view, `${path} (${v.id})`, { partitioned: v.kind === 'disk' && table.scheme !== 'none' });
    if (v.filesystem?.type !== 'LVM2_member') continue;
    try {
      const scan = await scanPv(view, `${path} (${v.id})`);
      if (!scan) continue;
      const vg = scan.metadata ? vgSection(scan.metadata) : null;
      pvs.push({ volume: v.id, uuid: scan.uuid, ...(vg ? { vg: vg.name } : {}) });
      if (scan.metadata && vg) {
        const seqno = typeof vg.section.seqno === 'number' ? vg.section.seqno : -1;
        const prev = metadata.get(vg.name);
        if (!prev || seqno > prev.seqno) metadata.set(vg.name, { seqno, meta: scan.metadata });
      }
    } catch (e) {
      if (!(e instanceof XenkitError)) throw e;
      v.filesystem.issues.push({ code: e.code, message: e.message });
    }
  }
  let lvm: LvmLayout | null = null;
  if (pvs.length > 0) {
    const present = new Set(pvs.map((p) => p.uuid));
    const vgs: LvmVg[] = [];
    for (const { meta } of metadata.values()) {
      try {
        vgs.push(vgFromMetadata(meta, path, present));
      } catch (e) {
        if (!(e instanceof XenkitError)) throw e;
        issues.push({ code: e.code, message: e.message });
      }
    }
    lvm = { vgs, pvs };
    for (const vg of vgs) {
      for (const lv of vg.lvs) {
        const v = lvVolume(vg, lv, pvs, volumes, path, issues);
        if (v.segments.length > 0) {
          v.filesystem = await probeFilesystem(new SliceSource(source, v.segments, `${path}:${v.id}`), `${path} (${v.id})`);
        }
        volumes.push(v);
      }
    }
  }
  for (const v of volumes) for (const i of v.filesystem?.issues ?? []) if (!issues.some((x) => x.message === i.message)) issues.push(i);
  return { path, size: source.size, table, partitions, lvm, volumes, issues, bytesRead: source.bytesRead - before };
}

/**
 * An LV as a volume: each range moved from its PV's coordinates to the disk's. Every PV must be a
 * single-range volume of this image (a partition or the disk); an LV that is not linear, or that
 * lives partly on a PV this image lacks, gets no segments and stays unprobed.
 */
function lvVolume(vg: LvmVg, lv: LvmLv, pvs: LvmLayout['pvs'], volumes: Volume[], path: string, issues: LayoutIssue[]): Volume {
  const v = volumeOf(`lv:${vg.name}/${lv.name}`, 'lv', []);
  v.lv = { vg: vg.name, name: lv.name };
  v.size = lv.size;
  const segments: Segment[] = [];
  for (const r of lv.ranges ?? []) {
    const pvVolume = volumes.find((x) => x.id === pvs.find((p) => p.uuid === r.pv)?.volume);
    const base = pvVolume?.segments.length === 1 ? (pvVolume.segments[0] as Segment).offset : undefined;
    if (!pvVolume || base === undefined) return v;
    if (r.offset + r.length > pvVolume.size) {
      issues.push({ code: 'E_LVM_LV_RANGE', message: `${path}: LV ${vg.name}/${lv.name} extends past the end of its PV (${pvVolume.id})` });
      return v;
    }
    segments.push({ offset: base + r.offset, length: r.length });
  }
  v.segments = segments;
  v.offset = segments[0]?.offset ?? 0;
  return v;
}

function volumeOf(id: string, kind: Volume['kind'], segments: Segment[]): Volume {
  return { id, kind, offset: segments[0]?.offset ?? 0, size: segments.reduce((t, s) => t + s.length, 0), segments, filesystem: null };
}

/** The volume as a block source of its own (a view of `source`; closing it leaves `source` open). */
export function openVolume(source: BlockSource, volume: Volume, path = sourcePath(source)): BlockSource {
  if (volume.segments.length === 0) {
    throw new DiskError('E_DISK_VOLUME_UNMAPPED', `${path}: volume ${volume.id} has no readable byte ranges (unsupported LV layout)`, {
      path,
      volume: volume.id,
    });
  }
  return new SliceSource(source, volume.segments, `${path}:${volume.id}`);
}
