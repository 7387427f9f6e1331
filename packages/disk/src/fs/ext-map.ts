import type { BlockSource } from '../block/types.js';
import { u16le, u32le } from '../layout/bytes.js';
import { crc32cUpdate } from './crc32c.js';

/**
 * Where an ext2/3/4 file's bytes lie on its volume, read from the inode's block map (extent tree or
 * ext2/3 indirect blocks) so that a large file is read in a few big reads instead of libext2fs's one
 * block per call (a 14 MB kernel: ~3,500 round trips through the WASM glue → 2–5 reads). It also
 * reads inodes for `ext-direct.ts`. It declines (returns null) whatever it does not handle — inline
 * data, encryption, meta_bg — and throws ExtMapCorrupt for what it cannot trust (a bad checksum, a
 * cycle, a map larger than its bounds), so the caller falls back to libext2fs, which then gives the
 * answer or the error. Every structure is bounds-checked and, with metadata_csum, checksum-verified.
 *
 * Superblock (volume byte 1024), Documentation/filesystems/ext4/super.rst:
 *   0x04 blocks_count_lo | 0x14 first_data_block | 0x18 log_block_size | 0x20 blocks_per_group
 *   0x28 inodes_per_group | 0x58 inode_size | 0x60 feature_incompat | 0x64 feature_ro_compat
 *   0x68 uuid[16] | 0xFE desc_size (64bit) | 0x150 blocks_count_hi (64bit) | 0x270 checksum_seed
 */
export interface ExtGeometry {
  blockSize: number;
  blocks: number;
  firstDataBlock: number;
  inodesPerGroup: number;
  inodeSize: number;
  descSize: number;
  groups: number;
  /** The metadata_csum seed, or null without metadata_csum. */
  csumSeed: number | null;
  /** Why data cannot be mapped on this filesystem at all (then every read goes through libext2fs). */
  unsupported: string | null;
}

const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_CSUM_SEED = 0x2000;
const INCOMPAT_ENCRYPT = 0x10000;
const INCOMPAT_COMPRESSION = 0x1;
const RO_COMPAT_METADATA_CSUM = 0x400;

export function extGeometry(sb: Uint8Array): ExtGeometry {
  const blockSize = 1024 << u32le(sb, 0x18);
  const incompat = u32le(sb, 0x60);
  const roCompat = u32le(sb, 0x64);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocks = u32le(sb, 0x04) + (is64 ? u32le(sb, 0x150) * 0x1_0000_0000 : 0);
  const firstDataBlock = u32le(sb, 0x14);
  const blocksPerGroup = u32le(sb, 0x20);
  const inodesPerGroup = u32le(sb, 0x28);
  const inodeSize = u32le(sb, 0x4c) === 0 ? 128 : u16le(sb, 0x58);
  const descSize = is64 ? u16le(sb, 0xfe) : 32;
  const groups = blocksPerGroup > 0 ? Math.ceil((blocks - firstDataBlock) / blocksPerGroup) : 0;
  let csumSeed: number | null = null;
  if (roCompat & RO_COMPAT_METADATA_CSUM) {
    csumSeed = incompat & INCOMPAT_CSUM_SEED ? u32le(sb, 0x270) : crc32cUpdate(0xffffffff, sb, 0x68, 0x78);
  }
  let unsupported: string | null = null;
  if (incompat & INCOMPAT_META_BG) unsupported = 'meta_bg group descriptors';
  else if (incompat & (INCOMPAT_ENCRYPT | INCOMPAT_COMPRESSION)) unsupported = 'encryption or compression';
  else if (inodesPerGroup === 0 || blocksPerGroup === 0 || inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    unsupported = 'inconsistent superblock geometry';
  } else if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0) unsupported = `group descriptor size ${descSize}`;
  return { blockSize, blocks, firstDataBlock, inodesPerGroup, inodeSize, descSize, groups, csumSeed, unsupported };
}

/** A run of file blocks: `physical` null for a hole or an unwritten extent (both read as zeros). */
export interface DataRun {
  logical: number;
  count: number;
  physical: number | null;
}

/** A structure the mapper cannot trust: the caller reports E_FS_CORRUPT naming the file. */
export class ExtMapCorrupt extends Error {}

