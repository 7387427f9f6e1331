import { DiskError } from '../../block/errors.js';

export const FOOTER_SIZE = 512;
export const HEADER_SIZE = 1024;
export const DISK_FIXED = 2;
export const DISK_DYNAMIC = 3;
export const DISK_DIFFERENCING = 4;
export const BAT_UNUSED = 0xffffffff;
const NO_OFFSET = 0xffffffffffffffffn;

export interface VhdFooter {
  dataOffset: number | null;
  creatorApp: string;
  originalSize: number;
  currentSize: number;
  /** Size the CHS geometry describes (cylinders × heads × sectors × 512), which Virtual PC uses. */
  chsSize: number;
  diskType: number;
  uuid: string;
}

export interface ParentLocator {
  platformCode: string;
  dataSpace: number;
  dataLength: number;
  dataOffset: number;
}

export interface VhdDynamicHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  parentUuid: string;
  parentName: string;
  locators: ParentLocator[];
}

/** One's complement of the byte sum, with the checksum field itself counted as zero. */
export function vhdChecksum(buf: Uint8Array, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += buf[i] ?? 0;
  return ~sum >>> 0;
}

function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function safeU64(b: Buffer, o: number, path: string, field: string, code: string): number | null {
  const v = b.readBigUInt64BE(o);
  if (v === NO_OFFSET) return null;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DiskError(code, `${path}: VHD field ${field} (${v}) is out of range`, { path, field });
  }
  return Number(v);
}

/** True when the 8 bytes at `at` are the footer cookie "conectix". */
export function hasFooterCookie(b: Uint8Array, at = 0): boolean {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', at, at + 8) === 'conectix';
}

export function parseFooter(b: Buffer, path: string): VhdFooter {
  const bad = (msg: string, code = 'E_VHD_BAD_FOOTER'): DiskError => new DiskError(code, `${path}: ${msg}`, { path });
  if (b.length < FOOTER_SIZE - 1 || !hasFooterCookie(b)) throw bad('no VHD footer cookie "conectix"');
  // Old Virtual PC images have a 511-byte footer; pad it so the checksum covers the same bytes.
  const f = b.length === FOOTER_SIZE ? b : Buffer.concat([b, Buffer.alloc(FOOTER_SIZE - b.length)]);
  const stored = f.readUInt32BE(64); // 64: checksum
  if (stored !== vhdChecksum(f, 64)) throw bad(`footer checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${vhdChecksum(f, 64).toString(16)})`, 'E_VHD_BAD_CHECKSUM');
  const version = f.readUInt32BE(12); // 12: file format version, major 1
  if (version >>> 16 !== 1) throw bad(`unsupported VHD file format version 0x${version.toString(16)}`);
  const dataOffset = safeU64(f, 16, path, 'data_offset', 'E_VHD_BAD_FOOTER'); // 16: u64 → dynamic header
  const creatorApp = f.toString('latin1', 28, 32); // 28: creator application (24: timestamp)
  const originalSize = safeU64(f, 40, path, 'original_size', 'E_VHD_TOO_LARGE') ?? 0; // 40: u64
  const currentSize = safeU64(f, 48, path, 'current_size', 'E_VHD_TOO_LARGE'); // 48: u64
  if (currentSize === null) throw bad('current_size is out of range', 'E_VHD_TOO_LARGE');
  const chsSize = f.readUInt16BE(56) * (f[58] ?? 0) * (f[59] ?? 0) * 512; // 56: cylinders u16, heads u8, sectors u8
  const diskType = f.readUInt32BE(60); // 60: disk type
  if (diskType !== DISK_FIXED && diskType !== DISK_DYNAMIC && diskType !== DISK_DIFFERENCING) {
    throw bad(`unsupported VHD disk type ${diskType}`, 'E_VHD_UNSUPPORTED');
  }
  if (diskType !== DISK_FIXED && dataOffset === null) throw bad('dynamic VHD footer has no header offset');
  // 68: uuid (16 bytes); 84: saved state
  return { dataOffset, creatorApp, originalSize, currentSize, chsSize, diskType, uuid: uuidString(f.subarray(68, 84)) };
}

export function parseDynamicHeader(b: Buffer, path: string): VhdDynamicHeader {
  const bad = (msg: string, code = 'E_VHD_BAD_HEADER'): DiskError => new DiskError(code, `${path}: ${msg}`, { path });
  if (b.toString('latin1', 0, 8) !== 'cxsparse') throw bad('dynamic header has no "cxsparse" cookie'); // 0: cookie
  const stored = b.readUInt32BE(36); // 36: checksum
  if (stored !== vhdChecksum(b, 36)) throw bad(`dynamic header checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${vhdChecksum(b, 36).toString(16)})`, 'E_VHD_BAD_CHECKSUM');
  // 8: data offset (unused, all ones)
  const tableOffset = safeU64(b, 16, path, 'table_offset', 'E_VHD_BAD_HEADER'); // 16: u64 BAT offset
  if (tableOffset === null) throw bad('dynamic header has no BAT offset');
  // 24: header version
  const maxTableEntries = b.readUInt32BE(28); // 28: u32
  const blockSize = b.readUInt32BE(32); // 32: u32
  if (blockSize < 512 || blockSize > 256 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw bad(`block size ${blockSize} is not a power of two between 512 B and 256 MiB`);
  }
  const parentUuid = uuidString(b.subarray(40, 56)); // 40: parent uuid; 56: parent timestamp
  const parentName = b.subarray(64, 576).swap16().toString('utf16le').replace(/\0.*$/s, ''); // 64: UTF-16BE, 512 bytes
  b.subarray(64, 576).swap16(); // undo the in-place swap
  const locators: ParentLocator[] = [];
  for (let i = 0; i < 8; i++) {
    const o = 576 + i * 24; // 576: 8 parent locator entries of 24 bytes
    const code = b.readUInt32BE(o); // +0: platform code
    if (code === 0) continue;
    locators.push({
      platformCode: b.toString('latin1', o, o + 4),
      dataSpace: b.readUInt32BE(o + 4), // +4: space (sectors, or bytes in old images)
      dataLength: b.readUInt32BE(o + 8), // +8: length in bytes; +12 reserved
      dataOffset: safeU64(b, o + 16, path, 'parent locator offset', 'E_VHD_BAD_HEADER') ?? 0, // +16: u64
    });
  }
  return { tableOffset, maxTableEntries, blockSize, parentUuid, parentName, locators };
}
