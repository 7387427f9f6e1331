import { DiskError } from '../block/errors.js';
import { cstring, u16le, u32le, uuidBE } from '../layout/bytes.js';

/**
 * ext2/3/4 superblock, 1024 bytes at byte 1024 of the volume, little-endian
 * (Documentation/filesystems/ext4/super.rst):
 *   0x04 blocks_count_lo   0x18 log_block_size   0x38 magic 0xEF53   0x3A state   0x4C rev_level
 *   0x58 inode_size   0x5C feature_compat   0x60 feature_incompat   0x64 feature_ro_compat
 *   0x68 uuid[16]   0x78 volume_name[16]   0x150 blocks_count_hi (64bit)   0x160 flags
 */
export const EXT_SB_OFFSET = 1024;
export const EXT_MAGIC = 0xef53;

const COMPAT: [number, string][] = [
  [0x1, 'dir_prealloc'], [0x2, 'imagic_inodes'], [0x4, 'has_journal'], [0x8, 'ext_attr'], [0x10, 'resize_inode'],
  [0x20, 'dir_index'], [0x40, 'lazy_bg'], [0x100, 'snapshot_bitmap'], [0x200, 'sparse_super2'], [0x400, 'fast_commit'],
  [0x800, 'stable_inodes'], [0x1000, 'orphan_file'],
];
const INCOMPAT: [number, string][] = [
  [0x1, 'compression'], [0x2, 'filetype'], [0x4, 'needs_recovery'], [0x8, 'journal_dev'], [0x10, 'meta_bg'],
  [0x40, 'extent'], [0x80, '64bit'], [0x100, 'mmp'], [0x200, 'flex_bg'], [0x400, 'ea_inode'], [0x1000, 'dirdata'],
  [0x2000, 'metadata_csum_seed'], [0x4000, 'large_dir'], [0x8000, 'inline_data'], [0x10000, 'encrypt'], [0x20000, 'casefold'],
];
const RO_COMPAT: [number, string][] = [
  [0x1, 'sparse_super'], [0x2, 'large_file'], [0x4, 'btree_dir'], [0x8, 'huge_file'], [0x10, 'uninit_bg'],
  [0x20, 'dir_nlink'], [0x40, 'extra_isize'], [0x80, 'snapshot'], [0x100, 'quota'], [0x200, 'bigalloc'],
  [0x400, 'metadata_csum'], [0x800, 'replica'], [0x1000, 'read-only'], [0x2000, 'project'], [0x4000, 'shared_blocks'],
  [0x8000, 'verity'], [0x10000, 'orphan_present'],
];

const HAS_JOURNAL = 0x4;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
const INCOMPAT_64BIT = 0x80;
// libblkid (superblocks/ext.c): what an ext2 and an ext3 driver understand; anything else makes it ext4.
const EXT2_INCOMPAT_SUPP = 0x2 | 0x10; // filetype, meta_bg
const EXT3_INCOMPAT_SUPP = 0x2 | 0x4 | 0x10; // + recover
const EXT23_RO_SUPP = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
const FLAGS_TEST_FILESYS = 0x4;
// parted (libparted/fs/ext2/interface.c): with a journal, any of these makes it ext4; without, ext2.
const PARTED_EXT4_INCOMPAT = 0x40 | 0x80 | 0x200; // extent, 64bit, flex_bg
const PARTED_EXT4_RO = 0x8 | 0x10 | 0x20; // huge_file, gdt_csum, dir_nlink

export interface ExtInfo {
  /** blkid's TYPE: ext2 | ext3 | ext4 | ext4dev | jbd. */
  blkid: string;
  /** parted's name: ext2 | ext3 | ext4 (null for a journal device, which parted does not list). */
  parted: string | null;
  label: string;
  uuid: string;
  blockSize: number;
  blocks: number;
  /** Filesystem size in bytes (blocks × block size). */
  size: number;
  revLevel: number;
  /** "rev.minor", as blkid's VERSION. */
  version: string;
  inodeSize: number;
  /** Feature names as dumpe2fs prints them. */
  features: string[];
  compat: number;
  incompat: number;
  roCompat: number;
  hasJournal: boolean;
  /** INCOMPAT_RECOVER: the journal holds transactions not yet replayed (stale reads possible). */
  needsRecovery: boolean;
  /** s_state bit 0: unmounted cleanly. */
  clean: boolean;
}

