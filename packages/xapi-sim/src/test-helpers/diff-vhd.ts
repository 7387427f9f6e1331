// A differencing VHD laid out per the VHD spec, for import tests: qemu-img cannot make one. Only what
// a child needs: footer (type 4), dynamic header with the parent's UUID, BAT, and blocks with bitmaps.

/** One's complement of the byte sum, skipping the 4-byte checksum field at `at`. */
function vhdSum(b: Buffer, at: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < at || i >= at + 4) sum = (sum + (b[i] as number)) >>> 0;
  return ~sum >>> 0;
}

export interface DiffBlock {
  index: number;
  /** Sectors [from, to) stored in the child; every other sector of the block is the parent's. */
  sectors: Array<[number, number]>;
  /** The whole 2 MiB block as stored, including sectors the bitmap leaves to the parent. */
  data: Buffer;
}

export function differencingVhd(size: number, uuid: Buffer, parentUuid: Buffer, blocks: DiffBlock[]): Buffer {
  const BLOCK = 2 * 1024 * 1024;
  const entries = Math.ceil(size / BLOCK);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const bat = Buffer.alloc(batBytes, 0xff);
  const body: Buffer[] = [];
  let pos = 512 + 1024 + batBytes;
  for (const b of blocks) {
    bat.writeUInt32BE(pos / 512, b.index * 4);
    const bitmap = Buffer.alloc(512);
    for (const [from, to] of b.sectors) for (let s = from; s < to; s++) bitmap[s >> 3] = (bitmap[s >> 3] as number) | (0x80 >> (s & 7));
    body.push(bitmap, b.data);
    pos += 512 + BLOCK;
  }
  // Dynamic header: 0 cookie · 8 data offset · 16 BAT offset · 24 version · 28 entries · 32 block size
  // · 36 checksum · 40 parent uuid · 56 parent timestamp · 64 parent name (UTF-16BE).
  const header = Buffer.alloc(1024);
  header.write('cxsparse', 0, 'latin1');
  header.writeBigUInt64BE(0xffffffffffffffffn, 8);
  header.writeBigUInt64BE(1536n, 16);
  header.writeUInt32BE(0x00010000, 24);
  header.writeUInt32BE(entries, 28);
  header.writeUInt32BE(BLOCK, 32);
  parentUuid.copy(header, 40);
  Buffer.from('parent.vhd', 'utf16le').swap16().copy(header, 64);
  header.writeUInt32BE(vhdSum(header, 36), 36);
  // Footer: 0 cookie · 8 features · 12 version · 16 data offset · 28 creator · 40/48 sizes · 56 CHS
  // · 60 type (4 = differencing) · 64 checksum · 68 uuid.
  const footer = Buffer.alloc(512);
  footer.write('conectix', 0, 'latin1');
  footer.writeUInt32BE(2, 8);
  footer.writeUInt32BE(0x00010000, 12);
  footer.writeBigUInt64BE(512n, 16);
  footer.write('tap\0', 28, 'latin1');
  footer.writeBigUInt64BE(BigInt(size), 40);
  footer.writeBigUInt64BE(BigInt(size), 48);
  footer.writeUInt16BE(Math.min(65535, Math.ceil(size / (16 * 63 * 512))), 56);
  footer[58] = 16;
  footer[59] = 63;
  footer.writeUInt32BE(4, 60);
  uuid.copy(footer, 68);
  footer.writeUInt32BE(vhdSum(footer, 64), 64);
  return Buffer.concat([footer, header, bat, ...body, footer]);
}
