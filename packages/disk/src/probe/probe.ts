import type { BlockSource } from '../block/types.js';
import { ascii, cstring, u16be, u16le, u32be, u32le, u64be, u64le, u8, uuidBE } from '../layout/bytes.js';
import type { LayoutIssue } from '../layout/types.js';
import { readPvLabel, formatLvmUuid } from '../lvm/label.js';
import { XenkitError } from '@xenkit/core';
import { EXT_SB_OFFSET, parseExtSuperblock, type ExtInfo } from './ext.js';

/** What sits on a volume, named as `blkid -p` names it (TYPE=…), plus parted's name where it has one. */
export interface FsProbe {
  /** blkid TYPE: ext2 ext3 ext4 ext4dev jbd xfs btrfs swap vfat crypto_LUKS LVM2_member iso9660. */
  type: string;
  /** `parted … print` file-system column, for the types parted knows. */
  parted?: string | null;
  label?: string;
  uuid?: string;
  version?: string;
  blockSize?: number;
  /** Size the filesystem claims, in bytes. */
  size?: number;
  ext?: ExtInfo;
  issues: LayoutIssue[];
}

/** Bytes read from the start of a volume by one probe: LVM's 4 label sectors, ext's superblock, swap's 4 KiB page. */
export const PROBE_HEAD = 8192;

/**
 * Identify the filesystem (or container) on a volume from its superblocks, in blkid's order of
 * precedence: LUKS and LVM first, then filesystems, then the ones whose magic sits far in (iso9660 at
 * 32 KiB, btrfs at 64 KiB), read only when nothing nearer matched.
 */
export async function probeFilesystem(source: BlockSource, path: string, options: { partitioned?: boolean } = {}): Promise<FsProbe | null> {
  // A partitioned disk's first sectors are its partition table; only a filesystem whose superblock
  // lies beyond them (an isohybrid ISO 9660) can also cover the whole disk.
  if (options.partitioned) {
    const far = await probeFar(source, true);
    return far ? { ...far, issues: [] } : null;
  }
  const head = await source.read(0, Math.min(PROBE_HEAD, source.size));
  const issues: LayoutIssue[] = [];
  try {
    const hit = (await probeHead(source, head, path, issues)) ?? (await probeFar(source));
    if (hit) {
      if (hit.size !== undefined && hit.size > source.size) {
        issues.push({ code: 'W_FS_LARGER_THAN_VOLUME', message: `${path}: ${hit.type} claims ${hit.size} bytes but the volume holds ${source.size}` });
      }
      return { ...hit, issues };
    }
    return null;
  } catch (e) {
    if (e instanceof XenkitError) return { type: 'unknown', issues: [{ code: e.code, message: e.message }] };
    throw e;
  }
}

type Hit = Omit<FsProbe, 'issues'>;

async function probeHead(source: BlockSource, head: Uint8Array, path: string, issues: LayoutIssue[]): Promise<Hit | null> {
  // LUKS1/2: "LUKS\xBA\xBE", version (BE16) at 6, label (LUKS2) at 24, uuid text at 168.
  if (ascii(head, 0, 6) === 'LUKS\xba\xbe') {
    const version = u16be(head, 6);
    const hit: Hit = { type: 'crypto_LUKS', version: String(version), uuid: cstring(head, 168, 40) };
    const label = version === 2 ? cstring(head, 24, 48) : '';
    if (label) hit.label = label;
    return hit;
  }
  const pv = await readPvLabel(source, path, head).catch((e: unknown) => {
    if (e instanceof XenkitError) issues.push({ code: e.code, message: e.message });
    return null;
  });
  if (pv) return { type: 'LVM2_member', version: 'LVM2 001', uuid: formatLvmUuid(pv.uuid), size: pv.deviceSize };
  if (head.length >= EXT_SB_OFFSET + 1024) {
    const ext = parseExtSuperblock(head.subarray(EXT_SB_OFFSET, EXT_SB_OFFSET + 1024), path);
    if (ext) {
      const hit: Hit = { type: ext.blkid, parted: ext.parted, uuid: ext.uuid, version: ext.version, blockSize: ext.blockSize, size: ext.size, ext };
      if (ext.label) hit.label = ext.label;
      if (ext.needsRecovery) issues.push({ code: 'W_EXT_NEEDS_RECOVERY', message: `${path}: the ext journal needs recovery; files read may be stale` });
      return hit;
    }
  } else if (head.length >= EXT_SB_OFFSET + 0x3a && u16le(head, EXT_SB_OFFSET + 0x38) === 0xef53) {
    issues.push({ code: 'E_EXT_TRUNCATED', message: `${path}: ext superblock is cut off by the end of the volume (${source.size} bytes)` });
    return { type: 'ext', parted: null };
  }
  // XFS: "XFSB", BE: 4 blocksize, 8 dblocks, 32 uuid, 108 fname[12].
  if (ascii(head, 0, 4) === 'XFSB') {
    const blockSize = u32be(head, 4);
    const hit: Hit = { type: 'xfs', parted: 'xfs', uuid: uuidBE(head, 32), blockSize, size: u64be(head, 8) * blockSize };
    const label = cstring(head, 108, 12);
    if (label) hit.label = label;
    return hit;
  }
  // Linux swap v1: "SWAPSPACE2" in the last 10 bytes of the first page (4 KiB pages); 1036 uuid, 1052 label.
  for (const page of [4096, 8192]) {
    if (head.length >= page && (ascii(head, page - 10, 10) === 'SWAPSPACE2' || ascii(head, page - 10, 10) === 'SWAP-SPACE')) {
      const v1 = ascii(head, page - 10, 10) === 'SWAPSPACE2';
      const hit: Hit = { type: 'swap', parted: v1 ? 'linux-swap(v1)' : 'linux-swap(v0)', version: v1 ? '1' : '0' };
      if (v1) {
        hit.uuid = uuidBE(head, 1036);
        hit.size = (u32le(head, 1028) + 1) * page;
        const label = cstring(head, 1052, 16);
        if (label) hit.label = label;
      }
      return hit;
    }
  }
  const fat = probeFat(head);
  if (fat) return fat;
  return null;
}

