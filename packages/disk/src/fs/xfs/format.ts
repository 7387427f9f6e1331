// XFS on-disk structures (xfsprogs libxfs/xfs_format.h, "XFS Algorithms & Data Structures"). All
// fields are big-endian except the CRC32c fields, which are stored little-endian.

import { crc32cWithHole } from '../crc32c.js';

/** A structure the reader cannot trust; the filesystem turns it into E_FS_CORRUPT with its own name. */
export class XfsCorrupt extends Error {}

export function checkCrc(b: Buffer, crcOff: number, what: string): void {
  if (b.readUInt32LE(crcOff) !== crc32cWithHole(b, crcOff)) throw new XfsCorrupt(`${what} fails its CRC32c checksum`);
}

// Superblock (sector 0 of AG 0):
//   0 magic "XFSB" | 4 blocksize u32 | 8 dblocks u64 | 56 rootino u64 | 84 agblocks u32 | 88 agcount u32
//   100 versionnum u16 | 102 sectsize u16 | 104 inodesize u16 | 106 inopblock u16 | 120 blocklog u8
//   121 sectlog u8 | 122 inodelog u8 | 123 inopblog u8 | 124 agblklog u8 | 192 dirblklog u8
//   200 features2 u32 | 216 features_incompat u32 | 224 crc (v5, over one sector)
export const SB_MAGIC = 0x58465342;
const VERSION_DIRV2 = 0x2000;
const VERSION_MOREBITS = 0x8000;
const VERSION2_FTYPE = 0x200;
const INCOMPAT_FTYPE = 0x1;
// ftype, sparse inodes, meta uuid, bigtime, needsrepair, nrext64, exchange-range, parent pointers, metadir:
// none changes how directories, inodes or extents below the root are laid out for a reader.
const INCOMPAT_KNOWN = 0x1ff;