// Inode (ext4_inode): 0x00 mode u16 | 0x04 size_lo u32 | 0x20 flags u32 | 0x28 i_block[60]
//   0x64 generation u32 | 0x6C size_high u32 | 0x7C checksum_lo u16 | 0x80 extra_isize u16
//   0x82 checksum_hi u16
// i_flags bits this reader acts on.
export const FL_ENCRYPT = 0x800;
export const FL_INDEX = 0x1000;
export const FL_EXTENTS = 0x80000;
export const FL_INLINE_DATA = 0x10000000;
export const FL_CASEFOLD = 0x40000000;
const GOOD_OLD_INODE_SIZE = 128;
// Extent node: header 0 magic 0xF30A u16 | 2 entries u16 | 4 max u16 | 6 depth u16 | 8 generation u32,
// then 12-byte entries. Leaf: 0 ee_block u32 | 4 ee_len u16 | 6 start_hi u16 | 8 start_lo u32.
// Index: 0 ei_block u32 | 4 leaf_lo u32 | 8 leaf_hi u16. Non-root nodes end with a crc32c tail.
const EXTENT_MAGIC = 0xf30a;
const MAX_DEPTH = 5;
const UNWRITTEN_FLAG = 32768;
/** Bound on extent-tree nodes read for one file (a 1 GiB file of single-block extents needs ~770). */
const MAX_NODES = 1 << 16;
/**
 * Bound on the runs of one file's map (~60 bytes each): a sparse or fragmented file beyond it is
 * left to libext2fs, which maps blocks as they are read instead of all at once.
 */
const MAX_RUNS = 1 << 20;
/** Bound on block pointers walked in one ext2/3 block map (16 GiB of 1 KiB blocks, 64 GiB of 4 KiB). */
const MAX_POINTERS = 1 << 24;

/** An inode as xenkit reads it (Documentation/filesystems/ext4/inodes.rst), checksum verified. */
export interface ExtInode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** i_mtime, seconds since the epoch. */
  mtime: number;
  links: number;
  flags: number;
  /** The per-inode checksum seed (metadata_csum), for its extent and directory blocks. */
  seed: number | null;
  /** i_block: the extent tree root, the ext2/3 block map, or a fast symlink's target. */
  iblock: Uint8Array;
}

export interface MappedInode extends ExtInode {
  runs: DataRun[];
  /**
   * The map holds blocks at or past i_size, or unwritten extents. A file's reads ignore both (as
   * the kernel's and libext2fs's do), but libext2fs walks every mapped block of a directory whatever
   * its i_size says, so a directory reader must decline such a map rather than list fewer names.
   */
  irregular: boolean;
}

/** What one map walk has spent and seen, shared by every level of its recursion. */
interface WalkState {
  nodes: number;
  pointers: number;
  /** Map blocks (extent nodes, indirect blocks) read so far: one seen twice is a cycle or shared map. */
  seen: Set<number>;
  irregular: boolean;
}

