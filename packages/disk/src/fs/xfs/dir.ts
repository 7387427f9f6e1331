import type { BlockSource } from '../../block/types.js';
import { checkCrc, fsbToByte, XfsCorrupt, type XfsExtent, type XfsSuper } from './format.js';
import { FMT_BTREE, FMT_EXTENTS, FMT_LOCAL, readExtents, type XfsInode } from './inode.js';

/** Directory data lives below this byte offset of the directory; the hash leaf and free index above it. */
const DATA_SPACE = 32 * 1024 ** 3;
/** Bounds on one directory: entries kept and bytes of data blocks read. */
export const MAX_DIR_ENTRIES = 1 << 20;
export const MAX_DIR_BYTES = 64 * 1024 * 1024;

const MAGIC = { block4: 0x58443242, data4: 0x58443244, block5: 0x58444233, data5: 0x58444433 };

export type DirEntries = Map<string, bigint>;

const decoder = new TextDecoder();

/** Name → inode number of every entry of a directory inode, "." and ".." left out. */
export async function readDir(source: BlockSource, sb: XfsSuper, inode: XfsInode): Promise<DirEntries> {
  if (inode.format === FMT_LOCAL) return shortForm(sb, inode);
  if (inode.format !== FMT_EXTENTS && inode.format !== FMT_BTREE) throw new XfsCorrupt(`directory inode ${inode.ino} has data fork format ${inode.format}`);
  const extents = await readExtents(source, sb, inode);
  const out: DirEntries = new Map();
  const fsbPerDirBlk = sb.dirBlkSize / sb.blockSize;
  const dataBlocks = DATA_SPACE / sb.blockSize;
  let bytes = 0;
  for (const e of extents) {
    if (e.off >= dataBlocks) break;
    if (e.unwritten) continue;
    const first = Math.ceil(e.off / fsbPerDirBlk) * fsbPerDirBlk;
    for (let fb = first; fb + fsbPerDirBlk <= Math.min(e.off + e.len, dataBlocks); fb += fsbPerDirBlk) {
      bytes += sb.dirBlkSize;
      if (bytes > MAX_DIR_BYTES) throw new XfsCorrupt(`directory inode ${inode.ino} has over ${MAX_DIR_BYTES} bytes of data blocks`);
      const fsb = e.fsb + BigInt(fb - e.off);
      const b = Buffer.from(await source.read(fsbToByte(sb, fsb, fsbPerDirBlk), sb.dirBlkSize));
      dataBlock(sb, inode, b, fsb, out);
    }
    // A directory block split across extents (dirblklog > 0 on a fragmented volume).
    if ((e.off + e.len) % fsbPerDirBlk !== 0 && e.off + e.len < dataBlocks) await splitBlock(source, sb, inode, extents, e, out);
  }
  return out;
}

async function splitBlock(source: BlockSource, sb: XfsSuper, inode: XfsInode, extents: XfsExtent[], e: XfsExtent, out: DirEntries): Promise<void> {
  const fsbPerDirBlk = sb.dirBlkSize / sb.blockSize;
  const start = Math.floor((e.off + e.len - 1) / fsbPerDirBlk) * fsbPerDirBlk;
  if (start < e.off) return; // begun in an earlier extent, which assembled it
  const b = Buffer.alloc(sb.dirBlkSize);
  for (let i = 0; i < fsbPerDirBlk; i++) {
    const ext = extents.find((x) => x.off <= start + i && start + i < x.off + x.len);
    if (!ext || ext.unwritten) throw new XfsCorrupt(`directory inode ${inode.ino} has a hole inside directory block ${start}`);
    const fsb = ext.fsb + BigInt(start + i - ext.off);
    b.set(await source.read(fsbToByte(sb, fsb), sb.blockSize), i * sb.blockSize);
  }
  dataBlock(sb, inode, b, BigInt(start), out);
}