/**
 * FAT boot sector: 0 jump (EB xx 90 / E9), 11 bytes/sector, 13 sectors/cluster, 14 reserved, 16 FATs,
 * 19 total16, 22 sectors/FAT16 (0 on FAT32), 32 total32; FAT12/16: 39 serial, 43 label, 54 "FAT1x";
 * FAT32: 67 serial, 71 label, 82 "FAT32".
 */
function probeFat(b: Uint8Array): Hit | null {
  if (b.length < 512 || u16le(b, 510) !== 0xaa55) return null;
  if (!(u8(b, 0) === 0xeb || u8(b, 0) === 0xe9)) return null;
  const bps = u16le(b, 11);
  const spc = u8(b, 13);
  if (![512, 1024, 2048, 4096].includes(bps) || spc === 0 || (spc & (spc - 1)) !== 0) return null;
  if (u16le(b, 14) === 0 || u8(b, 16) === 0) return null;
  const fat32 = u16le(b, 22) === 0;
  const ver = fat32 ? 'FAT32' : ascii(b, 54, 5) === 'FAT12' ? 'FAT12' : 'FAT16';
  if (!fat32 && !ascii(b, 54, 8).startsWith('FAT') && u8(b, 38) !== 0x29) return null;
  if (fat32 && ascii(b, 82, 5) !== 'FAT32' && u8(b, 66) !== 0x29) return null;
  const serial = u32le(b, fat32 ? 67 : 39);
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  const total = u16le(b, 19) || u32le(b, 32);
  const hit: Hit = { type: 'vfat', parted: fat32 ? 'fat32' : 'fat16', version: ver, uuid: `${hex.slice(0, 4)}-${hex.slice(4)}`, blockSize: bps, size: total * bps };
  const label = ascii(b, fat32 ? 71 : 43, 11).trimEnd();
  if (label && label !== 'NO NAME') hit.label = label;
  return hit;
}

async function probeFar(source: BlockSource, isoOnly = false): Promise<Hit | null> {
  // ISO 9660 primary volume descriptor at 32 KiB: 0 type 1, 1 "CD001", 40 volume id[32].
  if (source.size >= 32768 + 2048) {
    const vd = await source.read(32768, 2048);
    if (ascii(vd, 1, 5) === 'CD001') {
      const hit: Hit = { type: 'iso9660', size: u32le(vd, 80) * u16le(vd, 128) };
      // blkid's UUID for ISO 9660 is the creation date (813: "YYYYMMDDHHMMSScc") with dashes.
      const date = ascii(vd, 813, 16);
      if (/^\d{16}$/.test(date) && date !== '0000000000000000') hit.uuid = (date.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/) ?? []).slice(1).join('-');
      const label = ascii(vd, 40, 32).trimEnd();
      if (label) hit.label = label;
      return hit;
    }
  }
  if (isoOnly) return null;
  // btrfs superblock at 64 KiB: 0x20 fsid[16], 0x40 "_BHRfS_M", 0x70 total_bytes, 0x90 sectorsize, 0x12B label[256].
  if (source.size >= 0x10000 + 1024) {
    const sb = await source.read(0x10000, 1024);
    if (ascii(sb, 0x40, 8) === '_BHRfS_M') {
      const hit: Hit = { type: 'btrfs', parted: 'btrfs', uuid: uuidBE(sb, 0x20), blockSize: u32le(sb, 0x90), size: u64le(sb, 0x70) };
      const label = cstring(sb, 0x12b, 256);
      if (label) hit.label = label;
      return hit;
    }
  }
  return null;
}
