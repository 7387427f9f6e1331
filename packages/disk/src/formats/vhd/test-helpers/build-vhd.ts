// Writes dynamic and differencing VHDs byte by byte, for the tests: qemu-img cannot create a
// differencing VHD, so the structures are laid out here per the VHD spec and the result is
// cross-checked against libvhdi (pyvhdi), an independent reader.
import { vhdChecksum } from '../structs.js';

export interface BuiltBlock {
  index: number;
  /** One bit per sector, MSB first; a set bit means the sector is stored in this file. */
  bitmap: Uint8Array;
  data: Buffer;
}

export interface BuildVhdOptions {
  size: number;
  blockSize?: number;
  uuid: Buffer;
  blocks: BuiltBlock[];
  parent?: { uuid: Buffer; name: string; locators: { code: 'W2ku' | 'W2ru' | 'MacX'; data: Buffer }[] };
}

export function buildVhd(o: BuildVhdOptions): Buffer {
  const blockSize = o.blockSize ?? 2 * 1024 * 1024;
  const entries = Math.ceil(o.size / blockSize);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const bitmapSize = Math.ceil(blockSize / 512 / 8 / 512) * 512;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(1024);
  const bat = Buffer.alloc(batBytes, 0xff);
  let pos = 512 + 1024 + batBytes;
  const locatorParts: Buffer[] = [];
  (o.parent?.locators ?? []).forEach((l, i) => {
    const space = Math.ceil(l.data.length / 512) * 512;
    const e = 576 + i * 24;
    header.write(l.code, e, 'latin1');
    header.writeUInt32BE(space / 512, e + 4);
    header.writeUInt32BE(l.data.length, e + 8);
    header.writeBigUInt64BE(BigInt(pos), e + 16);
    locatorParts.push(Buffer.concat([l.data, Buffer.alloc(space - l.data.length)]));
    pos += space;
  });
  const blockParts: Buffer[] = [];
  for (const b of o.blocks) {
    bat.writeUInt32BE(pos / 512, b.index * 4);
    const bm = Buffer.alloc(bitmapSize);
    bm.set(b.bitmap);
    blockParts.push(bm, b.data);
    pos += bitmapSize + b.data.length;
  }
  header.write('cxsparse', 0, 'latin1');
  header.writeBigUInt64BE(0xffffffffffffffffn, 8);
  header.writeBigUInt64BE(1536n, 16);
  header.writeUInt32BE(0x00010000, 24);
  header.writeUInt32BE(entries, 28);
  header.writeUInt32BE(blockSize, 32);
  if (o.parent) {
    o.parent.uuid.copy(header, 40);
    Buffer.from(o.parent.name, 'utf16le').swap16().copy(header, 64);
  }
  header.writeUInt32BE(vhdChecksum(header, 36), 36);

  const footer = Buffer.alloc(512);
  footer.write('conectix', 0, 'latin1');
  footer.writeUInt32BE(2, 8);
  footer.writeUInt32BE(0x00010000, 12);
  footer.writeBigUInt64BE(512n, 16);
  footer.write('tap\0', 28, 'latin1');
  footer.writeUInt32BE(0x00010003, 32);
  footer.write('Wi2k', 36, 'latin1');
  footer.writeBigUInt64BE(BigInt(o.size), 40);
  footer.writeBigUInt64BE(BigInt(o.size), 48);
  footer.writeUInt16BE(Math.min(65535, Math.ceil(o.size / (16 * 63 * 512))), 56);
  footer[58] = 16;
  footer[59] = 63;
  footer.writeUInt32BE(o.parent ? 4 : 3, 60);
  o.uuid.copy(footer, 68);
  footer.writeUInt32BE(vhdChecksum(footer, 64), 64);
  parts.push(footer, header, bat, ...locatorParts, ...blockParts, footer);
  return Buffer.concat(parts);
}

/** Locator payloads as Windows and blktap write them. */
export const locator = {
  w2ru: (rel: string): Buffer => Buffer.from(rel.replace(/\//g, '\\'), 'utf16le'),
  w2ku: (abs: string): Buffer => Buffer.from(abs, 'utf16le'),
  macx: (url: string): Buffer => Buffer.from(url, 'utf8'),
};
