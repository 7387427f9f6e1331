// Just enough VHD (Microsoft Virtual Hard Disk v1) for /import_raw_vdi and /export_raw_vdi
// format=vhd: read fixed, dynamic and differencing images (writing the sectors their bitmaps mark), and
// write dynamic images holding only the non-zero 2 MiB blocks, as xapi's vhd-tool does.
import type { FileHandle } from 'node:fs/promises';
import { OperationError } from '@xenkit/core';
import { isZero } from './stream.js';

// Footer (512 bytes, big-endian): 0 cookie "conectix" · 8 features · 12 version · 16 data offset (u64)
// · 24 timestamp (s since 2000-01-01) · 28 creator app · 32 creator version · 36 creator OS
// · 40 original size (u64) · 48 current size (u64) · 56 geometry (C u16, H u8, S u8) · 60 disk type
// · 64 checksum · 68 unique id (16) · 84 saved state.
// Dynamic header (1024 bytes): 0 cookie "cxsparse" · 8 data offset · 16 BAT offset (u64) · 24 version
// · 28 max BAT entries · 32 block size · 36 checksum · 40 parent uuid …
const FOOTER = 512;
const DYN_HEADER = 1024;
export const VHD_BLOCK = 2 * 1024 * 1024;
const BITMAP = 512; // 2 MiB / 512-byte sectors / 8 bits, rounded to a sector
const UNUSED = 0xffffffff;
const MAX_BLOCK_SIZE = 256 * 1024 * 1024;
// Copy stored sectors in pieces of at most this much, whatever the block size.
const COPY_PIECE = 2 * 1024 * 1024;

export class VhdError extends OperationError {
  constructor(message: string) {
    super('E_LAB_VHD_INVALID', message);
  }
}

function checksum(b: Buffer, skipAt: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < skipAt || i >= skipAt + 4) sum = (sum + (b[i] as number)) >>> 0;
  return ~sum >>> 0;
}

function geometry(size: bigint): number {
  let sectors = Number(size / 512n);
  if (sectors > 65535 * 16 * 255) sectors = 65535 * 16 * 255;
  let spt: number;
  let heads: number;
  let cth: number;
  if (sectors >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(sectors / spt);
  } else {
    spt = 17;
    cth = Math.floor(sectors / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(sectors / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(sectors / spt);
    }
  }
  const cyl = Math.min(65535, Math.floor(cth / heads));
  return ((cyl & 0xffff) << 16) | ((heads & 0xff) << 8) | (spt & 0xff);
}

function footer(size: bigint, uuid: Buffer): Buffer {
  const f = Buffer.alloc(FOOTER);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8);
  f.writeUInt32BE(0x00010000, 12);
  f.writeBigUInt64BE(BigInt(FOOTER), 16);
  f.writeUInt32BE(Math.max(0, Math.floor(Date.now() / 1000) - 946684800), 24);
  f.write('tap\0', 28, 'latin1'); // blktap's creator: qemu then trusts current_size over CHS
  f.writeUInt32BE(0x00010003, 32);
  f.writeUInt32BE(0x5769326b, 36);
  f.writeBigUInt64BE(size, 40);
  f.writeBigUInt64BE(size, 48);
  f.writeUInt32BE(geometry(size) >>> 0, 56);
  f.writeUInt32BE(3, 60);
  uuid.copy(f, 68, 0, 16);
  f.writeUInt32BE(checksum(f, 64), 64);
  return f;
}

/**
 * Plan a dynamic VHD of a raw file: which blocks to carry (non-zero ones, or with `base` the ones that
 * differ from it, as xapi's differential export does), and the total length.
 */
export async function planVhd(raw: FileHandle, size: bigint, base?: FileHandle): Promise<{ blocks: number[]; entries: number; length: number }> {
  const entries = Number((size + BigInt(VHD_BLOCK) - 1n) / BigInt(VHD_BLOCK));
  const blocks: number[] = [];
  const buf = Buffer.alloc(VHD_BLOCK);
  const old = Buffer.alloc(VHD_BLOCK);
  for (let i = 0; i < entries; i++) {
    const { bytesRead } = await raw.read(buf, 0, VHD_BLOCK, i * VHD_BLOCK);
    const data = buf.subarray(0, bytesRead);
    if (base) {
      old.fill(0);
      await base.read(old, 0, bytesRead, i * VHD_BLOCK);
      if (!data.equals(old.subarray(0, bytesRead))) blocks.push(i);
    } else if (!isZero(data)) blocks.push(i);
  }
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const length = FOOTER + DYN_HEADER + batBytes + blocks.length * (BITMAP + VHD_BLOCK) + FOOTER;
  return { blocks, entries, length };
}

/** Write the planned VHD: footer copy, header, BAT, blocks, footer. */
export async function writeVhd(
  raw: FileHandle,
  size: bigint,
  plan: { blocks: number[]; entries: number },
  uuid: Buffer,
  write: (b: Buffer) => Promise<void>,
): Promise<void> {
  const foot = footer(size, uuid);
  const batBytes = Math.ceil((plan.entries * 4) / 512) * 512;
  const header = Buffer.alloc(DYN_HEADER);
  header.write('cxsparse', 0, 'latin1');
  header.writeBigUInt64BE(0xffffffffffffffffn, 8);
  header.writeBigUInt64BE(BigInt(FOOTER + DYN_HEADER), 16);
  header.writeUInt32BE(0x00010000, 24);
  header.writeUInt32BE(plan.entries, 28);
  header.writeUInt32BE(VHD_BLOCK, 32);
  header.writeUInt32BE(checksum(header, 36), 36);
  const bat = Buffer.alloc(batBytes, 0xff);
  let sector = (FOOTER + DYN_HEADER + batBytes) / 512;
  for (const b of plan.blocks) {
    bat.writeUInt32BE(sector, b * 4);
    sector += (BITMAP + VHD_BLOCK) / 512;
  }
  await write(Buffer.concat([foot, header, bat]));
  const bitmap = Buffer.alloc(BITMAP, 0xff);
  for (const b of plan.blocks) {
    const data = Buffer.alloc(VHD_BLOCK);
    await raw.read(data, 0, VHD_BLOCK, b * VHD_BLOCK);
    await write(Buffer.concat([bitmap, data]));
  }
  await write(foot);
}

