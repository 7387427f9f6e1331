import { sourcePath, type BlockSource } from '../block/types.js';
import { readGpt } from './gpt.js';
import { looksLikeMbr, mbrEntries, primaryPartitions, readMbr } from './mbr.js';
import { MBR_GPT } from './type-names.js';
import { SECTOR, type PartitionTable } from './types.js';
import { ascii } from './bytes.js';

/**
 * Read the partition table of a disk: GPT when the MBR has a 0xEE entry (or there is no MBR but
 * "EFI PART" sits at LBA 1), else MBR with its logical partitions, else 'none'.
 */
export async function readPartitionTable(source: BlockSource, path = sourcePath(source)): Promise<PartitionTable> {
  if (source.size < SECTOR) return { scheme: 'none', sectorSize: SECTOR, partitions: [], issues: [] };
  const sector0 = await source.read(0, SECTOR);
  const isMbr = looksLikeMbr(sector0);
  const hasPmbr = isMbr && mbrEntries(sector0).some((e) => e.type === MBR_GPT);
  let gptSignature = false;
  if (!hasPmbr && source.size >= 2 * SECTOR) gptSignature = ascii(await source.read(SECTOR, 8), 0, 8) === 'EFI PART';
  if (hasPmbr || gptSignature) {
    const gpt = await readGpt(source, path);
    const others = isMbr ? primaryPartitions(sector0).filter((p) => p.type !== 'ee') : [];
    const table: PartitionTable = {
      scheme: 'gpt',
      sectorSize: SECTOR,
      diskId: gpt.diskGuid,
      pmbr: !hasPmbr ? 'missing' : others.length > 0 ? 'hybrid' : 'protective',
      gptHeader: gpt.header,
      partitions: gpt.partitions,
      issues: gpt.issues,
    };
    if (others.length > 0) table.hybridEntries = others;
    if (!hasPmbr) table.issues.push({ code: 'W_GPT_NO_PMBR', message: `${path}: GPT found without a protective MBR` });
    return table;
  }
  if (isMbr) return readMbr(source, sector0, path);
  return { scheme: 'none', sectorSize: SECTOR, partitions: [], issues: [] };
}
