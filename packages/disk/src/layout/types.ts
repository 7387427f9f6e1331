/** One partition-table entry, as the Linux kernel numbers it (MBR logical partitions start at 5). */
export interface Partition {
  number: number;
  /** 'primary' and 'logical' for MBR, 'gpt' for GPT entries. */
  kind: 'primary' | 'logical' | 'gpt';
  /** Byte offset and length on the disk. */
  offset: number;
  size: number;
  startSector: number;
  sectors: number;
  /** MBR: two hex digits ("83"); GPT: the type GUID, upper case. */
  type: string;
  typeName: string;
  bootable: boolean;
  /** GPT only. */
  name?: string;
  uuid?: string;
  attributes?: string;
}

/** A problem found while reading a table that did not stop it being read. */
export interface LayoutIssue {
  code: string;
  message: string;
}

export interface PartitionTable {
  scheme: 'mbr' | 'gpt' | 'none';
  sectorSize: number;
  /** MBR disk signature ("0x1234abcd") or GPT disk GUID. */
  diskId?: string;
  /** GPT: the MBR holds only the 0xEE protective entry ('protective') or also other entries ('hybrid'). */
  pmbr?: 'protective' | 'hybrid' | 'missing';
  /** GPT: which header the entries were read through; 'backup' means the primary was damaged. */
  gptHeader?: 'primary' | 'backup';
  /** MBR: the extended partition holding the logical ones. */
  extended?: { number: number; offset: number; size: number; type: string };
  /** MBR entries of a hybrid MBR (GPT disks), reported for completeness. */
  hybridEntries?: Partition[];
  partitions: Partition[];
  issues: LayoutIssue[];
}

export const SECTOR = 512;
