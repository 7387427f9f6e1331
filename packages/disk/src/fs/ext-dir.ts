import type { BlockSource } from '../block/types.js';
import { u16le, u32le } from '../layout/bytes.js';
import { crc32cUpdate } from './crc32c.js';
import { ExtMapCorrupt, FL_CASEFOLD, FL_ENCRYPT, FL_INDEX, FL_INLINE_DATA, mapInodeData, type ExtGeometry, type ExtInode } from './ext-map.js';

/**
 * An ext2/3/4 directory's entries read from its blocks, so that a path lookup costs a few cached block
 * reads instead of libext2fs's open/fstat/close (a dozen calls through the WASM glue, each block read a
 * stack unwind). Hashed (htree) directories need nothing special: their index blocks look like one empty
 * entry, so a linear walk of every block finds every name, as e2fsck's does. Inline-data, encrypted and
 * case-folded directories are declined (null) and stay libext2fs's.
 *
 * Entry (ext4_dir_entry_2): 0 inode u32 | 4 rec_len u16 | 6 name_len u8 | 7 file_type u8 | 8 name.
 * With metadata_csum a leaf block ends in a 12-byte tail: inode 0, rec_len 12, name_len 0, file_type
 * 0xDE, then crc32c(inode seed, block up to the tail) at byte 8.
 */
const TAIL = 12;
const TAIL_FILE_TYPE = 0xde;
/** Directories larger than this are left to libext2fs (a million entries is ~40 MiB). */
const MAX_DIR_BYTES = 64 << 20;

const decoder = new TextDecoder('utf-8');

/** name → inode number, in on-disk order, "." and ".." included; null when declined. */
export async function readExtDirectory(view: BlockSource, geo: ExtGeometry, dir: ExtInode): Promise<Map<string, number> | null> {
  if ((dir.mode & 0o170000) !== 0o040000) throw new ExtMapCorrupt(`inode ${dir.ino} is not a directory`);
  if (dir.flags & (FL_INLINE_DATA | FL_ENCRYPT | FL_CASEFOLD) || dir.size > MAX_DIR_BYTES) return null;
  const map = await mapInodeData(view, geo, dir);
  // libext2fs lists every mapped block of a directory, i_size or not: with blocks past i_size (or
  // unwritten ones) this reader's answer would differ from it, so the directory stays libext2fs's.
  if (!map || map.irregular) return null;
  const bs = geo.blockSize;
  const entries = new Map<string, number>();
  for (const run of map.runs) {
    if (run.physical === null) continue; // a hole in a directory holds no entries
    const bytes = await view.read(run.physical * bs, run.count * bs);
    for (let b = 0; b < run.count; b++) {
      parseBlock(bytes.subarray(b * bs, (b + 1) * bs), run.logical + b, dir, geo, entries);
    }
  }
  return entries;
}

/**
 * The checksum of an htree index block (ext2fs_dx_csum / ext4_dx_csum). The root starts with '.'
 * (rec_len 12) and '..' (rec_len block − 12), then dx_root_info (reserved_zero u32, hash_version u8,
 * info_length u8 = 8, …), count/limit at byte 32; an interior node with one empty entry spanning the
 * block, count/limit at byte 8. Then limit × 8-byte entries, and right after them the dx tail
 * (reserved u32, crc32c(seed, block[0, count_offset + count × 8], tail's first 4 bytes, 4 zero bytes)).
 */
function dxChecksumOk(block: Uint8Array, seed: number): boolean {
  const bs = block.length;
  let countOffset: number;
  if (recLenOf(block, 0) === bs && block[6] === 0) countOffset = 8;
  else if (recLenOf(block, 0) === 12 && recLenOf(block, 12) === bs - 12 && u32le(block, 24) === 0 && block[29] === 8) countOffset = 32;
  else return false;
  const limit = u16le(block, countOffset);
  const count = u16le(block, countOffset + 2);
  const tail = countOffset + limit * 8;
  if (count > limit || tail + 8 > bs) return false;
  let c = crc32cUpdate(seed, block, 0, countOffset + count * 8);
  c = crc32cUpdate(c, block, tail, tail + 4);
  c = crc32cUpdate(c, new Uint8Array(4));
  return c === u32le(block, tail + 4);
}

/** A dirent's rec_len; 64 KiB blocks store a whole-block record as 0 or 65535 (ext4_rec_len_from_disk). */
function recLenOf(block: Uint8Array, at: number): number {
  const raw = u16le(block, at + 4);
  return block.length === 65536 && (raw === 0 || raw === 65535) ? 65536 : raw;
}

function parseBlock(block: Uint8Array, logical: number, dir: ExtInode, geo: ExtGeometry, entries: Map<string, number>): void {
  const bs = block.length;
  let end = bs;
  const hasTail = u32le(block, bs - TAIL) === 0 && u16le(block, bs - TAIL + 4) === TAIL && block[bs - TAIL + 6] === 0 && block[bs - TAIL + 7] === TAIL_FILE_TYPE;
  if (hasTail) {
    end = bs - TAIL;
    if (dir.seed !== null && crc32cUpdate(dir.seed, block, 0, end) !== u32le(block, bs - TAIL + 8)) {
      throw new ExtMapCorrupt(`directory inode ${dir.ino} block ${logical} fails its checksum`);
    }
  } else if (dir.seed !== null) {
    // With metadata_csum every leaf block carries the tail, and a hashed directory's index blocks
    // (which the walk below sees as empty entries) a dx tail: libext2fs refuses to list a directory
    // whose index fails its checksum, so this reader must not list it either.
    if (!(dir.flags & FL_INDEX)) throw new ExtMapCorrupt(`directory inode ${dir.ino} block ${logical} has no checksum tail`);
    if (!dxChecksumOk(block, dir.seed)) throw new ExtMapCorrupt(`directory inode ${dir.ino} index block ${logical} fails its checksum`);
  }
  let at = 0;
  while (at < end) {
    if (at + 8 > end) throw new ExtMapCorrupt(`directory inode ${dir.ino} block ${logical}: entry header past the block end`);
    const ino = u32le(block, at);
    const recLen = recLenOf(block, at);
    const nameLen = block[at + 6] as number;
    if (recLen < 8 || recLen % 4 !== 0 || at + recLen > end || 8 + nameLen > recLen) {
      throw new ExtMapCorrupt(`directory inode ${dir.ino} block ${logical}: bad entry at ${at} (rec_len ${recLen}, name_len ${nameLen})`);
    }
    if (ino !== 0 && nameLen > 0) {
      if (ino > geo.groups * geo.inodesPerGroup) throw new ExtMapCorrupt(`directory inode ${dir.ino}: entry names inode ${ino}, past the last inode`);
      const name = decoder.decode(block.subarray(at + 8, at + 8 + nameLen));
      // A name twice (a damaged directory, or two byte strings decoding alike): libext2fs lists both,
      // a map cannot, so such a directory is left to libext2fs.
      if (entries.has(name)) throw new ExtMapCorrupt(`directory inode ${dir.ino} names ${JSON.stringify(name)} twice`);
      entries.set(name, ino);
    }
    at += recLen;
  }
}
