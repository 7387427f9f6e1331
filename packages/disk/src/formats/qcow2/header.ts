import { DiskError } from '../../block/errors.js';
import type { HostFile } from '../../block/host.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Incompatible feature bits this reader understands (qcow2.txt "incompatible_features"). */
export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
const KNOWN_INCOMPAT = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

const EXT_END = 0x00000000;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const EXT_DATA_FILE = 0x44415441;

/** qemu's limits (block/qcow2.h): cluster_bits 9..21, L1 ≤ 32 MiB, backing name ≤ 1023 bytes. */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_BACKING_NAME = 1023;
const V2_HEADER_LENGTH = 72;
const V3_MIN_HEADER_LENGTH = 104;

export interface Qcow2Header {
  version: 2 | 3;
  backingFile: string | null;
  backingFormat: string | null;
  clusterBits: number;
  clusterSize: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  incompatible: bigint;
  compatible: bigint;
  refcountOrder: number;
  headerLength: number;
  /** 0 zlib, 1 zstd. */
  compressionType: number;
  dirty: boolean;
  corrupt: boolean;
}

/**
 * Parse and verify the qcow2 header, its extensions and the backing file name. Everything the
 * header points at (L1, refcount table) is checked to lie inside the file; refusals (encryption,
 * external data file, unknown incompatible features) are coded errors.
 */