// Short-form directory in the inode: 0 count u8 | 1 i8count u8 | 2 parent (4 or 8 bytes), then entries:
//   namelen u8 | offset u16 | name | ftype u8 (with the ftype feature) | inumber (4 or 8 bytes).
function shortForm(sb: XfsSuper, inode: XfsInode): DirEntries {
  const b = inode.fork.subarray(0, Math.min(inode.size, inode.fork.length));
  if (b.length < 6) throw new XfsCorrupt(`directory inode ${inode.ino} has a short-form header cut off`);
  const count = b[0] as number;
  const i8 = b[1] as number;
  const inoLen = i8 > 0 ? 8 : 4;
  let pos = 2 + inoLen;
  const out: DirEntries = new Map();
  for (let i = 0; i < count; i++) {
    const nameLen = b[pos] ?? 0;
    const inoAt = pos + 3 + nameLen + (sb.ftype ? 1 : 0);
    if (nameLen === 0 || inoAt + inoLen > b.length) throw new XfsCorrupt(`directory inode ${inode.ino}: short-form entry ${i} runs past the directory`);
    const ino = inoLen === 8 ? b.readBigUInt64BE(inoAt) : BigInt(b.readUInt32BE(inoAt));
    out.set(decoder.decode(b.subarray(pos + 3, pos + 3 + nameLen)), ino);
    pos = inoAt + inoLen;
  }
  return out;
}

// Data block (block-format "XD2B"/"XDB3" or data "XD2D"/"XDD3"): header 16 bytes (v4) or 64 (v5: 4 crc,
// 8 blkno, 24 uuid, 40 owner), then 8-aligned records up to the end (data) or the leaf entries (block):
//   unused: 0xffff u16 | length u16 | … | tag u16
//   entry:  inumber u64 | namelen u8 | name | ftype u8 (ftype feature) | pad | tag u16
// A block-format directory ends with its hash leaf: entries (8 bytes each) then count u32 | stale u32.
function dataBlock(sb: XfsSuper, inode: XfsInode, b: Buffer, fsb: bigint, out: DirEntries): void {
  const magic = b.readUInt32BE(0);
  const isBlock = magic === (sb.v5 ? MAGIC.block5 : MAGIC.block4);
  if (!isBlock && magic !== (sb.v5 ? MAGIC.data5 : MAGIC.data4)) throw new XfsCorrupt(`directory inode ${inode.ino}: block ${fsb} is not a directory data block`);
  const hdr = sb.v5 ? 64 : 16;
  if (sb.v5) {
    checkCrc(b, 4, `directory block ${fsb}`);
    if (b.readBigUInt64BE(40) !== BigInt(inode.ino)) throw new XfsCorrupt(`directory block ${fsb} belongs to inode ${b.readBigUInt64BE(40)}, not ${inode.ino}`);
  }
  let end = b.length;
  if (isBlock) {
    const count = b.readUInt32BE(b.length - 8);
    end = b.length - 8 - count * 8;
    if (count > b.length / 8 || end < hdr) throw new XfsCorrupt(`directory inode ${inode.ino}: block directory leaf count ${count} overruns its block`);
  }
  let pos = hdr;
  while (pos + 8 <= end) {
    if (b.readUInt16BE(pos) === 0xffff) {
      const len = b.readUInt16BE(pos + 2);
      if (len < 8 || len % 8 !== 0 || pos + len > end) throw new XfsCorrupt(`directory inode ${inode.ino}: free space of ${len} bytes at ${pos} of block ${fsb} is invalid`);
      pos += len;
      continue;
    }
    const nameLen = b[pos + 8] as number;
    const size = Math.ceil((11 + nameLen + (sb.ftype ? 1 : 0)) / 8) * 8;
    if (nameLen === 0 || pos + size > end) throw new XfsCorrupt(`directory inode ${inode.ino}: entry at ${pos} of block ${fsb} runs past the block`);
    const name = b.subarray(pos + 9, pos + 9 + nameLen);
    const isDot = (nameLen === 1 && name[0] === 0x2e) || (nameLen === 2 && name[0] === 0x2e && name[1] === 0x2e);
    if (!isDot) {
      if (out.size >= MAX_DIR_ENTRIES) throw new XfsCorrupt(`directory inode ${inode.ino} has over ${MAX_DIR_ENTRIES} entries`);
      out.set(decoder.decode(name), b.readBigUInt64BE(pos));
    }
    pos += size;
  }
}
