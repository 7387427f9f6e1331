// CRC32c (Castagnoli, reflected polynomial 0x82F63B78), shared by ext4's and XFS's metadata checksums.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * The raw update, without the initial and final inversion, as Linux's `crc32c(crc, p, len)`: ext4 chains
 * these (filesystem seed → inode number → generation → structure) and stores the result uninverted.
 */
export function crc32cUpdate(crc: number, b: Uint8Array, start = 0, end = b.length): number {
  let c = crc >>> 0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c >>> 0;
}

/** Standard CRC32c of `b` with the 4 bytes at `holeOff` taken as zero (XFS v5 metadata). */
export function crc32cWithHole(b: Uint8Array, holeOff: number): number {
  const zeros = new Uint8Array(4);
  let c = crc32cUpdate(0xffffffff, b, 0, Math.min(holeOff, b.length));
  if (holeOff < b.length) {
    c = crc32cUpdate(c, zeros, 0, Math.min(4, b.length - holeOff));
    c = crc32cUpdate(c, b, Math.min(holeOff + 4, b.length), b.length);
  }
  return (c ^ 0xffffffff) >>> 0;
}
