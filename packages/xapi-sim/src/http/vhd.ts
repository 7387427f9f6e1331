// Just enough VHD (Microsoft Virtual Hard Disk v1) for /import_raw_vdi and /export_raw_vdi
// format=vhd: read fixed, dynamic and differencing images through @xenkit/disk (writing the sectors
// they store), and write dynamic images holding only the non-zero 2 MiB blocks, as xapi's vhd-tool does.
import type { FileHandle } from 'node:fs/promises';
import { OperationError } from '@xenkit/core';
import { openDisk, type Disk } from '@xenkit/disk';
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
// Copy stored data in pieces of at most this much.
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

/**
 * Copy the data a spooled VHD carries into a raw file of `limit` bytes: only the sectors it stores
 * (allocated blocks, sectors its bitmaps mark), so a differencing upload lands on the VDI holding its
 * parent without disturbing the parent's sectors. Parsing (footer, header, BAT, bitmaps, bounds) is
 * @xenkit/disk's. A differencing image's parent is not here, so the spool is relabelled dynamic first:
 * its unmarked sectors then read as "zero" extents, which are left alone as the parent's.
 */
export async function applyVhd(spoolPath: string, spool: FileHandle, spoolLength: number, raw: FileHandle, limit: bigint): Promise<void> {
  await relabelDifferencing(spool, spoolLength);
  let disk: Disk;
  try {
    disk = await openDisk(spoolPath);
  } catch (e) {
    throw new VhdError(`not a usable VHD: ${(e as Error).message}`);
  }
  try {
    if (disk.format !== 'vhd') throw new VhdError('no VHD footer (cookie "conectix") found');
    if (BigInt(disk.size) > limit) throw new VhdError(`VHD virtual size ${disk.size} exceeds the VDI's ${limit}`);
    const old = Buffer.alloc(COPY_PIECE);
    for (const e of await disk.extents()) {
      if (e.kind !== 'data') continue;
      for (let off = e.offset; off < e.offset + e.length; off += COPY_PIECE) {
        const n = Math.min(COPY_PIECE, e.offset + e.length - off);
        const data = Buffer.from(await disk.read(off, n));
        // A fixed VHD reports all of itself as data; keep the VDI file sparse where both are zero.
        if (isZero(data)) {
          const { bytesRead } = await raw.read(old, 0, n, off);
          if (isZero(old.subarray(0, bytesRead))) continue;
        }
        await raw.write(data, 0, n, off);
      }
    }
  } finally {
    await disk.close();
  }
}

/** Footer type 4 (differencing) → 3 (dynamic), checksum redone, in the footer and its copy at 0. */
async function relabelDifferencing(spool: FileHandle, length: number): Promise<void> {
  const f = Buffer.alloc(FOOTER);
  for (const at of length >= 2 * FOOTER ? [length - FOOTER, 0] : []) {
    await spool.read(f, 0, FOOTER, at);
    if (f.toString('latin1', 0, 8) !== 'conectix' || f.readUInt32BE(60) !== 4 || f.readUInt32BE(64) !== checksum(f, 64)) continue;
    f.writeUInt32BE(3, 60);
    f.writeUInt32BE(checksum(f, 64), 64);
    await spool.write(f, 0, FOOTER, at);
  }
}
