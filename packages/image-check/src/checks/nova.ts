import type { DiskPartitionFacts } from './types.js';

/**
 * nova's XenAPI `_auto_configure_disk` (nova/virt/xenapi/vm_utils.py, last in 21fecc7060), applied to
 * the partitions parted lists: returns null when nova would resize, else the reason it logs in
 * "Attempted auto_configure_disk failed because: Server disk was unable to be resized because: …".
 */
export function novaAutoDiskConfigReason(partitions: readonly Pick<DiskPartitionFacts, 'number' | 'partedType'>[]): string | null {
  if (partitions.length !== 1) return 'Disk must have only one partition.';
  const [p] = partitions as [Pick<DiskPartitionFacts, 'number' | 'partedType'>];
  if (p.partedType !== 'ext3' && p.partedType !== 'ext4') return `Disk contains a filesystem we are unable to resize: ${p.partedType}`;
  if (p.number !== 1) return 'The only partition should be partition 1.';
  return null;
}

/**
 * parted's ext2/3/4 classification (libparted fs/ext2/interface.c): ext3 needs has_journal; ext4 is
 * ext3 plus any of huge_file, gdt_csum, dir_nlink, extents, 64bit, flex_bg. No journal → ext2.
 */
export function partedExtType(compat: number, incompat: number, roCompat: number): 'ext2' | 'ext3' | 'ext4' {
  const HAS_JOURNAL = 0x4;
  if (!(compat & HAS_JOURNAL)) return 'ext2';
  const ro = 0x8 | 0x10 | 0x20; // HUGE_FILE | GDT_CSUM | DIR_NLINK
  const inc = 0x40 | 0x80 | 0x200; // EXTENTS | 64BIT | FLEX_BG
  return roCompat & ro || incompat & inc ? 'ext4' : 'ext3';
}

/** Parse `parted --script --machine DEV 'unit s' print` as nova's list_partitions does. */
export function parsePartedMachine(output: string): { table: string; partitions: DiskPartitionFacts[] } {
  const lines = output.split('\n').filter((l) => l.trim().length > 0);
  const disk = (lines[1] ?? '').replace(/;$/, '').split(':');
  const partitions: DiskPartitionFacts[] = [];
  for (const line of lines.slice(2)) {
    const [num, start, , size, fstype, , flags] = line.replace(/;$/, '').split(':');
    partitions.push({
      number: Number(num),
      startSector: Number((start ?? '').replace(/s$/, '')),
      sizeSectors: Number((size ?? '').replace(/s$/, '')),
      partedType: fstype ?? '',
      lvm: /\blvm\b/.test(flags ?? ''),
    });
  }
  return { table: disk[5] ?? '', partitions };
}
