import { open } from 'node:fs/promises';
import { InputError, toXenkitError } from '@xenkit/core';
import { openDisk, type BlockSource } from '@xenkit/disk';

/**
 * What `vdi import` uploads for a file: a standalone VHD goes to XAPI as VHD (it is already sparse,
 * and XAPI parses it); everything else — raw, qcow2, a differencing VHD or any backing chain — is
 * opened by @xenkit/disk's openDisk and sent as its merged virtual disk, raw with XAPI's chunked
 * framing, only the allocated data on the wire.
 */
export type UploadImage = { kind: 'vhd'; file: string; size: number } | { kind: 'raw'; source: BlockSource };

// VHD footer (last 512 bytes; a dynamic disk also has a copy at offset 0), big-endian:
//   @0 cookie "conectix" (8) · @48 current size u64 (the virtual size) · @60 disk type u32
//   (2 fixed, 3 dynamic, 4 differencing)
const VHD_COOKIE = 'conectix';
const VHD_FOOTER = 512;

export async function openUploadImage(path: string): Promise<UploadImage> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw toXenkitError(e, { path });
  }
  try {
    const { size } = await fh.stat();
    if (size >= VHD_FOOTER && size % VHD_FOOTER === 0) {
      const footer = Buffer.alloc(VHD_FOOTER);
      await fh.read(footer, 0, VHD_FOOTER, size - VHD_FOOTER);
      if (footer.toString('latin1', 0, 8) === VHD_COOKIE) {
        const type = footer.readUInt32BE(60);
        const virtual = Number(footer.readBigUInt64BE(48));
        if (type === 2 || type === 3) return { kind: 'vhd', file: path, size: virtual };
        if (type !== 4) {
          throw new InputError('E_XAPI_IMAGE_FORMAT', `${path}: VHD disk type ${type} is not fixed, dynamic or differencing`, { details: { path, diskType: type } });
        }
      }
    }
  } finally {
    await fh.close();
  }
  return { kind: 'raw', source: await openDisk(path) };
}
