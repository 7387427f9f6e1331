import { sourcePath, type BlockSource } from '../block/types.js';
import type { Volume } from '../layout/probe-disk.js';
import { FsError } from './errors.js';
import { SimpleFileSystem, type SimpleEntry } from './simple.js';
import { volumeView, type OpenFsOptions } from './volume-view.js';

// FAT boot sector / BPB (Microsoft FAT spec), offsets in bytes:
//   11 bytes/sector u16 | 13 sectors/cluster u8 | 14 reserved sectors u16 | 16 FAT count u8
//   17 root entries u16 (0 on FAT32) | 19 total sectors u16 | 22 sectors/FAT u16 (0 on FAT32)
//   32 total sectors u32 | FAT32: 36 sectors/FAT u32, 44 root cluster u32, 71 label[11]
//   FAT12/16: 43 label[11] | 510 0x55 0xAA
// Directory entry (32 bytes): 0 name[11] | 11 attr | 12 NT case bits (0x08 base, 0x10 ext lower)
//   20 cluster high u16 | 22 time u16 | 24 date u16 | 26 cluster low u16 | 28 size u32
// LFN entry (attr 0x0F): 0 order (0x40 = last) | 1 chars[5] | 14 chars[6] | 28 chars[2], UCS-2.
const ATTR_DIR = 0x10;
const ATTR_VOLUME = 0x08;
const ATTR_LFN = 0x0f;

/**
 * Open the FAT12/16/32 filesystem on `source` (or on `volume` of it, as {@link probeDisk} found it)
 * for reading. `source` stays the caller's: closing the filesystem leaves it open.
 */
export async function openVfatFileSystem(source: BlockSource, volume?: Volume, options: OpenFsOptions = {}): Promise<VfatFileSystem> {
  const { view, description } = volumeView(source, volume, 'vfat', options.description);
  return mountVfat(view, description);
}

interface Geometry {
  bps: number;
  spc: number;
  fatOffset: number;
  fatBytes: number;
  rootOffset: number;
  rootBytes: number;
  dataOffset: number;
  clusters: number;
  bits: 12 | 16 | 32;
  rootCluster: number;
}

// The reader behind both VfatFileSystem.open and openVfatFileSystem, set by the class (only it may construct one).
let mountVfat: (source: BlockSource, description: string) => Promise<VfatFileSystem>;

/** FAT12/16/32 reader (read-only, long names), as `mkfs.vfat -n config-2` config drives are. */
export class VfatFileSystem extends SimpleFileSystem {
  static {
    mountVfat = (source, description) => VfatFileSystem.read(source, description);
  }

  private fat: Buffer | undefined;

  private constructor(
    description: string,
    source: BlockSource,
    root: SimpleEntry,
    private readonly g: Geometry,
    public label: string,
  ) {
    super(description, source, root);
  }

  /** True when the source starts with a plausible FAT boot sector. */
  static async probe(source: BlockSource): Promise<boolean> {
    if (source.size < 512) return false;
    const b = Buffer.from(await source.read(0, 512));
    const bps = b.readUInt16LE(11);
    return b[510] === 0x55 && b[511] === 0xaa && [512, 1024, 2048, 4096].includes(bps) && (b[16] ?? 0) > 0 && b.readUInt16LE(14) > 0;
  }

  /**
   * Read the FAT filesystem filling `source`; closing it closes `source`.
   * {@link openVfatFileSystem} is the form that also takes a volume and leaves `source` open.
   */
  static open(source: BlockSource, description = sourcePath(source)): Promise<VfatFileSystem> {
    return VfatFileSystem.read(source, `vfat on ${description}`);
  }