/** Copy the data a VHD file carries into a raw file of `limit` bytes. */
export async function applyVhd(vhd: FileHandle, vhdLength: number, raw: FileHandle, limit: bigint): Promise<void> {
  if (vhdLength < FOOTER) throw new VhdError(`VHD of ${vhdLength} bytes is shorter than its footer`);
  const f = Buffer.alloc(FOOTER);
  await vhd.read(f, 0, FOOTER, vhdLength - FOOTER);
  // A fixed VHD made by some tools has a 511-byte footer; dynamic ones keep a copy at offset 0.
  if (f.toString('latin1', 0, 8) !== 'conectix') await vhd.read(f, 0, FOOTER, 0);
  if (f.toString('latin1', 0, 8) !== 'conectix') throw new VhdError('no VHD footer (cookie "conectix") found');
  if (f.readUInt32BE(64) !== checksum(f, 64)) throw new VhdError('VHD footer checksum mismatch');
  const current = f.readBigUInt64BE(48);
  if (current > limit) throw new VhdError(`VHD virtual size ${current} exceeds the VDI's ${limit}`);
  const type = f.readUInt32BE(60);
  if (type === 2) {
    const buf = Buffer.alloc(VHD_BLOCK);
    for (let off = 0; off < Number(current); off += VHD_BLOCK) {
      const { bytesRead } = await vhd.read(buf, 0, Math.min(VHD_BLOCK, Number(current) - off), off);
      if (!isZero(buf.subarray(0, bytesRead))) await raw.write(buf, 0, bytesRead, off);
    }
    return;
  }
  if (type !== 3 && type !== 4) throw new VhdError(`unsupported VHD disk type ${type}`);
  const hdr = Buffer.alloc(DYN_HEADER);
  const hdrOff = Number(f.readBigUInt64BE(16));
  if (hdrOff + DYN_HEADER > vhdLength) throw new VhdError('VHD dynamic header lies outside the file');
  await vhd.read(hdr, 0, DYN_HEADER, hdrOff);
  if (hdr.toString('latin1', 0, 8) !== 'cxsparse') throw new VhdError('VHD dynamic header cookie is not "cxsparse"');
  if (hdr.readUInt32BE(36) !== checksum(hdr, 36)) throw new VhdError('VHD dynamic header checksum mismatch');
  const batOff = Number(hdr.readBigUInt64BE(16));
  const entries = hdr.readUInt32BE(28);
  const blockSize = hdr.readUInt32BE(32);
  if (blockSize < 512 || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new VhdError(`VHD block size ${blockSize} is not a power of two between 512 B and 256 MiB`);
  }
  if (BigInt(entries) * BigInt(blockSize) > current + BigInt(blockSize)) throw new VhdError('VHD BAT covers more than the disk size');
  if (batOff + entries * 4 > vhdLength) throw new VhdError('VHD BAT lies outside the file');
  const bat = Buffer.alloc(entries * 4);
  await vhd.read(bat, 0, bat.length, batOff);
  const bitmapBytes = Math.ceil(blockSize / 512 / 8 / 512) * 512;
  const bitmap = Buffer.alloc(bitmapBytes);
  const piece = Buffer.alloc(Math.min(blockSize, COPY_PIECE));
  for (let i = 0; i < entries; i++) {
    const sector = bat.readUInt32BE(i * 4);
    if (sector === UNUSED) continue;
    const len = Math.min(blockSize, Number(current) - i * blockSize);
    if (len <= 0) continue;
    const at = sector * 512;
    if (at + bitmapBytes + len > vhdLength) throw new VhdError(`VHD block ${i} lies outside the file`);
    await vhd.read(bitmap, 0, bitmapBytes, at);
    // Only sectors whose bitmap bit is set are stored in this file; the rest belong to the parent
    // (differencing) or read as zeros (dynamic). Either way the VDI already holds the right bytes.
    for (const [first, count] of setRuns(bitmap, Math.ceil(len / 512))) {
      const start = first * 512;
      const end = Math.min(len, (first + count) * 512);
      for (let off = start; off < end; off += piece.length) {
        const n = Math.min(piece.length, end - off);
        await vhd.read(piece, 0, n, at + bitmapBytes + off);
        await raw.write(piece, 0, n, i * blockSize + off);
      }
    }
  }
}

/** Runs [first sector, count] of set bits (MSB first, as the VHD spec orders them) among `sectors`. */
function setRuns(bitmap: Buffer, sectors: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let runStart = -1;
  for (let s = 0; s <= sectors; s++) {
    const set = s < sectors && ((bitmap[s >> 3] as number) & (0x80 >> (s & 7))) !== 0;
    if (set && runStart < 0) runStart = s;
    else if (!set && runStart >= 0) {
      runs.push([runStart, s - runStart]);
      runStart = -1;
    }
  }
  return runs;
}