export async function readQcow2Header(file: HostFile): Promise<Qcow2Header> {
  const path = file.path;
  const bad = (code: string, msg: string, extra: Record<string, unknown> = {}): DiskError =>
    new DiskError(code, `${path}: ${msg}`, { path, ...extra });
  if (file.size < V2_HEADER_LENGTH) throw bad('E_QCOW2_TRUNCATED', `file is ${file.size} bytes, shorter than a qcow2 header`);
  let buf = await file.readAt(0, Math.min(file.size, 4096), 'qcow2 header');
  const u32 = (o: number): number => buf.readUInt32BE(o);
  const u64 = (o: number): bigint => buf.readBigUInt64BE(o);
  const safe = (o: number, field: string): number => {
    const v = u64(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('E_QCOW2_BAD_HEADER', `header field ${field} (${v}) is out of range`, { field });
    return Number(v);
  };

  if (u32(0) !== QCOW2_MAGIC) throw bad('E_QCOW2_BAD_MAGIC', 'not a qcow2 image (bad magic)');
  const version = u32(4); // 4: version
  if (version !== 2 && version !== 3) throw bad('E_QCOW2_BAD_VERSION', `unsupported qcow2 version ${version}`, { version });
  const backingFileOffset = safe(8, 'backing_file_offset'); // 8: u64
  const backingFileSize = u32(16); // 16: u32
  const clusterBits = u32(20); // 20: u32
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw bad('E_QCOW2_BAD_HEADER', `cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`, { clusterBits });
  }
  const clusterSize = 2 ** clusterBits;
  const sizeBig = u64(24); // 24: u64 virtual size
  if (sizeBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw bad('E_QCOW2_TOO_LARGE', `virtual size ${sizeBig} is larger than this reader can address (2^53 bytes)`, { size: String(sizeBig) });
  }
  const size = Number(sizeBig);
  const cryptMethod = u32(32); // 32: u32 crypt_method
  const l1Size = u32(36); // 36: u32 l1_size (entries)
  const l1TableOffset = safe(40, 'l1_table_offset'); // 40: u64
  const refcountTableOffset = safe(48, 'refcount_table_offset'); // 48: u64
  const refcountTableClusters = u32(56); // 56: u32
  const nbSnapshots = u32(60); // 60: u32 (64: u64 snapshots_offset — snapshots are not read)

  let incompatible = 0n;
  let compatible = 0n;
  let refcountOrder = 4;
  let headerLength = V2_HEADER_LENGTH;
  let compressionType = 0;
  if (version === 3) {
    if (buf.length < V3_MIN_HEADER_LENGTH) throw bad('E_QCOW2_TRUNCATED', 'file ends inside the qcow2 v3 header');
    incompatible = u64(72); // 72: u64 incompatible_features
    compatible = u64(80); // 80: u64 compatible_features (88: autoclear, ignored when reading)
    refcountOrder = u32(96); // 96: u32 refcount_order
    headerLength = u32(100); // 100: u32 header_length
    if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > Math.min(clusterSize, buf.length)) {
      throw bad('E_QCOW2_BAD_HEADER', `header_length ${headerLength} is invalid`, { headerLength });
    }
    if (refcountOrder > 6) throw bad('E_QCOW2_BAD_HEADER', `refcount_order ${refcountOrder} is above 6`, { refcountOrder });
    if (headerLength > 104) compressionType = buf[104] ?? 0; // 104: u8 compression_type
  }

  if (cryptMethod !== 0) {
    throw bad('E_QCOW2_ENCRYPTED', `image is encrypted (crypt_method ${cryptMethod === 1 ? 'AES' : cryptMethod === 2 ? 'LUKS' : cryptMethod}); encrypted images are not supported`, { cryptMethod });
  }

  // Extensions and the backing name live in the first cluster; read more of it only when needed.
  const need = async (end: number): Promise<void> => {
    if (end > clusterSize || end > file.size) throw bad('E_QCOW2_BAD_HEADER', `header data at ${end} runs past the first cluster or EOF`);
    if (end > buf.length) buf = await file.readAt(0, Math.min(clusterSize, file.size), 'qcow2 header cluster');
  };
  let backingFormat: string | null = null;
  let hasDataFile = false;
  const featureNames = new Map<number, string>();
  let off = headerLength;
  const extEnd = backingFileOffset > 0 ? Math.min(backingFileOffset, clusterSize) : clusterSize;
  for (let i = 0; off + 8 <= extEnd && i < clusterSize / 8; i++) {
    await need(off + 8);
    const type = u32(off);
    const len = u32(off + 4);
    if (type === EXT_END) break;
    const dataEnd = off + 8 + len;
    if (dataEnd > extEnd) throw bad('E_QCOW2_BAD_HEADER', `header extension 0x${type.toString(16)} (${len} bytes) overruns the header area`);
    await need(dataEnd);
    const data = buf.subarray(off + 8, dataEnd);
    if (type === EXT_BACKING_FORMAT) backingFormat = data.toString('latin1').replace(/\0.*$/s, '');
    else if (type === EXT_DATA_FILE) hasDataFile = true;
    else if (type === EXT_FEATURE_NAMES) {
      for (let e = 0; e + 48 <= data.length; e += 48) {
        if (data[e] === 0) featureNames.set(data[e + 1] ?? 0, data.subarray(e + 2, e + 48).toString('latin1').replace(/\0.*$/s, ''));
      }
    }
    off = dataEnd + ((8 - (len % 8)) % 8);
  }

  if ((incompatible & INCOMPAT_DATA_FILE) !== 0n || hasDataFile) {
    throw bad('E_QCOW2_EXTERNAL_DATA', 'image keeps its data in an external data file, which is not supported');
  }
  const unknown = incompatible & ~KNOWN_INCOMPAT;
  if (unknown !== 0n) {
    const bits = [...Array(64).keys()].filter((b) => (unknown >> BigInt(b)) & 1n);
    const names = bits.map((b) => featureNames.get(b) ?? `bit ${b}`);
    throw bad('E_QCOW2_UNKNOWN_FEATURE', `image uses incompatible features this reader does not know: ${names.join(', ')}`, { bits });
  }
  if ((incompatible & INCOMPAT_EXTL2) !== 0n) {
    throw bad('E_QCOW2_UNSUPPORTED', 'image uses extended L2 entries (subclusters), which are not supported');
  }
  if ((incompatible & INCOMPAT_COMPRESSION) !== 0n ? compressionType > 1 : compressionType !== 0) {
    throw bad('E_QCOW2_BAD_HEADER', `compression_type ${compressionType} is invalid or unsupported`, { compressionType });
  }

  let backingFile: string | null = null;
  if (backingFileOffset !== 0) {
    if (backingFileSize === 0 || backingFileSize > MAX_BACKING_NAME) {
      throw bad('E_QCOW2_BAD_HEADER', `backing file name length ${backingFileSize} is invalid`, { backingFileSize });
    }
    await need(backingFileOffset + backingFileSize);
    backingFile = buf.subarray(backingFileOffset, backingFileOffset + backingFileSize).toString('utf8');
    if (backingFile.includes('\0')) throw bad('E_QCOW2_BAD_HEADER', 'backing file name contains a NUL byte');
  }

  // What the header points at must lie inside the file and be cluster-aligned.
  const l2Entries = clusterSize / 8;
  const l1Needed = Math.ceil(size / clusterSize / l2Entries);
  if (l1Size < l1Needed) throw bad('E_QCOW2_BAD_HEADER', `L1 table has ${l1Size} entries but the virtual size needs ${l1Needed}`, { l1Size, l1Needed });
  if (l1Size * 8 > MAX_L1_BYTES) throw bad('E_QCOW2_TOO_LARGE', `L1 table of ${l1Size} entries exceeds qemu's 32 MiB limit`, { l1Size });
  if (l1Size > 0) {
    if (l1TableOffset % clusterSize !== 0) throw bad('E_QCOW2_BAD_HEADER', `L1 table offset ${l1TableOffset} is not cluster-aligned`);
    file.checkInside(l1TableOffset, l1Needed * 8, 'qcow2 L1 table');
  }
  if (refcountTableOffset % clusterSize !== 0) throw bad('E_QCOW2_BAD_HEADER', `refcount table offset ${refcountTableOffset} is not cluster-aligned`);
  file.checkInside(refcountTableOffset, refcountTableClusters * clusterSize, 'qcow2 refcount table');

  return {
    version,
    backingFile,
    backingFormat,
    clusterBits,
    clusterSize,
    size,
    cryptMethod,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters,
    nbSnapshots,
    incompatible,
    compatible,
    refcountOrder,
    headerLength,
    compressionType,
    dirty: (incompatible & INCOMPAT_DIRTY) !== 0n,
    corrupt: (incompatible & INCOMPAT_CORRUPT) !== 0n,
  };
}