  private static async read(source: BlockSource, desc: string): Promise<VfatFileSystem> {
    const corrupt = (what: string): FsError => new FsError('E_FS_CORRUPT', `${desc}: ${what}`, { path: '/', fs: desc });
    if (source.size < 512) throw corrupt('image smaller than a boot sector');
    const b = Buffer.from(await source.read(0, 512));
    if (b[510] !== 0x55 || b[511] !== 0xaa) throw corrupt('boot sector lacks the 0x55AA signature');
    const bps = b.readUInt16LE(11);
    const spc = b[13] as number;
    const reserved = b.readUInt16LE(14);
    const nfats = b[16] as number;
    const rootEntries = b.readUInt16LE(17);
    const total = b.readUInt16LE(19) || b.readUInt32LE(32);
    const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
    if (![512, 1024, 2048, 4096].includes(bps) || spc === 0 || (spc & (spc - 1)) !== 0 || nfats === 0 || reserved === 0 || fatSectors === 0) {
      throw corrupt('boot sector geometry is invalid');
    }
    const rootBytes = rootEntries * 32;
    const rootSectors = Math.ceil(rootBytes / bps);
    const dataSector = reserved + nfats * fatSectors + rootSectors;
    if (total <= dataSector || total * bps > source.size + bps) throw corrupt(`total of ${total} sectors does not fit the ${source.size}-byte image`);
    const clusters = Math.floor((total - dataSector) / spc);
    const bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
    const g: Geometry = {
      bps,
      spc,
      fatOffset: reserved * bps,
      fatBytes: fatSectors * bps,
      rootOffset: (reserved + nfats * fatSectors) * bps,
      rootBytes,
      dataOffset: dataSector * bps,
      clusters,
      bits,
      rootCluster: bits === 32 ? b.readUInt32LE(44) : 0,
    };
    if (bits === 32 && (g.rootCluster < 2 || g.rootCluster >= clusters + 2)) throw corrupt(`root cluster ${g.rootCluster} is out of range`);
    const bootLabel = b.toString('latin1', bits === 32 ? 71 : 43, bits === 32 ? 82 : 54).trim();
    const root: SimpleEntry = { type: 'directory', size: 0, mode: 0o40755, mtimeMs: 0, loc: g.rootCluster };
    const fs = new VfatFileSystem(desc, source, root, g, bootLabel);
    // The volume-label entry in the root directory wins over the boot sector's copy, as blkid does.
    const rootLabel = await fs.rootLabel(root);
    if (rootLabel) fs.label = rootLabel;
    return fs;
  }

  private async loadFat(): Promise<Buffer> {
    if (!this.fat) this.fat = Buffer.from(await this.source.read(this.g.fatOffset, Math.min(this.g.fatBytes, 64 * 1024 * 1024)));
    return this.fat;
  }

  private async next(cluster: number): Promise<number> {
    const fat = await this.loadFat();
    const { bits } = this.g;
    let v: number;
    if (bits === 12) {
      const off = Math.floor(cluster * 1.5);
      if (off + 2 > fat.length) return -1;
      const w = fat.readUInt16LE(off);
      v = cluster & 1 ? w >> 4 : w & 0xfff;
      return v >= 0xff8 ? -1 : v;
    }
    if (bits === 16) {
      if (cluster * 2 + 2 > fat.length) return -1;
      v = fat.readUInt16LE(cluster * 2);
      return v >= 0xfff8 ? -1 : v;
    }
    if (cluster * 4 + 4 > fat.length) return -1;
    v = fat.readUInt32LE(cluster * 4) & 0x0fffffff;
    return v >= 0x0ffffff8 ? -1 : v;
  }

  /** Reads a cluster chain, at most `maxBytes`; a loop or an out-of-range link is corruption. */
  private async chain(first: number, maxBytes: number, what: string): Promise<Buffer> {
    const csize = this.g.bps * this.g.spc;
    const parts: Buffer[] = [];
    let got = 0;
    let c = first;
    for (let steps = 0; c !== -1 && got < maxBytes; steps++) {
      if (c < 2 || c >= this.g.clusters + 2 || steps > this.g.clusters) throw this.err('E_FS_CORRUPT', what, `bad cluster chain for ${what} (cluster ${c})`);
      parts.push(Buffer.from(await this.source.read(this.g.dataOffset + (c - 2) * csize, csize)));
      got += csize;
      c = await this.next(c);
    }
    return Buffer.concat(parts);
  }

