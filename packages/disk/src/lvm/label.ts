import { crc32 as zlibCrc32 } from 'node:zlib';
import { DiskError } from '../block/errors.js';
import type { BlockSource } from '../block/types.js';
import { ascii, u32le, u64le } from '../layout/bytes.js';

/**
 * LVM2 on-disk structures (lvm2 lib/label/label.h, lib/format_text/layout.h), little-endian:
 *
 * label_header, in one of sectors 0–3:
 *   0 id "LABELONE"   8 sector_xl (u64, the sector it sits in)   16 crc_xl (u32, over bytes 20–511)
 *  20 offset_xl (u32, pv_header offset within the sector)   24 type "LVM2 001"
 * pv_header: 0 pv_uuid[32]   32 device_size (u64)   40 disk_locn lists {offset u64, size u64}: data
 *   areas until a zero entry, then metadata areas until a zero entry.
 * mda_header (512 bytes at a metadata area's start): 0 checksum (u32, over bytes 4–511)
 *   4 magic " LVM2 x[5A%r0N*>"   20 version (1)   24 start (u64)   32 size (u64)
 *  40 raw_locn {offset u64, size u64, checksum u32, flags u32}; the first is the live metadata, its
 *   offset relative to the area start; the text may wrap around to just after the header.
 */
export const LABEL_SCAN_SECTORS = 4;
const MDA_HEADER_SIZE = 512;
const FMTT_MAGIC = ' LVM2 x[5A%r0N*>';
const RAW_LOCN_IGNORED = 1;
const MAX_AREAS = 16;
const MAX_METADATA = 4 * 1024 * 1024;

/**
 * lvm2's calc_crc: CRC-32 (reflected 0xEDB88320) seeded with 0xF597A6CF and no final inversion. zlib's
 * crc32 inverts on the way in and out, so seeding it with the inverted seed and inverting its result
 * gives lvm2's value.
 */
const LVM_CRC_SEED = 0xf597a6cf;
export function lvmCrc(b: Uint8Array): number {
  // zlib answers 0 for a buffer without storage (an empty one may have none), whatever the seed.
  if (b.length === 0) return LVM_CRC_SEED;
  return ~zlibCrc32(b, ~LVM_CRC_SEED >>> 0) >>> 0;
}

export interface PvLabel {
  sector: number;
  /** 32 characters as stored; {@link formatLvmUuid} adds the dashes the text metadata uses. */
  uuid: string;
  deviceSize: number;
  dataAreas: { offset: number; size: number }[];
  metadataAreas: { offset: number; size: number }[];
}

export function formatLvmUuid(raw: string): string {
  const cuts = [6, 4, 4, 4, 4, 4, 6];
  const parts: string[] = [];
  let at = 0;
  for (const c of cuts) {
    parts.push(raw.slice(at, at + c));
    at += c;
  }
  return parts.join('-');
}

/** Find the PV label in sectors 0–3 of `source`; null when there is none. */
export async function readPvLabel(source: BlockSource, path: string, head?: Uint8Array): Promise<PvLabel | null> {
  const need = Math.min(LABEL_SCAN_SECTORS * 512, source.size);
  const bytes = head && head.length >= need ? head : await source.read(0, need);
  for (let s = 0; s * 512 + 512 <= need; s++) {
    const sec = bytes.subarray(s * 512, s * 512 + 512);
    if (ascii(sec, 0, 8) !== 'LABELONE') continue;
    if (u64le(sec, 8) !== s) continue;
    if (lvmCrc(sec.subarray(20, 512)) !== u32le(sec, 16)) {
      throw new DiskError('E_LVM_LABEL_CRC', `${path}: LVM label in sector ${s} fails its checksum`, { path, sector: s });
    }
    if (ascii(sec, 24, 8) !== 'LVM2 001') {
      throw new DiskError('E_LVM_LABEL_TYPE', `${path}: LVM label type ${JSON.stringify(ascii(sec, 24, 8))} is not "LVM2 001"`, { path });
    }
    const off = u32le(sec, 20);
    if (off < 32 || off + 40 > 512) throw new DiskError('E_LVM_LABEL_BAD', `${path}: pv_header offset ${off} is outside the label sector`, { path });
    const uuid = ascii(sec, off, 32);
    const deviceSize = u64le(sec, off + 32);
    let p = off + 40;
    const list = (): { offset: number; size: number }[] => {
      const out: { offset: number; size: number }[] = [];
      while (p + 16 <= 512 && out.length < MAX_AREAS) {
        const offset = u64le(sec, p);
        const size = u64le(sec, p + 8);
        p += 16;
        if (offset === 0) break;
        out.push({ offset, size });
      }
      return out;
    };
    const dataAreas = list();
    const metadataAreas = list();
    return { sector: s, uuid, deviceSize, dataAreas, metadataAreas };
  }
  return null;
}