/** Read inode `ino`, or null when this reader does not handle the filesystem (the caller uses libext2fs). */
export async function readExtInode(view: BlockSource, geo: ExtGeometry, ino: number): Promise<ExtInode | null> {
  if (geo.unsupported) return null;
  if (!Number.isSafeInteger(ino) || ino < 1 || ino > geo.groups * geo.inodesPerGroup) throw new ExtMapCorrupt(`inode number ${ino} is out of range`);
  const group = Math.floor((ino - 1) / geo.inodesPerGroup);
  const index = (ino - 1) % geo.inodesPerGroup;
  const gdt = (geo.firstDataBlock + 1) * geo.blockSize + group * geo.descSize;
  const desc = await view.read(gdt, geo.descSize);
  if (geo.csumSeed !== null) {
    // Group descriptor checksum (metadata_csum): crc32c(seed, group, descriptor with 0x1E zeroed) & 0xFFFF.
    let c = crc32cUpdate(geo.csumSeed, le32(group));
    c = crc32cUpdate(c, desc, 0, 0x1e);
    c = crc32cUpdate(c, new Uint8Array(2));
    c = crc32cUpdate(c, desc, 0x20, geo.descSize);
    if ((c & 0xffff) !== u16le(desc, 0x1e)) throw new ExtMapCorrupt(`group descriptor ${group} fails its checksum`);
  }
  const table = u32le(desc, 0x08) + (geo.descSize >= 64 ? u32le(desc, 0x28) * 0x1_0000_0000 : 0);
  const tableBytes = Math.ceil((geo.inodesPerGroup * geo.inodeSize) / geo.blockSize);
  if (table === 0 || table + tableBytes > geo.blocks) throw new ExtMapCorrupt(`group ${group}'s inode table lies outside the filesystem`);
  const inode = await view.read(table * geo.blockSize + index * geo.inodeSize, geo.inodeSize);
  const generation = u32le(inode, 0x64);
  const seed = geo.csumSeed === null ? null : crc32cUpdate(crc32cUpdate(geo.csumSeed, le32(ino)), le32(generation));
  if (seed !== null) verifyInodeChecksum(inode, geo.inodeSize, seed, ino);
  const size = u32le(inode, 0x04) + u32le(inode, 0x6c) * 0x1_0000_0000;
  if (!Number.isSafeInteger(size)) throw new ExtMapCorrupt(`inode ${ino} has size ${size}`);
  return {
    ino,
    // 0x02 uid_lo | 0x78 uid_hi, 0x18 gid_lo | 0x7A gid_hi (Linux osd2), 0x10 mtime, 0x1A links_count.
    mode: u16le(inode, 0x00),
    uid: u16le(inode, 0x02) + u16le(inode, 0x78) * 0x10000,
    gid: u16le(inode, 0x18) + u16le(inode, 0x7a) * 0x10000,
    size,
    mtime: mtimeOf(inode, geo.inodeSize),
    links: u16le(inode, 0x1a),
    flags: u32le(inode, 0x20),
    seed,
    iblock: inode.slice(0x28, 0x28 + 60),
  };
}

/**
 * The block map of inode `ino`, or null when this mapper does not handle the inode (the caller uses
 * libext2fs). Throws ExtMapCorrupt for structures that are wrong rather than unsupported.
 */
export async function mapExtInode(view: BlockSource, geo: ExtGeometry, ino: number): Promise<MappedInode | null> {
  const inode = await readExtInode(view, geo, ino);
  return inode ? mapInodeData(view, geo, inode) : null;
}

/** The block map of an inode already read; null for inline data and encrypted files. */
export async function mapInodeData(view: BlockSource, geo: ExtGeometry, inode: ExtInode): Promise<MappedInode | null> {
  if (inode.flags & (FL_INLINE_DATA | FL_ENCRYPT)) return null;
  const fileBlocks = Math.ceil(inode.size / geo.blockSize);
  const runs: DataRun[] = [];
  const state: WalkState = { nodes: 0, pointers: 0, seen: new Set(), irregular: false };
  if (inode.flags & FL_EXTENTS) {
    await walkExtents(view, geo, inode.iblock, -1, fileBlocks, runs, inode.seed, inode.ino, state, 0, Number.POSITIVE_INFINITY);
  } else {
    await walkIndirect(view, geo, inode.iblock, fileBlocks, runs, inode.ino, state);
  }
  return { ...inode, runs: fillHoles(runs, fileBlocks, inode.ino), irregular: state.irregular };
}

/**
 * i_mtime (0x10) is signed seconds; in a large inode whose i_extra_isize reaches i_mtime_extra (0x88),
 * that word's low 2 bits extend it past 2038 (ext4_decode_extra_time; debugfs prints the same date).
 */
function mtimeOf(inode: Uint8Array, inodeSize: number): number {
  const base = u32le(inode, 0x10) | 0;
  if (inodeSize <= GOOD_OLD_INODE_SIZE) return base;
  const extraIsize = u16le(inode, 0x80);
  if (extraIsize < 0x8c - GOOD_OLD_INODE_SIZE || GOOD_OLD_INODE_SIZE + extraIsize > inodeSize) return base;
  return base + (u32le(inode, 0x88) & 3) * 0x1_0000_0000;
}

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function verifyInodeChecksum(inode: Uint8Array, inodeSize: number, seed: number, ino: number): void {
  const zero = new Uint8Array(2);
  let c = crc32cUpdate(seed, inode, 0, 0x7c);
  c = crc32cUpdate(c, zero);
  c = crc32cUpdate(c, inode, 0x7e, GOOD_OLD_INODE_SIZE);
  let hiFits = false;
  if (inodeSize > GOOD_OLD_INODE_SIZE) {
    hiFits = u16le(inode, 0x80) >= 4;
    c = crc32cUpdate(c, inode, GOOD_OLD_INODE_SIZE, 0x82);
    let at = 0x82;
    if (hiFits) {
      c = crc32cUpdate(c, zero);
      at = 0x84;
    }
    c = crc32cUpdate(c, inode, at, inodeSize);
  }
  const stored = u16le(inode, 0x7c) + (hiFits ? u16le(inode, 0x82) * 0x10000 : 0);
  const computed = hiFits ? c >>> 0 : c & 0xffff;
  if (stored !== computed) throw new ExtMapCorrupt(`inode ${ino} fails its checksum`);
}

