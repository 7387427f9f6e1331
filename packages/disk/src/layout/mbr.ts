import type { BlockSource } from '../block/types.js';
import { isZero, u16le, u32le, u8 } from './bytes.js';
import { MBR_EXTENDED, MBR_GPT, mbrTypeName } from './type-names.js';
import { SECTOR, type LayoutIssue, type Partition, type PartitionTable } from './types.js';

/**
 * Master boot record, sector 0:
 *   446  4 × 16-byte entries: +0 status (0x80 active, 0x00 inactive), +4 type, +8 start LBA (LE32),
 *        +12 sector count (LE32)
 *   510  signature 55 AA
 * An extended partition (05, 0F, 85) holds a linked list of EBRs, each shaped like an MBR: entry 0 is a
 * logical partition (start relative to this EBR), entry 1 links the next EBR (start relative to the
 * extended partition). Linux numbers logical partitions from 5 in chain order.
 */
export interface MbrEntry {
  index: number;
  status: number;
  type: number;
  start: number;
  sectors: number;
}

/** Linux caps logical partitions far below this; a longer chain is damage or a hostile image. */
export const MAX_LOGICAL = 256;

export function hasMbrSignature(sector: Uint8Array): boolean {
  return u16le(sector, 510) === 0xaa55;
}

export function mbrEntries(sector: Uint8Array): MbrEntry[] {
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    out.push({ index: i, status: u8(sector, o), type: u8(sector, o + 4), start: u32le(sector, o + 8), sectors: u32le(sector, o + 12) });
  }
  return out;
}

/**
 * Whether sector 0 holds a partition table rather than, say, a FAT boot sector or random data: the
 * signature is present, every status byte is 0x00 or 0x80, and at least one entry is in use.
 */
export function looksLikeMbr(sector: Uint8Array): boolean {
  if (!hasMbrSignature(sector)) return false;
  const entries = mbrEntries(sector);
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) return false;
  return entries.some((e) => e.type !== 0 && e.sectors !== 0);
}

/** Type code as sfdisk prints it ("83", "c", "5"). */
function hexType(t: number): string {
  return t.toString(16);
}

function toPartition(number: number, kind: 'primary' | 'logical', e: MbrEntry, start: number): Partition {
  return {
    number,
    kind,
    offset: start * SECTOR,
    size: e.sectors * SECTOR,
    startSector: start,
    sectors: e.sectors,
    type: hexType(e.type),
    typeName: mbrTypeName(e.type),
    bootable: e.status === 0x80,
  };
}

/** Primary entries of sector 0 that are in use, as partitions 1–4 (hybrid-MBR reporting uses this too). */
export function primaryPartitions(sector: Uint8Array): Partition[] {
  return mbrEntries(sector)
    .filter((e) => e.type !== 0 && e.sectors !== 0)
    .map((e) => toPartition(e.index + 1, 'primary', e, e.start));
}

export async function readMbr(source: BlockSource, sector0: Uint8Array, path: string): Promise<PartitionTable> {
  const diskSectors = Math.floor(source.size / SECTOR);
  const issues: LayoutIssue[] = [];
  const table: PartitionTable = {
    scheme: 'mbr',
    sectorSize: SECTOR,
    diskId: `0x${u32le(sector0, 440).toString(16).padStart(8, '0')}`,
    partitions: [],
    issues,
  };
  const entries = mbrEntries(sector0).filter((e) => e.type !== 0 && e.sectors !== 0);
  for (const e of entries) {
    if (e.type === MBR_GPT) continue;
    const p = toPartition(e.index + 1, 'primary', e, e.start);
    if (e.start + e.sectors > diskSectors) {
      issues.push({
        code: 'E_MBR_PAST_END',
        message: `${path}: partition ${p.number} ends at sector ${e.start + e.sectors}, past the disk's ${diskSectors} sectors`,
      });
    }
    if (MBR_EXTENDED.has(e.type)) {
      if (table.extended) {
        issues.push({ code: 'E_MBR_TWO_EXTENDED', message: `${path}: more than one extended partition; only the first is read` });
        continue;
      }
      table.extended = { number: p.number, offset: p.offset, size: p.size, type: p.type };
      continue;
    }
    table.partitions.push(p);
  }
  if (table.extended) table.partitions.push(...(await readLogical(source, table.extended.offset / SECTOR, diskSectors, path, issues)));
  return table;
}

async function readLogical(
  source: BlockSource,
  extStart: number,
  diskSectors: number,
  path: string,
  issues: LayoutIssue[],
): Promise<Partition[]> {
  const out: Partition[] = [];
  const seen = new Set<number>();
  let ebr = extStart;
  let number = 5;
  for (let hop = 0; ; hop++) {
    if (hop >= MAX_LOGICAL) {
      issues.push({ code: 'E_MBR_EBR_CHAIN_TOO_LONG', message: `${path}: more than ${MAX_LOGICAL} EBRs in the extended partition; stopped reading` });
      break;
    }
    if (seen.has(ebr)) {
      issues.push({ code: 'E_MBR_EBR_LOOP', message: `${path}: the EBR chain loops back to sector ${ebr}; stopped reading there` });
      break;
    }
    seen.add(ebr);
    if (ebr >= diskSectors) {
      issues.push({ code: 'E_MBR_EBR_PAST_END', message: `${path}: EBR at sector ${ebr} is past the end of the disk` });
      break;
    }
    const sector = await source.read(ebr * SECTOR, SECTOR);
    if (!hasMbrSignature(sector)) {
      if (hop > 0 || !isZero(sector)) {
        issues.push({ code: 'E_MBR_EBR_BAD_SIGNATURE', message: `${path}: EBR at sector ${ebr} has no 55AA signature` });
      }
      break;
    }
    const [first, link] = mbrEntries(sector);
    if (first && first.type !== 0 && first.sectors !== 0 && !MBR_EXTENDED.has(first.type)) {
      out.push(toPartition(number++, 'logical', first, ebr + first.start));
    }
    if (!link || !MBR_EXTENDED.has(link.type) || link.sectors === 0) break;
    ebr = extStart + link.start;
  }
  return out;
}