/**
 * The live metadata text: from the first metadata area that passes every check. A PV may carry a
 * second copy at its end (pvcreate --metadatacopies 2), which is what LVM falls back to as well; only
 * when no area is usable is the first area's error thrown.
 */
export async function readMetadataText(source: BlockSource, label: PvLabel, path: string): Promise<string | null> {
  let firstError: DiskError | undefined;
  for (const area of label.metadataAreas) {
    try {
      const text = await readArea(source, area.offset, path);
      if (text !== null) return text;
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      firstError ??= e;
    }
  }
  if (firstError) throw firstError;
  return null;
}

async function readArea(source: BlockSource, areaOffset: number, path: string): Promise<string | null> {
  if (areaOffset + MDA_HEADER_SIZE > source.size) {
    throw new DiskError('E_LVM_MDA_RANGE', `${path}: LVM metadata area at ${areaOffset} is past the end of the PV`, { path, offset: areaOffset });
  }
  const h = await source.read(areaOffset, MDA_HEADER_SIZE);
  if (ascii(h, 4, 16) !== FMTT_MAGIC) {
    throw new DiskError('E_LVM_MDA_MAGIC', `${path}: LVM metadata area at ${areaOffset} has a bad magic`, { path, offset: areaOffset });
  }
  if (lvmCrc(h.subarray(4)) !== u32le(h, 0)) {
    throw new DiskError('E_LVM_MDA_CRC', `${path}: LVM metadata area header at ${areaOffset} fails its checksum`, { path, offset: areaOffset });
  }
  const mdaSize = u64le(h, 32);
  const offset = u64le(h, 40);
  const size = u64le(h, 48);
  const checksum = u32le(h, 56);
  const flags = u32le(h, 60);
  if (offset === 0 || flags & RAW_LOCN_IGNORED) return null;
  if (size > MAX_METADATA || areaOffset + mdaSize > source.size || offset >= mdaSize || size > mdaSize - MDA_HEADER_SIZE || offset < MDA_HEADER_SIZE) {
    throw new DiskError('E_LVM_MDA_RANGE', `${path}: LVM metadata location (offset ${offset}, ${size} bytes) is outside its ${mdaSize}-byte area`, {
      path,
    });
  }
  // The area is a ring buffer after its header: text that reaches the end continues just after it.
  const first = Math.min(size, mdaSize - offset);
  const a = await source.read(areaOffset + offset, first);
  const b = first < size ? await source.read(areaOffset + MDA_HEADER_SIZE, size - first) : new Uint8Array(0);
  const text = new Uint8Array(size);
  text.set(a, 0);
  text.set(b, first);
  if (lvmCrc(text) !== checksum) {
    throw new DiskError('E_LVM_METADATA_CRC', `${path}: LVM metadata text fails its checksum`, { path });
  }
  const end = text.indexOf(0);
  return new TextDecoder().decode(end < 0 ? text : text.subarray(0, end));
}