export interface XfsSuper {
  blockSize: number;
  blockLog: number;
  dblocks: number;
  agBlocks: number;
  agCount: number;
  agBlkLog: number;
  inodeSize: number;
  inopbLog: number;
  rootIno: bigint;
  /** Directory block size in bytes (blockSize << dirblklog). */
  dirBlkSize: number;
  v5: boolean;
  ftype: boolean;
  sectSize: number;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export function parseSuper(b: Buffer, volumeSize: number): XfsSuper {
  if (b.length < 512 || b.readUInt32BE(0) !== SB_MAGIC) throw new XfsCorrupt('no XFS superblock (magic "XFSB") at the start of the volume');
  const blockSize = b.readUInt32BE(4);
  const blockLog = b[120] as number;
  const sectSize = b.readUInt16BE(102);
  const inodeSize = b.readUInt16BE(104);
  const inopb = b.readUInt16BE(106);
  const inopbLog = b[123] as number;
  const agBlocks = b.readUInt32BE(84);
  const agCount = b.readUInt32BE(88);
  const agBlkLog = b[124] as number;
  const dirBlkLog = b[192] as number;
  const version = b.readUInt16BE(100);
  const features2 = version & VERSION_MOREBITS ? b.readUInt32BE(200) : 0;
  const dblocksBig = b.readBigUInt64BE(8);
  const bad = (what: string): never => {
    throw new XfsCorrupt(`superblock: ${what}`);
  };
  if (!isPow2(blockSize) || blockSize < 512 || blockSize > 65536 || 1 << blockLog !== blockSize) bad(`block size ${blockSize} (log ${blockLog}) is invalid`);
  if (!isPow2(sectSize) || sectSize < 512 || sectSize > 32768 || 1 << (b[121] as number) !== sectSize) bad(`sector size ${sectSize} is invalid`);
  if (!isPow2(inodeSize) || inodeSize < 256 || inodeSize > 2048 || 1 << (b[122] as number) !== inodeSize) bad(`inode size ${inodeSize} is invalid`);
  if (inopb !== blockSize / inodeSize || 1 << inopbLog !== inopb) bad(`inodes per block ${inopb} does not match block and inode size`);
  if (agBlocks < 5 || agBlkLog > 31 || agBlocks > 2 ** agBlkLog || (agBlkLog > 0 && agBlocks <= 2 ** (agBlkLog - 1))) bad(`AG size ${agBlocks} blocks (log ${agBlkLog}) is invalid`);
  if (agCount < 1) bad('AG count is 0');
  if (blockLog + dirBlkLog > 16) bad(`directory block log ${dirBlkLog} is too large`);
  const vnum = version & 0xf;
  if (vnum !== 4 && vnum !== 5) bad(`version ${vnum} is not 4 or 5`);
  if (!(version & VERSION_DIRV2)) bad('version 1 directories are not supported');
  const dblocks = Number(dblocksBig);
  if (dblocksBig > BigInt(Number.MAX_SAFE_INTEGER) || dblocks > agCount * agBlocks || dblocks <= (agCount - 1) * agBlocks) {
    bad(`${dblocksBig} data blocks do not fit ${agCount} AGs of ${agBlocks} blocks`);
  }
  let ftype = (features2 & VERSION2_FTYPE) !== 0;
  const v5 = vnum === 5;
  if (v5) {
    if (b.length < sectSize) bad('superblock sector is cut off');
    checkCrc(b.subarray(0, sectSize), 224, 'superblock');
    const incompat = b.readUInt32BE(216);
    if (incompat & ~INCOMPAT_KNOWN) bad(`unknown incompatible features 0x${(incompat & ~INCOMPAT_KNOWN).toString(16)}`);
    ftype = (incompat & INCOMPAT_FTYPE) !== 0;
  }
  if (dblocks * blockSize > 2 ** 53 || volumeSize < sectSize) bad(`${dblocks} blocks of ${blockSize} bytes cannot be addressed`);
  return {
    blockSize,
    blockLog,
    dblocks,
    agBlocks,
    agCount,
    agBlkLog,
    inodeSize,
    inopbLog,
    rootIno: b.readBigUInt64BE(56),
    dirBlkSize: blockSize << dirBlkLog,
    v5,
    ftype,
    sectSize,
  };
}

/** Byte offset of filesystem block `fsb` (agno << agblklog | agbno), checked against the AG geometry. */
export function fsbToByte(sb: XfsSuper, fsb: bigint, count = 1): number {
  const agno = Number(fsb >> BigInt(sb.agBlkLog));
  const agbno = Number(fsb & ((1n << BigInt(sb.agBlkLog)) - 1n));
  if (agno >= sb.agCount || agbno + count > sb.agBlocks) throw new XfsCorrupt(`block ${fsb} (AG ${agno}, block ${agbno}, ${count} long) is outside the filesystem`);
  return (agno * sb.agBlocks + agbno) * sb.blockSize;
}

/** Byte offset of inode `ino` (agno | agbno | index within the block). */
export function inodeByte(sb: XfsSuper, ino: bigint): number {
  const offBits = BigInt(sb.inopbLog);
  const index = Number(ino & ((1n << offBits) - 1n));
  return fsbToByte(sb, ino >> offBits) + index * sb.inodeSize;
}

// Extent record (128 bits): l0 bit 63 unwritten, bits 9..62 file offset (blocks), bits 0..8 with
// l1 bits 21..63 start block (52 bits), l1 bits 0..20 length (blocks).
export interface XfsExtent {
  /** File offset in blocks. */
  off: number;
  fsb: bigint;
  len: number;
  unwritten: boolean;
}

export function parseExtent(b: Buffer, at: number): XfsExtent {
  const l0 = b.readBigUInt64BE(at);
  const l1 = b.readBigUInt64BE(at + 8);
  const off = (l0 >> 9n) & ((1n << 54n) - 1n);
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw new XfsCorrupt(`extent file offset ${off} is out of range`);
  return {
    off: Number(off),
    fsb: ((l0 & 0x1ffn) << 43n) | (l1 >> 21n),
    len: Number(l1 & 0x1fffffn),
    unwritten: l0 >> 63n === 1n,
  };
}
