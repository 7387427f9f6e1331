import { DiskError } from '../block/errors.js';
import type { BlockSource } from '../block/types.js';
import { formatLvmUuid, readMetadataText, readPvLabel } from './label.js';
import { parseLvmText, type LvmSection, type LvmValue } from './text.js';

export interface LvmPv {
  /** Name inside the VG metadata ("pv0"). */
  name: string;
  uuid: string;
  /** Device path recorded when the VG was last written (a hint only). */
  device?: string;
  peStart: number;
  peCount: number;
  /** Whether this image holds the PV (else a VG member lives on another disk). */
  present: boolean;
}

export interface LvmSegment {
  startExtent: number;
  extentCount: number;
  type: string;
  stripes: { pv: string; extent: number }[];
}

export interface LvmLv {
  name: string;
  uuid: string;
  status: string[];
  size: number;
  segments: LvmSegment[];
  /** Byte ranges on the PV (in LV order) when every segment is linear on a present PV. */
  ranges?: { pv: string; offset: number; length: number }[];
  /** Why the LV cannot be read as a block device, when it cannot. */
  unmappable?: string;
}

export interface LvmVg {
  name: string;
  uuid: string;
  seqno: number;
  extentSize: number;
  pvs: LvmPv[];
  lvs: LvmLv[];
}

/** A PV found on a volume: its label and, when the PV carries metadata, the parsed VG text. */
export interface PvScan {
  uuid: string;
  deviceSize: number;
  metadata?: LvmSection;
}

const SECTOR = 512;
const MAX_ITEMS = 4096;

function num(v: LvmValue | undefined): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : Number.NaN;
}
function str(v: LvmValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function sect(v: LvmValue | undefined): LvmSection | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}
function strings(v: LvmValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The volume-group section of a metadata text: the one top-level section with an `id`. */
export function vgSection(meta: LvmSection): { name: string; section: LvmSection } | null {
  const entries = Object.entries(meta).filter(([, v]) => sect(v) && 'id' in (v as LvmSection));
  if (entries.length !== 1) return null;
  const [name, section] = entries[0] as [string, LvmSection];
  return { name, section };
}

/** Turn parsed metadata into a VG; every number is checked before use. */
export function vgFromMetadata(meta: LvmSection, path: string, presentPvs: ReadonlySet<string>): LvmVg {
  const found = vgSection(meta);
  if (!found) throw bad(path, 'expected exactly one volume group section');
  const { name, section: vg } = found;
  const extentSectors = num(vg.extent_size);
  if (!(extentSectors > 0)) throw bad(path, `extent_size ${String(vg.extent_size)} is not a positive integer`);
  const extentSize = extentSectors * SECTOR;
  const pvs: LvmPv[] = [];
  for (const [pvName, v] of Object.entries(sect(vg.physical_volumes) ?? {}).slice(0, MAX_ITEMS)) {
    const s = sect(v);
    if (!s) continue;
    const uuid = str(s.id) ?? '';
    const peStart = num(s.pe_start);
    const peCount = num(s.pe_count);
    if (Number.isNaN(peStart) || Number.isNaN(peCount)) throw bad(path, `PV ${pvName} has no valid pe_start/pe_count`);
    const device = str(s.device);
    pvs.push({ name: pvName, uuid, peStart: peStart * SECTOR, peCount, present: presentPvs.has(uuid), ...(device ? { device } : {}) });
  }
  const lvs: LvmLv[] = [];
  for (const [lvName, v] of Object.entries(sect(vg.logical_volumes) ?? {}).slice(0, MAX_ITEMS)) {
    const s = sect(v);
    if (!s) continue;
    const segments: LvmSegment[] = [];
    for (const [k, sv] of Object.entries(s)) {
      const seg = sect(sv);
      if (!seg || !/^segment\d+$/.test(k)) continue;
      const stripesRaw = Array.isArray(seg.stripes) ? seg.stripes : [];
      const stripes: { pv: string; extent: number }[] = [];
      for (let i = 0; i + 1 < stripesRaw.length && stripes.length < MAX_ITEMS; i += 2) {
        stripes.push({ pv: String(stripesRaw[i]), extent: num(stripesRaw[i + 1]) });
      }
      segments.push({ startExtent: num(seg.start_extent), extentCount: num(seg.extent_count), type: str(seg.type) ?? 'unknown', stripes });
      if (segments.length > MAX_ITEMS) break;
    }
    segments.sort((a, b) => a.startExtent - b.startExtent);
    const extents = segments.reduce((t, g) => t + (Number.isNaN(g.extentCount) ? 0 : g.extentCount), 0);
    const lv: LvmLv = { name: lvName, uuid: str(s.id) ?? '', status: strings(s.status), size: extents * extentSize, segments };
    mapLv(lv, pvs, extentSize);
    lvs.push(lv);
  }
  return { name, uuid: str(vg.id) ?? '', seqno: num(vg.seqno), extentSize, pvs, lvs };
}

function mapLv(lv: LvmLv, pvs: LvmPv[], extentSize: number): void {
  const ranges: { pv: string; offset: number; length: number }[] = [];
  let expect = 0;
  for (const seg of lv.segments) {
    if (seg.startExtent !== expect || Number.isNaN(seg.extentCount)) {
      lv.unmappable = `segments are not contiguous at extent ${expect}`;
      return;
    }
    expect += seg.extentCount;
    if (seg.type !== 'striped' || seg.stripes.length !== 1) {
      lv.unmappable = seg.type === 'striped' ? `${seg.stripes.length}-way striped segment` : `segment type "${seg.type}"`;
      return;
    }
    const stripe = seg.stripes[0] as { pv: string; extent: number };
    const pv = pvs.find((p) => p.name === stripe.pv);
    if (!pv) {
      lv.unmappable = `segment refers to unknown PV "${stripe.pv}"`;
      return;
    }
    if (!pv.present) {
      lv.unmappable = `PV ${pv.uuid} is not in this image`;
      return;
    }
    if (Number.isNaN(stripe.extent) || stripe.extent + seg.extentCount > pv.peCount) {
      lv.unmappable = `segment extents ${stripe.extent}+${seg.extentCount} exceed PV ${pv.name}'s ${pv.peCount} extents`;
      return;
    }
    ranges.push({ pv: pv.uuid, offset: pv.peStart + stripe.extent * extentSize, length: seg.extentCount * extentSize });
  }
  lv.ranges = ranges;
}

/** Read a PV label and its VG metadata from a volume; null when the volume is not a PV. */
export async function scanPv(source: BlockSource, path: string, head?: Uint8Array): Promise<PvScan | null> {
  const label = await readPvLabel(source, path, head);
  if (!label) return null;
  const uuid = formatLvmUuid(label.uuid);
  const text = await readMetadataText(source, label, path);
  if (text === null) return { uuid, deviceSize: label.deviceSize };
  return { uuid, deviceSize: label.deviceSize, metadata: parseLvmText(text, path) };
}

function bad(path: string, what: string): DiskError {
  return new DiskError('E_LVM_BAD_METADATA', `${path}: LVM metadata is not usable: ${what}`, { path });
}