/** Parse an ext superblock (the 1024 bytes at volume offset 1024); null when the magic is absent. */
export function parseExtSuperblock(sb: Uint8Array, path: string): ExtInfo | null {
  if (sb.length < 1024 || u16le(sb, 0x38) !== EXT_MAGIC) return null;
  const log = u32le(sb, 0x18);
  if (log > 6) {
    throw new DiskError('E_EXT_BAD_SUPERBLOCK', `${path}: ext superblock has block size 2^(10+${log}), beyond ext's 64 KiB maximum`, { path, log });
  }
  const blockSize = 1024 << log;
  const compat = u32le(sb, 0x5c);
  const incompat = u32le(sb, 0x60);
  const roCompat = u32le(sb, 0x64);
  const hi = incompat & INCOMPAT_64BIT ? u32le(sb, 0x150) : 0;
  const blocks = u32le(sb, 0x04) + hi * 0x1_0000_0000;
  const features = [
    ...COMPAT.filter(([b]) => compat & b).map(([, n]) => n),
    ...INCOMPAT.filter(([b]) => incompat & b).map(([, n]) => n),
    ...RO_COMPAT.filter(([b]) => roCompat & b).map(([, n]) => n),
  ];
  const hasJournal = (compat & HAS_JOURNAL) !== 0;
  return {
    blkid: blkidExtType(compat, incompat, roCompat, u32le(sb, 0x160)),
    parted: partedExtType(compat, incompat, roCompat),
    label: cstring(sb, 0x78, 16),
    uuid: uuidBE(sb, 0x68),
    blockSize,
    blocks,
    size: blocks * blockSize,
    revLevel: u32le(sb, 0x4c),
    version: `${u32le(sb, 0x4c)}.${u16le(sb, 0x3e)}`,
    inodeSize: u32le(sb, 0x4c) === 0 ? 128 : u16le(sb, 0x58),
    features,
    compat,
    incompat,
    roCompat,
    hasJournal,
    needsRecovery: (incompat & INCOMPAT_RECOVER) !== 0,
    clean: (u16le(sb, 0x3a) & 1) === 1,
  };
}

export function blkidExtType(compat: number, incompat: number, roCompat: number, flags = 0): string {
  if (incompat & INCOMPAT_JOURNAL_DEV) return 'jbd';
  const journal = (compat & HAS_JOURNAL) !== 0;
  const roOk = (roCompat & ~EXT23_RO_SUPP) === 0;
  if (!journal && roOk && (incompat & ~EXT2_INCOMPAT_SUPP) === 0) return 'ext2';
  if (journal && roOk && (incompat & ~EXT3_INCOMPAT_SUPP) === 0) return 'ext3';
  return flags & FLAGS_TEST_FILESYS ? 'ext4dev' : 'ext4';
}

/** parted's rule, which nova's auto_disk_config relies on: ext3/ext4 require a journal. */
export function partedExtType(compat: number, incompat: number, roCompat: number): string | null {
  if (incompat & INCOMPAT_JOURNAL_DEV) return null;
  if (!(compat & HAS_JOURNAL)) return 'ext2';
  return incompat & PARTED_EXT4_INCOMPAT || roCompat & PARTED_EXT4_RO ? 'ext4' : 'ext3';
}

/**
 * libext2fs (WASM, a fixed 16 MiB heap) keeps every group descriptor in memory; past this, a mount
 * would abort the module. 4 MiB covers an 8 TiB ext4 with 4 KiB blocks.
 */
export const MAX_GROUP_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

/**
 * Geometry checks made before libext2fs sees a superblock: the ones whose violation would make it
 * allocate from nonsense (group count, descriptor size) or read far outside the volume. Returns a
 * reason, or null when the superblock is sane. Mirrors the range checks of ext2fs_open plus a bound
 * on the filesystem's size against its volume.
 */
export function extGeometryProblem(sb: Uint8Array, volumeSize: number): string | null {
  if (u16le(sb, 0x38) !== EXT_MAGIC) return 'no ext superblock magic';
  const log = u32le(sb, 0x18);
  if (log > 6) return `block size 2^(10+${log}) is beyond 64 KiB`;
  const bs = 1024 << log;
  const incompat = u32le(sb, 0x60);
  const blocks = u32le(sb, 0x04) + (incompat & INCOMPAT_64BIT ? u32le(sb, 0x150) * 0x1_0000_0000 : 0);
  const first = u32le(sb, 0x14);
  const perGroup = u32le(sb, 0x20);
  const clustersPerGroup = u32le(sb, 0x24);
  const inodesPerGroup = u32le(sb, 0x28);
  if (perGroup < 8 || (clustersPerGroup > 8 * bs && perGroup > 8 * bs)) return `${perGroup} blocks per group is out of range`;
  if (inodesPerGroup < 1 || inodesPerGroup > 8 * bs) return `${inodesPerGroup} inodes per group is out of range`;
  const rev = u32le(sb, 0x4c);
  const inodeSize = rev === 0 ? 128 : u16le(sb, 0x58);
  if (inodeSize < 128 || inodeSize > bs || (inodeSize & (inodeSize - 1)) !== 0) return `inode size ${inodeSize} is invalid`;
  if (blocks <= first) return `block count ${blocks} does not exceed the first data block ${first}`;
  if (blocks * bs > volumeSize) return `the filesystem claims ${blocks * bs} bytes but its volume holds ${volumeSize}`;
  const descSize = incompat & INCOMPAT_64BIT ? u16le(sb, 0xfe) : 32;
  if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0) return `group descriptor size ${descSize} is invalid`;
  const groups = Math.ceil((blocks - first) / perGroup);
  if (groups * descSize > MAX_GROUP_DESCRIPTOR_BYTES) return `${groups} block groups are more than the reader can hold`;
  return null;
}