  private async dirBytes(dir: SimpleEntry): Promise<Buffer> {
    if (dir.loc === 0) return Buffer.from(await this.source.read(this.g.rootOffset, this.g.rootBytes));
    return this.chain(dir.loc, 16 * 1024 * 1024, `directory at cluster ${dir.loc}`);
  }

  private async rootLabel(root: SimpleEntry): Promise<string | undefined> {
    const data = await this.dirBytes(root);
    for (let off = 0; off + 32 <= data.length && data[off] !== 0; off += 32) {
      const attr = data[off + 11] as number;
      if (data[off] !== 0xe5 && attr !== ATTR_LFN && attr & ATTR_VOLUME) return data.toString('latin1', off, off + 11).trim();
    }
    return undefined;
  }

  protected async list(dir: SimpleEntry): Promise<Map<string, SimpleEntry>> {
    const data = await this.dirBytes(dir);
    const out = new Map<string, SimpleEntry>();
    let lfn: string[] = [];
    for (let off = 0; off + 32 <= data.length; off += 32) {
      const first = data[off] as number;
      if (first === 0) break;
      if (first === 0xe5) {
        lfn = [];
        continue;
      }
      const attr = data[off + 11] as number;
      if (attr === ATTR_LFN) {
        const chars = Buffer.concat([data.subarray(off + 1, off + 11), data.subarray(off + 14, off + 26), data.subarray(off + 28, off + 32)]);
        if (first & 0x40) lfn = [];
        lfn.unshift(chars.toString('utf16le').split('\u0000')[0] as string);
        continue;
      }
      const long = lfn.join('');
      lfn = [];
      if (attr & ATTR_VOLUME) continue;
      const name = long || shortName(data.subarray(off, off + 32));
      if (name === '.' || name === '..' || name.length === 0 || name.includes('/')) continue;
      const cluster = (this.g.bits === 32 ? data.readUInt16LE(off + 20) << 16 : 0) | data.readUInt16LE(off + 26);
      const isDir = (attr & ATTR_DIR) !== 0;
      const d = data.readUInt16LE(off + 24);
      const t = data.readUInt16LE(off + 22);
      const mtimeMs = Date.UTC(1980 + (d >> 9), ((d >> 5) & 15) - 1, d & 31, t >> 11, (t >> 5) & 63, (t & 31) * 2);
      out.set(name, { type: isDir ? 'directory' : 'file', size: isDir ? 0 : data.readUInt32LE(off + 28), mode: isDir ? 0o40755 : 0o100644, mtimeMs: Number.isFinite(mtimeMs) ? mtimeMs : 0, loc: cluster });
      this.checkCount(out.size, name);
    }
    return out;
  }

  protected async readData(file: SimpleEntry): Promise<Uint8Array> {
    if (file.size === 0) return new Uint8Array(0);
    const data = await this.chain(file.loc, file.size, `file at cluster ${file.loc}`);
    if (data.length < file.size) throw this.err('E_FS_CORRUPT', `cluster ${file.loc}`, `cluster chain at ${file.loc} is shorter than the file size ${file.size}`);
    return data.subarray(0, file.size);
  }
}

function shortName(e: Buffer): string {
  const first = e[0] === 0x05 ? '\u00e5' : e.toString('latin1', 0, 1);
  let base = (first + e.toString('latin1', 1, 8)).trimEnd();
  let ext = e.toString('latin1', 8, 11).trimEnd();
  const caseBits = e[12] as number;
  if (caseBits & 0x08) base = base.toLowerCase();
  if (caseBits & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}
