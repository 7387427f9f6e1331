import { novaAutoDiskConfigReason } from './nova.js';
import type { Check } from './types.js';

const FIXES: Record<string, string> = {
  'Disk must have only one partition.':
    'Rebuild the image with a single ext3/ext4 partition numbered 1 (no swap, /boot or LVM partition), or leave auto_disk_config unset and grow the root in the guest (cloud-init growpart).',
  'The only partition should be partition 1.': 'Recreate the partition as number 1 (e.g. sfdisk/parted with one partition starting at sector 2048).',
};

export const autoDiskConfig: Check = {
  id: 'auto-disk-config',
  title: 'XenAPI auto_disk_config can resize the disk',
  requirement: 'Xen: one ext3/ext4 partition (no LVM)',
  scope: 'disk',
  async run(ctx) {
    if (!ctx.disk) {
      return {
        status: 'skip',
        summary: 'a directory tree has no partition table; nova judges the disk image, so check the image instead',
        evidence: [],
        fix: '',
      };
    }
    const { table, partitions, lvm } = ctx.disk;
    const evidence = [`partition table: ${table}`, ...partitions.map((p) => `  ${p.number}: ${p.partedType || '(no filesystem parted knows)'}${p.sizeSectors ? ` ${p.sizeSectors} sectors` : ''}${p.lvm ? ' [LVM physical volume]' : ''}`)];
    if (lvm) evidence.push('the disk holds an LVM physical volume; nova cannot resize LVM');
    const reason = novaAutoDiskConfigReason(partitions);
    if (reason === null) {
      return {
        status: 'pass',
        summary: `one ${partitions[0]?.partedType} partition numbered 1: nova resizes it when auto_disk_config=True`,
        evidence,
        fix: '',
        properties: { auto_disk_config: 'True' },
      };
    }
    let fix = FIXES[reason];
    if (!fix) {
      const t = partitions[0]?.partedType;
      fix =
        t === 'ext2'
          ? 'The filesystem has no journal, so parted (and nova) call it ext2: add one with `tune2fs -j` (or mkfs.ext4 with defaults).'
          : `nova resizes only ext3/ext4; recreate the root as ext4${lvm ? ' outside LVM' : ''}, or set auto_disk_config=False and grow the root in the guest.`;
    }
    return { status: 'fail', summary: `nova would log: "${reason}"`, evidence, fix, properties: { auto_disk_config: 'False' } };
  },
};
