import { constants, inflateRawSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { DiskError } from '../../block/errors.js';

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Inflate one compressed cluster. qemu stores a cluster's deflate stream (zlib, raw, no header) or a
 * single zstd frame, padded to whole sectors; the padding must be ignored and the output is exactly
 * one cluster.
 */
export function decompressCluster(data: Buffer, clusterSize: number, type: number, path: string, hostOffset: number): Uint8Array {
  let out: Uint8Array;
  try {
    if (type === 0) {
      out = inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: clusterSize });
    } else {
      const frame = data.subarray(0, zstdFrameLength(data, clusterSize));
      out = zstdDecompress(frame, new Uint8Array(clusterSize));
    }
  } catch (e) {
    throw new DiskError('E_QCOW2_BAD_COMPRESSED', `${path}: compressed cluster at host offset ${hostOffset} does not decompress (${(e as Error).message})`, {
      path,
      hostOffset,
      compression: type === 0 ? 'zlib' : 'zstd',
    });
  }
  if (out.length !== clusterSize) {
    throw new DiskError('E_QCOW2_BAD_COMPRESSED', `${path}: compressed cluster at host offset ${hostOffset} inflates to ${out.length} bytes, not ${clusterSize}`, {
      path,
      hostOffset,
    });
  }
  return out;
}

/**
 * Length of the zstd frame at the start of `b` (RFC 8878 §3.1.1), so the sector padding after it is
 * not mistaken for another frame. Also refuses frames that declare more content than one cluster.
 */
function zstdFrameLength(b: Buffer, clusterSize: number): number {
  const fail = (why: string): never => {
    throw new Error(`zstd frame: ${why}`);
  };
  if (b.length < 6 || b.readUInt32LE(0) !== ZSTD_MAGIC) fail('bad magic');
  const fhd = b[4] ?? 0; // frame header descriptor
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][fhd & 3] ?? 0;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag] ?? 0;
  let pos = 5 + (singleSegment ? 0 : 1) + dictIdSize;
  if (pos + fcsSize > b.length) fail('truncated header');
  if (fcsSize > 0) {
    let fcs = 0;
    for (let i = fcsSize - 1; i >= 0; i--) fcs = fcs * 256 + (b[pos + i] ?? 0);
    if (fcsSize === 2) fcs += 256;
    if (fcs > clusterSize) fail(`declares ${fcs} bytes of content`);
  }
  pos += fcsSize;
  for (;;) {
    if (pos + 3 > b.length) fail('truncated block header');
    const h = (b[pos] ?? 0) | ((b[pos + 1] ?? 0) << 8) | ((b[pos + 2] ?? 0) << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) fail('reserved block type');
    pos += 3 + (type === 1 ? 1 : size);
    if (pos > b.length) fail('truncated block');
    if (last) break;
  }
  pos += checksum ? 4 : 0;
  if (pos > b.length) fail('truncated checksum');
  return pos;
}
