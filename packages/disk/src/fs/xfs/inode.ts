import type { BlockSource } from '../../block/types.js';
import { checkCrc, fsbToByte, inodeByte, parseExtent, XfsCorrupt, type XfsExtent, type XfsSuper } from './format.js';

// Inode core (xfs_dinode):
//   0 magic "IN" u16 | 2 mode u16 | 4 version u8 | 5 format u8 | 6 onlink u16 (v1) | 8 uid u32
//   12 gid u32 | 16 nlink u32 | 24 big_nextents u64 (NREXT64) | 40 mtime (sec i32, nsec u32; or u64 ns
//   since 1901-12-13 with BIGTIME) | 56 size u64 | 64 nblocks u64 | 76 nextents u32 | 82 forkoff u8
//   v3: 100 crc | 120 flags2 u64 | 152 ino u64. The data fork follows the core: at 100 (v1/v2), 176 (v3).
const INODE_MAGIC = 0x494e;
const FLAGS2_BIGTIME = 1n << 3n;
const FLAGS2_NREXT64 = 1n << 4n;
export const FMT_DEV = 0;
export const FMT_LOCAL = 1;
export const FMT_EXTENTS = 2;
export const FMT_BTREE = 3;
/** Bound on bmbt depth: 9 levels address more extents than any 64-bit file can have. */
const MAX_BMBT_LEVELS = 9;
/** Bound on the extent list one file may hand the reader. */
export const MAX_EXTENTS = 1 << 21;

export interface XfsInode {
  ino: number;
  mode: number;
  format: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  nblocks: number;
  mtimeMs: number;
  nextents: number;
  /** The data fork's bytes (the literal area up to the attribute fork). */
  fork: Buffer;
}

