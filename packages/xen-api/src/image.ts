import { open } from 'node:fs/promises';
import { InputError, toXenkitError } from '@xenkit/core';
import { RawSource, type BlockSource } from '@xenkit/disk';

/**
 * What `vdi import` uploads for a file: a VHD goes to XAPI as VHD (it is already sparse, and XAPI
 * parses it), anything else as a raw disk through its extent map. qcow2 needs @xenkit/disk's qcow2
 * BlockSource, which the disk helpers deliver; until then it is refused rather than sent as raw bytes.
 */
export type UploadImage = { kind: 'vhd'; file: string; size: number } | { kind: 'raw'; source: BlockSource };

// VHD footer (last 512 bytes; a dynamic disk also has a copy at offset 0), big-endian:
//   @0 cookie "conectix" (8) · @48 current size u64 (the virtual size) · @60 disk type u32
//   (2 fixed, 3 dynamic, 4 differencing)
const VHD_COOKIE = 'conectix';
const VHD_FOOTER = 512;
const QCOW_MAGIC = 0x514649fb; // "QFI\xfb" at offset 0

export async function openUploadImage(path: string): Promise<UploadImage> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw toXenkitError(e, { path });
  }
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    if (size >= 8 && head.readUInt32BE(0) === QCOW_MAGIC) {
      throw new InputError('E_XAPI_IMAGE_FORMAT', `${path}: qcow2 images cannot be uploaded yet; convert it (qemu-img convert -O vpc) first`, {
        details: { path, format: 'qcow2' },
      });
    }
    if (size >= VHD_FOOTER && size % VHD_FOOTER === 0) {
      const footer = Buffer.alloc(VHD_FOOTER);
      await fh.read(footer, 0, VHD_FOOTER, size - VHD_FOOTER);
      if (footer.toString('latin1', 0, 8) === VHD_COOKIE) {
        const type = footer.readUInt32BE(60);
        if (type === 4) {
          throw new InputError('E_XAPI_IMAGE_FORMAT', `${path}: a differencing VHD needs its parent; upload a coalesced image`, {
            details: { path, format: 'vhd', diskType: type },
          });
        }
        const virtual = Number(footer.readBigUInt64BE(48));
        if (type !== 2 && type !== 3) {
          throw new InputError('E_XAPI_IMAGE_FORMAT', `${path}: VHD disk type ${type} is not fixed (2) or dynamic (3)`, { details: { path, diskType: type } });
        }
        return { kind: 'vhd', file: path, size: virtual };
      }
    }
  } finally {
    await fh.close();
  }
  return { kind: 'raw', source: await RawSource.open(path) };
}
