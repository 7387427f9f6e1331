import { DiskError } from '../block/errors.js';
import type { BlockSource } from '../block/types.js';
import { ascii, crc32, guidLE, isZero, u32le, u64le } from './bytes.js';
import { gptTypeName } from './type-names.js';
import { SECTOR, type LayoutIssue, type Partition } from './types.js';

/**
 * GPT header (UEFI spec §5.3.2), little-endian, at LBA 1 (primary) and the last LBA (backup):
 *   0 "EFI PART"   8 revision   12 header_size   16 header_crc32 (over header_size bytes, this field 0)
 *  24 my_lba   32 alternate_lba   40 first_usable   48 last_usable   56 disk_guid[16]
 *  72 entries_lba   80 num_entries   84 entry_size   88 entries_crc32
 * Entry: 0 type_guid[16]   16 unique_guid[16]   32 first_lba   40 last_lba   48 attributes   56 name (UTF-16LE, 72 B)
 */
export interface GptHeader {
  myLba: number;
  alternateLba: number;
  diskGuid: string;
  entriesLba: number;
  numEntries: number;
  entrySize: number;
  entriesCrc: number;
}

/** Entry arrays larger than this are not something any partitioning tool writes. */
const MAX_ENTRY_BYTES = 1024 * 1024;

export interface GptResult {
  header: 'primary' | 'backup';
  diskGuid: string;
  partitions: Partition[];
  issues: LayoutIssue[];
}

function parseHeader(b: Uint8Array, expectLba: number): { header?: GptHeader; problem?: string } {
  if (ascii(b, 0, 8) !== 'EFI PART') return { problem: 'no "EFI PART" signature' };
  const size = u32le(b, 12);
  if (size < 92 || size > SECTOR) return { problem: `header size ${size} out of range` };
  const copy = new Uint8Array(b.subarray(0, size)); // a copy: Buffer#slice would alias the sector
  copy.fill(0, 16, 20);
  if (crc32(copy) !== u32le(b, 16)) return { problem: 'header CRC32 mismatch' };
  const header: GptHeader = {
    myLba: u64le(b, 24),
    alternateLba: u64le(b, 32),
    diskGuid: guidLE(b, 56),
    entriesLba: u64le(b, 72),
    numEntries: u32le(b, 80),
    entrySize: u32le(b, 84),
    entriesCrc: u32le(b, 88),
  };
  if (header.myLba !== expectLba) return { problem: `header says it is at LBA ${header.myLba}, found at ${expectLba}` };
  if (header.entrySize < 128 || header.entrySize % 8 !== 0 || header.numEntries * header.entrySize > MAX_ENTRY_BYTES) {
    return { problem: `entry array ${header.numEntries} × ${header.entrySize} bytes out of range` };
  }
  return { header };
}

async function readEntries(source: BlockSource, h: GptHeader): Promise<{ entries?: Uint8Array; problem?: string }> {
  const bytes = h.numEntries * h.entrySize;
  const offset = h.entriesLba * SECTOR;
  if (!Number.isSafeInteger(offset) || offset + bytes > source.size) return { problem: 'entry array past the end of the disk' };
  const entries = await source.read(offset, bytes);
  if (crc32(entries) !== h.entriesCrc) return { problem: 'entry array CRC32 mismatch' };
  return { entries };
}

function parseEntries(entries: Uint8Array, h: GptHeader, diskSectors: number, path: string, issues: LayoutIssue[]): Partition[] {
  const out: Partition[] = [];
  for (let i = 0; i < h.numEntries; i++) {
    const e = entries.subarray(i * h.entrySize, (i + 1) * h.entrySize);
    if (isZero(e.subarray(0, 16))) continue;
    const first = u64le(e, 32);
    const last = u64le(e, 40);
    if (!(last >= first) || last >= diskSectors) {
      issues.push({ code: 'E_GPT_ENTRY_RANGE', message: `${path}: GPT entry ${i + 1} spans sectors ${first}–${last}, outside the ${diskSectors}-sector disk` });
      if (!(last >= first) || first >= diskSectors) continue;
    }
    const type = guidLE(e, 0);
    const nameBytes = e.subarray(56, Math.min(128, e.length));
    let name = '';
    for (let j = 0; j + 1 < nameBytes.length; j += 2) {
      const c = (nameBytes[j] as number) | ((nameBytes[j + 1] as number) << 8);
      if (c === 0) break;
      name += String.fromCharCode(c);
    }
    const attrs = u64le(e, 48);
    out.push({
      number: i + 1,
      kind: 'gpt',
      offset: first * SECTOR,
      size: (last - first + 1) * SECTOR,
      startSector: first,
      sectors: last - first + 1,
      type,
      typeName: gptTypeName(type),
      // Attribute bit 2 is "legacy BIOS bootable", the GPT analogue of the MBR active flag.
      bootable: Number.isFinite(attrs) ? Math.floor(attrs / 4) % 2 === 1 : false,
      name,
      uuid: guidLE(e, 16),
      attributes: `0x${Array.from(e.subarray(48, 56)).reverse().map((x) => x.toString(16).padStart(2, '0')).join('')}`,
    });
  }
  return out;
}

/** Read the GPT through the primary header, falling back to the backup (and saying so) when damaged. */
export async function readGpt(source: BlockSource, path: string): Promise<GptResult> {
  const diskSectors = Math.floor(source.size / SECTOR);
  const issues: LayoutIssue[] = [];
  const problems: string[] = [];
  if (diskSectors < 3) {
    throw new DiskError('E_GPT_CORRUPT', `${path}: the disk has a GPT protective MBR but only ${source.size} bytes, too small for a GPT`, { path });
  }
  const primary = parseHeader(await source.read(SECTOR, SECTOR), 1);
  if (primary.header) {
    const r = await readEntries(source, primary.header);
    if (r.entries) {
      if (primary.header.alternateLba !== diskSectors - 1) {
        issues.push({ code: 'W_GPT_BACKUP_NOT_AT_END', message: `${path}: backup GPT header is at LBA ${primary.header.alternateLba}, not at the disk's last sector (image grown?)` });
      }
      return { header: 'primary', diskGuid: primary.header.diskGuid, partitions: parseEntries(r.entries, primary.header, diskSectors, path, issues), issues };
    }
    problems.push(`primary: ${r.problem}`);
  } else problems.push(`primary: ${primary.problem}`);

  const candidates = new Set<number>([diskSectors - 1]);
  if (primary.header && primary.header.alternateLba < diskSectors) candidates.add(primary.header.alternateLba);
  for (const lba of candidates) {
    if (lba < 2) continue;
    const backup = parseHeader(await source.read(lba * SECTOR, SECTOR), lba);
    if (!backup.header) {
      problems.push(`backup at LBA ${lba}: ${backup.problem}`);
      continue;
    }
    const r = await readEntries(source, backup.header);
    if (!r.entries) {
      problems.push(`backup at LBA ${lba}: ${r.problem}`);
      continue;
    }
    issues.push({ code: 'E_GPT_PRIMARY_BAD', message: `${path}: primary GPT is damaged (${problems.join('; ')}); read the backup at LBA ${lba}` });
    return { header: 'backup', diskGuid: backup.header.diskGuid, partitions: parseEntries(r.entries, backup.header, diskSectors, path, issues), issues };
  }
  throw new DiskError('E_GPT_CORRUPT', `${path}: the disk has a GPT protective MBR but neither GPT header is usable (${problems.join('; ')})`, {
    path,
    problems,
  });
}