function addRun(runs: DataRun[], logical: number, count: number, physical: number | null, ino: number): void {
  const last = runs[runs.length - 1];
  if (last && last.logical + last.count === logical && (last.physical === null ? physical === null : physical !== null && last.physical + last.count === physical)) {
    last.count += count;
  } else {
    if (runs.length >= MAX_RUNS) throw new ExtMapCorrupt(`inode ${ino}: more than ${MAX_RUNS} runs in its block map`);
    runs.push({ logical, count, physical });
  }
}

/** Note a map block about to be read; a second visit means the map is a cycle or shares its blocks. */
function enter(state: WalkState, block: number, ino: number): void {
  if (state.seen.has(block)) throw new ExtMapCorrupt(`inode ${ino}: map block ${block} is referenced twice`);
  state.seen.add(block);
}

async function walkExtents(
  view: BlockSource,
  geo: ExtGeometry,
  node: Uint8Array,
  parentDepth: number,
  fileBlocks: number,
  runs: DataRun[],
  seed: number | null,
  ino: number,
  state: WalkState,
  /** The logical blocks [from, to) the parent index entry gives this node. */
  ...range: [number, number]
): Promise<void> {
  if (u16le(node, 0) !== EXTENT_MAGIC) throw new ExtMapCorrupt(`inode ${ino}: extent node without its magic`);
  const entries = u16le(node, 2);
  const max = u16le(node, 4);
  const depth = u16le(node, 6);
  // ext2fs_extent_header_verify's rule: eh_max is the node's capacity, or up to 2 less (room for a
  // tail); libext2fs refuses any other header, so reading past one would answer where it says no.
  const capacity = Math.floor((node.length - 12) / 12);
  if (entries > max || max > capacity || max < capacity - 2) throw new ExtMapCorrupt(`inode ${ino}: extent node claims ${entries}/${max} entries`);
  if (depth > MAX_DEPTH || (parentDepth >= 0 && depth !== parentDepth - 1)) throw new ExtMapCorrupt(`inode ${ino}: extent tree depth ${depth} is inconsistent`);
  if (depth === 0) {
    for (let i = 0; i < entries; i++) {
      const at = 12 + 12 * i;
      const logical = u32le(node, at);
      const raw = u16le(node, at + 4);
      const unwritten = raw > UNWRITTEN_FLAG;
      const count = unwritten ? raw - UNWRITTEN_FLAG : raw;
      const physical = u32le(node, at + 8) + u16le(node, at + 6) * 0x1_0000_0000;
      const prev = runs[runs.length - 1];
      if (count === 0 || (prev && logical < prev.logical + prev.count)) throw new ExtMapCorrupt(`inode ${ino}: extents overlap or are out of order`);
      if (logical < range[0] || logical + count > range[1]) throw new ExtMapCorrupt(`inode ${ino}: extent outside its index entry's range`);
      if (physical + count > geo.blocks || physical <= geo.firstDataBlock) throw new ExtMapCorrupt(`inode ${ino}: extent points outside the filesystem`);
      if (unwritten || logical + count > fileBlocks) state.irregular = true;
      // Blocks past i_size (preallocated with FALLOC_FL_KEEP_SIZE) are never read.
      if (logical >= fileBlocks) continue;
      addRun(runs, logical, Math.min(count, fileBlocks - logical), unwritten ? null : physical, ino);
    }
    return;
  }
  for (let i = 0; i < entries; i++) {
    const at = 12 + 12 * i;
    const first = u32le(node, at);
    if (first >= fileBlocks) {
      state.irregular = true;
      break;
    }
    // libext2fs finds a block by descending through the index entry whose range holds it, so a
    // child must keep within [this entry's first block, the next entry's): a walk in tree order
    // that only checked the extents' own order would read a map libext2fs reads differently.
    const next = i + 1 < entries ? u32le(node, at + 12) : Number.POSITIVE_INFINITY;
    if (next <= first) throw new ExtMapCorrupt(`inode ${ino}: extent index entries out of order`);
    const leaf = u32le(node, at + 4) + u16le(node, at + 8) * 0x1_0000_0000;
    if (leaf <= geo.firstDataBlock || leaf >= geo.blocks) throw new ExtMapCorrupt(`inode ${ino}: extent index points outside the filesystem`);
    if (++state.nodes > MAX_NODES) throw new ExtMapCorrupt(`inode ${ino}: more than ${MAX_NODES} extent nodes`);
    enter(state, leaf, ino);
    const child = await view.read(leaf * geo.blockSize, geo.blockSize);
    if (seed !== null) {
      const tail = 12 + 12 * u16le(child, 4);
      if (tail + 4 > child.length || crc32cUpdate(seed, child, 0, tail) !== u32le(child, tail)) {
        throw new ExtMapCorrupt(`inode ${ino}: extent block ${leaf} fails its checksum`);
      }
    }
    await walkExtents(view, geo, child, depth, fileBlocks, runs, seed, ino, state, Math.max(first, range[0]), Math.min(next, range[1]));
  }
}