export async function readInode(source: BlockSource, sb: XfsSuper, inoBig: bigint): Promise<XfsInode> {
  if (inoBig === 0n || inoBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new XfsCorrupt(`inode number ${inoBig} is out of range`);
  const at = inodeByte(sb, inoBig);
  if (at + sb.inodeSize > source.size) throw new XfsCorrupt(`inode ${inoBig} lies past the end of the volume`);
  const b = Buffer.from(await source.read(at, sb.inodeSize));
  if (b.readUInt16BE(0) !== INODE_MAGIC) throw new XfsCorrupt(`inode ${inoBig} has no "IN" magic`);
  const version = b[4] as number;
  if (sb.v5 ? version !== 3 : version !== 1 && version !== 2) throw new XfsCorrupt(`inode ${inoBig} has version ${version} on a v${sb.v5 ? 5 : 4} filesystem`);
  let flags2 = 0n;
  const core = version === 3 ? 176 : 100;
  if (version === 3) {
    checkCrc(b, 100, `inode ${inoBig}`);
    if (b.readBigUInt64BE(152) !== inoBig) throw new XfsCorrupt(`inode ${inoBig} records itself as inode ${b.readBigUInt64BE(152)}`);
    flags2 = b.readBigUInt64BE(120);
  }
  const forkOff = (b[82] as number) * 8;
  const forkSize = forkOff > 0 ? forkOff : sb.inodeSize - core;
  if (core + forkSize > sb.inodeSize) throw new XfsCorrupt(`inode ${inoBig} has an attribute fork offset past its end`);
  const size = b.readBigUInt64BE(56);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new XfsCorrupt(`inode ${inoBig} has size ${size}`);
  let mtimeMs: number;
  if (flags2 & FLAGS2_BIGTIME) {
    const ns = b.readBigUInt64BE(40);
    mtimeMs = Number(ns / 1_000_000n) - 2 ** 31 * 1000;
  } else {
    mtimeMs = b.readInt32BE(40) * 1000 + Math.floor(b.readUInt32BE(44) / 1e6);
  }
  const nextents = flags2 & FLAGS2_NREXT64 ? b.readBigUInt64BE(24) : BigInt(b.readUInt32BE(76));
  return {
    ino: Number(inoBig),
    mode: b.readUInt16BE(2),
    format: b[5] as number,
    uid: b.readUInt32BE(8),
    gid: b.readUInt32BE(12),
    nlink: version === 1 ? b.readUInt16BE(6) : b.readUInt32BE(16),
    size: Number(size),
    nblocks: Number(b.readBigUInt64BE(64) & 0xffffffffffffn),
    mtimeMs,
    nextents: nextents > BigInt(MAX_EXTENTS) ? MAX_EXTENTS + 1 : Number(nextents),
    fork: b.subarray(core, core + forkSize),
  };
}

/**
 * The data fork's extents, in file order, for an extents- or btree-format inode. Bounded by the
 * inode's extent count (itself capped), the bmbt depth and the blocks the tree may visit.
 */
export async function readExtents(source: BlockSource, sb: XfsSuper, inode: XfsInode): Promise<XfsExtent[]> {
  if (inode.nextents > MAX_EXTENTS) throw new XfsCorrupt(`inode ${inode.ino} claims over ${MAX_EXTENTS} extents`);
  const out: XfsExtent[] = [];
  if (inode.format === FMT_EXTENTS) {
    if (inode.nextents * 16 > inode.fork.length) throw new XfsCorrupt(`inode ${inode.ino} claims ${inode.nextents} extents, more than its fork holds`);
    for (let i = 0; i < inode.nextents; i++) out.push(parseExtent(inode.fork, i * 16));
  } else if (inode.format === FMT_BTREE) {
    // Root in the inode (xfs_bmdr_block): 0 level u16 | 2 numrecs u16 | keys u64[maxrecs] | ptrs u64[maxrecs].
    const root = inode.fork;
    if (root.length < 4) throw new XfsCorrupt(`inode ${inode.ino} has no room for a bmbt root`);
    const level = root.readUInt16BE(0);
    const numrecs = root.readUInt16BE(2);
    const maxrecs = Math.floor((root.length - 4) / 16);
    if (level < 1 || level > MAX_BMBT_LEVELS || numrecs < 1 || numrecs > maxrecs) {
      throw new XfsCorrupt(`inode ${inode.ino} has a bmbt root of level ${level} with ${numrecs} records`);
    }
    const budget = { blocks: Math.min(inode.nblocks, inode.nextents * MAX_BMBT_LEVELS, MAX_EXTENTS) };
    for (let i = 0; i < numrecs; i++) {
      await walkBmbt(source, sb, inode, root.readBigUInt64BE(4 + maxrecs * 8 + i * 8), level - 1, out, budget);
    }
    if (out.length !== inode.nextents) throw new XfsCorrupt(`inode ${inode.ino} has ${out.length} extents in its bmbt, ${inode.nextents} in its core`);
  } else {
    throw new XfsCorrupt(`inode ${inode.ino} has data fork format ${inode.format} where extents were expected`);
  }
  let next = 0;
  for (const e of out) {
    if (e.off < next || e.len === 0) throw new XfsCorrupt(`inode ${inode.ino} has overlapping or empty extents`);
    next = e.off + e.len;
  }
  return out;
}

// bmbt block (long form): 0 magic "BMAP"/"BMA3" | 4 level u16 | 6 numrecs u16 | 8 leftsib | 16 rightsib
// v5 adds 24 blkno | 32 lsn | 40 uuid | 56 owner u64 | 64 crc | 68 pad — header 72 bytes (24 on v4).
async function walkBmbt(source: BlockSource, sb: XfsSuper, inode: XfsInode, fsb: bigint, level: number, out: XfsExtent[], budget: { blocks: number }): Promise<void> {
  if (--budget.blocks < 0) throw new XfsCorrupt(`inode ${inode.ino}'s bmbt visits more blocks than the inode owns`);
  const b = Buffer.from(await source.read(fsbToByte(sb, fsb), sb.blockSize));
  const magic = b.readUInt32BE(0);
  if (magic !== (sb.v5 ? 0x424d4133 : 0x424d4150)) throw new XfsCorrupt(`inode ${inode.ino}: block ${fsb} is not a bmbt block`);
  const hdr = sb.v5 ? 72 : 24;
  if (sb.v5) {
    checkCrc(b, 64, `bmbt block ${fsb}`);
    if (b.readBigUInt64BE(56) !== BigInt(inode.ino)) throw new XfsCorrupt(`bmbt block ${fsb} belongs to inode ${b.readBigUInt64BE(56)}, not ${inode.ino}`);
  }
  const blockLevel = b.readUInt16BE(4);
  const numrecs = b.readUInt16BE(6);
  const maxrecs = Math.floor((sb.blockSize - hdr) / 16);
  if (blockLevel !== level || numrecs > maxrecs || numrecs === 0) throw new XfsCorrupt(`bmbt block ${fsb} has level ${blockLevel} (expected ${level}) and ${numrecs} records`);
  if (level === 0) {
    if (out.length + numrecs > inode.nextents) throw new XfsCorrupt(`inode ${inode.ino}'s bmbt holds more extents than its core counts`);
    for (let i = 0; i < numrecs; i++) out.push(parseExtent(b, hdr + i * 16));
    return;
  }
  for (let i = 0; i < numrecs; i++) {
    await walkBmbt(source, sb, inode, b.readBigUInt64BE(hdr + maxrecs * 8 + i * 8), level - 1, out, budget);
  }
}
