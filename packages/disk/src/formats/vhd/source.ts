import { BoundedCache } from '../../block/bounded-cache.js';
import { DiskError } from '../../block/errors.js';
import { BackingExtents, ExtentBuilder, readBacking } from '../../block/extents.js';
import type { HostFile } from '../../block/host.js';
import { checkRange } from '../../block/raw.js';
import type { BlockSource, Extent } from '../../block/types.js';
import type { VhdMeta } from './meta.js';
import { BAT_UNUSED, DISK_DIFFERENCING } from './structs.js';

const SECTOR = 512;
const BITMAP_CACHE_ENTRIES = 4096;

interface Bitmap {
  bits: Uint8Array;
  /** Every sector of the block is present: the common case, read in one go. */
  full: boolean;
}

/**
 * A VHD image. Fixed: the data is the file up to the footer. Dynamic and differencing: a BAT maps
 * each block to a sector bitmap followed by the block's data; a clear bitmap bit means the sector
 * comes from the parent (differencing) or reads as zeros (dynamic), as blktap reads them.
 */
export class VhdSource implements BlockSource {
  readonly format = 'vhd';
  readonly size: number;
  readonly uuid: string;
  readonly subformat: 'fixed' | 'dynamic' | 'differencing';
  private readonly blockSize: number;
  private readonly bitmapSize: number;
  private readonly bitmaps = new BoundedCache<number, Promise<Bitmap>>(BITMAP_CACHE_ENTRIES);
  private readonly backingExtents: BackingExtents;

  private constructor(
    readonly path: string,
    private readonly file: HostFile,
    meta: VhdMeta,
    private readonly bat: Uint32Array | null,
    readonly backing: BlockSource | null,
  ) {
    this.size = meta.footer.currentSize;
    this.uuid = meta.footer.uuid;
    this.blockSize = meta.header?.blockSize ?? 0;
    this.bitmapSize = Math.ceil(this.blockSize / SECTOR / 8 / SECTOR) * SECTOR;
    this.subformat = meta.header === null ? 'fixed' : meta.footer.diskType === DISK_DIFFERENCING ? 'differencing' : 'dynamic';
    this.backingExtents = new BackingExtents(backing);
  }

  get bytesRead(): number {
    return this.file.bytesRead + (this.backing?.bytesRead ?? 0);
  }

  /** Load and verify the BAT: every allocated block must lie inside the file, before the footer. */
  static async open(file: HostFile, meta: VhdMeta, backing: BlockSource | null): Promise<VhdSource> {
    if (meta.header === null) return new VhdSource(file.path, file, meta, null, null);
    const { blockSize, tableOffset } = meta.header;
    const blocks = Math.ceil(meta.footer.currentSize / blockSize);
    const raw = await file.readAt(tableOffset, blocks * 4, 'VHD block allocation table');
    const bat = new Uint32Array(blocks);
    const bitmapSize = Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR;
    for (let i = 0; i < blocks; i++) {
      const s = raw.readUInt32BE(i * 4);
      bat[i] = s;
      if (s === BAT_UNUSED) continue;
      const need = bitmapSize + Math.min(blockSize, meta.footer.currentSize - i * blockSize);
      if (s * SECTOR + need > meta.footerOffset) {
        throw new DiskError('E_VHD_PAST_EOF', `${file.path}: BAT entry ${i} places block at sector ${s}, past the end of the ${file.size}-byte file`, {
          path: file.path,
          block: i,
          sector: s,
        });
      }
    }
    return new VhdSource(file.path, file, meta, bat, backing);
  }

  private bitmap(block: number, sector: number): Promise<Bitmap> {
    return this.bitmaps.load(block, () =>
      this.file.readAt(sector * SECTOR, this.bitmapSize, `VHD sector bitmap of block ${block}`).then((bits) => {
        const used = Math.ceil(Math.min(this.blockSize, this.size - block * this.blockSize) / SECTOR);
        let full = true;
        for (let s = 0; s < used && full; s++) full = ((bits[s >> 3] ?? 0) & (0x80 >> (s & 7))) !== 0;
        return { bits, full };
      }),
    );
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    const out = Buffer.alloc(length);
    if (this.bat === null) {
      if (length > 0) await this.file.readInto(out, 0, length, offset);
      return out;
    }
    const end = offset + length;
    for (let pos = offset; pos < end; ) {
      const block = Math.floor(pos / this.blockSize);
      const inBlock = pos - block * this.blockSize;
      const n = Math.min(end - pos, this.blockSize - inBlock);
      await this.readInBlock(block, inBlock, out, pos - offset, pos, n);
      pos += n;
    }
    return out;
  }

  private async readInBlock(block: number, inBlock: number, out: Buffer, outOff: number, vOff: number, n: number): Promise<void> {
    const sector = (this.bat as Uint32Array)[block] as number;
    if (sector === BAT_UNUSED) return readBacking(this.backing, out, outOff, vOff, n);
    const dataStart = sector * SECTOR + this.bitmapSize;
    const bm = await this.bitmap(block, sector);
    if (bm.full) return this.file.readInto(out, outOff, n, dataStart + inBlock);
    // Walk runs of equal bitmap bits; each run comes from this file or from the parent.
    let p = inBlock;
    const stop = inBlock + n;
    while (p < stop) {
      const present = bitSet(bm.bits, Math.floor(p / SECTOR));
      let q = (Math.floor(p / SECTOR) + 1) * SECTOR;
      while (q < stop && bitSet(bm.bits, q / SECTOR) === present) q += SECTOR;
      q = Math.min(q, stop);
      if (present) await this.file.readInto(out, outOff + (p - inBlock), q - p, dataStart + p);
      else if (this.subformat === 'differencing') await readBacking(this.backing, out, outOff + (p - inBlock), vOff + (p - inBlock), q - p);
      p = q;
    }
  }

  async extents(): Promise<Extent[]> {
    const b = new ExtentBuilder();
    if (this.bat === null) {
      b.push(0, this.size, 'data');
      return b.list;
    }
    const absent = async (a: number, z: number): Promise<void> =>
      this.subformat === 'differencing' ? this.backingExtents.fill(b, a, z) : b.push(a, z - a, 'zero');
    for (let i = 0; i < this.bat.length; i++) {
      const base = i * this.blockSize;
      const limit = Math.min(this.size, base + this.blockSize);
      const sector = this.bat[i] as number;
      if (sector === BAT_UNUSED) {
        await absent(base, limit);
        continue;
      }
      const bm = await this.bitmap(i, sector);
      if (bm.full) {
        b.push(base, limit - base, 'data');
        continue;
      }
      for (let p = base; p < limit; ) {
        const present = bitSet(bm.bits, (p - base) / SECTOR);
        let q = p + SECTOR;
        while (q < limit && bitSet(bm.bits, (q - base) / SECTOR) === present) q += SECTOR;
        q = Math.min(q, limit);
        if (present) b.push(p, q - p, 'data');
        else await absent(p, q);
        p = q;
      }
    }
    return b.list;
  }

  async close(): Promise<void> {
    await this.file.close();
    await this.backing?.close();
  }
}

function bitSet(bits: Uint8Array, sector: number): boolean {
  return ((bits[sector >> 3] ?? 0) & (0x80 >> (sector & 7))) !== 0;
}