/**
 * ext2/3 block map: i_block[0..11] direct, [12] single, [13] double, [14] triple indirect; a zero
 * entry is a hole. Walked only as far as the file's size reaches.
 */
async function walkIndirect(
  view: BlockSource,
  geo: ExtGeometry,
  iblock: Uint8Array,
  fileBlocks: number,
  runs: DataRun[],
  ino: number,
  state: WalkState,
): Promise<void> {
  const perBlock = geo.blockSize / 4;
  let logical = 0;
  const check = (ptr: number): void => {
    if (ptr <= geo.firstDataBlock || ptr >= geo.blocks) throw new ExtMapCorrupt(`inode ${ino}: block pointer ${ptr} lies outside the filesystem`);
    // Bounds the walk by the map's real size: a block map of indirect blocks pointing at each other
    // (or one triple-indirect block pointing at itself) would otherwise name 2^30 data blocks.
    if (++state.pointers > MAX_POINTERS) throw new ExtMapCorrupt(`inode ${ino}: more than ${MAX_POINTERS} block pointers`);
  };
  // Data pointers, one block each, kept synchronous: a 1 GiB file has a quarter of a million.
  const data = (ptr: number): void => {
    if (logical >= fileBlocks) {
      // A block past i_size: ignored by reads, but libext2fs lists a directory's every block.
      if (ptr !== 0) state.irregular = true;
      return;
    }
    if (ptr !== 0) {
      check(ptr);
      addRun(runs, logical, 1, ptr, ino);
    }
    logical++;
  };
  const visit = async (ptr: number, level: number): Promise<void> => {
    if (logical >= fileBlocks) {
      if (ptr !== 0) state.irregular = true;
      return;
    }
    if (ptr === 0) {
      logical += Math.min(perBlock ** level, fileBlocks - logical);
      return;
    }
    check(ptr);
    enter(state, ptr, ino);
    const block = await view.read(ptr * geo.blockSize, geo.blockSize);
    for (let i = 0; i < perBlock && !(logical >= fileBlocks && state.irregular); i++) {
      if (level === 1) data(u32le(block, 4 * i));
      else await visit(u32le(block, 4 * i), level - 1);
    }
  };
  for (let i = 0; i < 12; i++) data(u32le(iblock, 4 * i));
  for (let level = 1; level <= 3; level++) await visit(u32le(iblock, 4 * (11 + level)), level);
}

/** Runs covering [0, fileBlocks) in order, holes made explicit. */
function fillHoles(runs: DataRun[], fileBlocks: number, ino: number): DataRun[] {
  const out: DataRun[] = [];
  let at = 0;
  for (const r of runs) {
    if (r.logical > at) addRun(out, at, r.logical - at, null, ino);
    addRun(out, r.logical, r.count, r.physical, ino);
    at = r.logical + r.count;
  }
  if (at < fileBlocks) addRun(out, at, fileBlocks - at, null, ino);
  return out;
}
