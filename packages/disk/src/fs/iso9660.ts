import { sourcePath, type BlockSource } from '../block/types.js';
import type { Volume } from '../layout/probe-disk.js';
import { FsError } from './errors.js';
import { SimpleFileSystem, type SimpleEntry } from './simple.js';
import { volumeView, type OpenFsOptions } from './volume-view.js';

/**
 * Open the ISO 9660 filesystem on `source` (or on `volume` of it, as {@link probeDisk} found it) for
 * reading. `source` stays the caller's: closing the filesystem leaves it open.
 */
export async function openIso9660FileSystem(source: BlockSource, volume?: Volume, options: OpenFsOptions = {}): Promise<Iso9660FileSystem> {
  const { view, description } = volumeView(source, volume, 'iso9660', options.description);
  return mountIso9660(view, description);
}

const SECTOR = 2048;
const VD_START = 16;
const MAX_VDS = 64;

// ISO 9660 directory record (ECMA-119 9.1):
//   0 len u8 | 1 ext-attr len u8 | 2 extent LBA u32le (+u32be) | 10 data length u32le (+u32be)
//   18 recording time 7 bytes | 25 flags u8 (bit 1 directory) | 32 name len u8 | 33 name
//   then a pad byte when the name length is even, then the System Use area (Rock Ridge).
interface DirRecord {
  extent: number;
  size: number;
  isDir: boolean;
  rawName: Buffer;
  mtimeMs: number;
  systemUse: Buffer;
}

function parseRecord(buf: Uint8Array, off: number): DirRecord | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = b[off] ?? 0;
  if (len < 34 || off + len > b.length) return undefined;
  const nameLen = b[off + 32] as number;
  if (33 + nameLen > len) return undefined;
  const t = off + 18;
  const mtimeMs = Date.UTC(1900 + (b[t] as number), (b[t + 1] as number) - 1, b[t + 2], b[t + 3], b[t + 4], b[t + 5]);
  const suStart = off + 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
  return {
    extent: b.readUInt32LE(off + 2),
    size: b.readUInt32LE(off + 10),
    isDir: ((b[off + 25] as number) & 0x02) !== 0,
    rawName: b.subarray(off + 33, off + 33 + nameLen),
    mtimeMs: Number.isFinite(mtimeMs) ? mtimeMs : 0,
    systemUse: b.subarray(Math.min(suStart, off + len), off + len),
  };
}

/** Rock Ridge NM (name) and PX (mode) from a System Use area; CE continuations are not followed. */
function rockRidge(su: Buffer): { name?: string; mode?: number } {
  let name: string | undefined;
  let mode: number | undefined;
  let off = 0;
  for (let i = 0; i < 64 && off + 4 <= su.length; i++) {
    const sig = su.toString('latin1', off, off + 2);
    const len = su[off + 2] as number;
    if (len < 4 || off + len > su.length) break;
    if (sig === 'NM' && len >= 5) name = (name ?? '') + su.toString('utf8', off + 5, off + len);
    if (sig === 'PX' && len >= 12) mode = su.readUInt32LE(off + 4);
    if (sig === 'ST') break;
    off += len;
  }
  return { name, mode };
}

// The reader behind both Iso9660FileSystem.open and openIso9660FileSystem, set by the class (only it may construct one).
let mountIso9660: (source: BlockSource, description: string) => Promise<Iso9660FileSystem>;

/**
 * ISO 9660 reader (read-only), as config drives made by genisoimage are: Rock Ridge names when
 * present, then Joliet, then plain ISO names (";1" version and a trailing "." dropped, lower-cased).
 */
export class Iso9660FileSystem extends SimpleFileSystem {
  static {
    mountIso9660 = (source, description) => Iso9660FileSystem.read(source, description);
  }

  private constructor(
    description: string,
    source: BlockSource,
    root: SimpleEntry,
    readonly label: string,
    private readonly naming: 'rockridge' | 'joliet' | 'plain',
  ) {
    super(description, source, root);
  }

  /** True when the source carries an ISO 9660 primary volume descriptor. */
  static async probe(source: BlockSource): Promise<boolean> {
    if (source.size < (VD_START + 1) * SECTOR) return false;
    const vd = Buffer.from(await source.read(VD_START * SECTOR, 8));
    return vd.toString('latin1', 1, 6) === 'CD001';
  }

  /**
   * Read the ISO 9660 filesystem filling `source`; closing it closes `source`.
   * {@link openIso9660FileSystem} is the form that also takes a volume and leaves `source` open.
   */
  static open(source: BlockSource, description = sourcePath(source)): Promise<Iso9660FileSystem> {
    return Iso9660FileSystem.read(source, `iso9660 on ${description}`);
  }

  private static async read(source: BlockSource, desc: string): Promise<Iso9660FileSystem> {
    const corrupt = (what: string): FsError => new FsError('E_FS_CORRUPT', `${desc}: ${what}`, { path: '/', fs: desc });
    let pvd: Buffer | undefined;
    let joliet: Buffer | undefined;
    for (let i = 0; i < MAX_VDS; i++) {
      const off = (VD_START + i) * SECTOR;
      if (off + SECTOR > source.size) break;
      const vd = Buffer.from(await source.read(off, SECTOR));
      if (vd.toString('latin1', 1, 6) !== 'CD001') throw corrupt(`volume descriptor ${VD_START + i} lacks the CD001 magic`);
      const type = vd[0];
      if (type === 255) break;
      if (type === 1 && !pvd) pvd = vd;
      const esc = vd.toString('latin1', 88, 91);
      if (type === 2 && (esc === '%/@' || esc === '%/C' || esc === '%/E')) joliet = vd;
    }
    if (!pvd) throw corrupt('no primary volume descriptor');
    if (pvd.readUInt16LE(128) !== SECTOR) throw corrupt(`logical block size ${pvd.readUInt16LE(128)} is not 2048`);
    const label = pvd.toString('latin1', 40, 72).trim();
    const pvdRoot = parseRecord(pvd, 156);
    if (!pvdRoot) throw corrupt('bad root directory record');
    // Rock Ridge announces itself in the root's "." record (SUSP "SP", then "RR"/"PX"/"NM" entries).
    const dot = Buffer.from(await source.read(pvdRoot.extent * SECTOR, SECTOR));
    const first = parseRecord(dot, 0);
    const hasRR = !!first && first.systemUse.toString('latin1', 0, 2) === 'SP';
    const naming = hasRR ? 'rockridge' : joliet ? 'joliet' : 'plain';
    const rootRec = naming === 'joliet' ? parseRecord(joliet as Buffer, 156) : pvdRoot;
    if (!rootRec) throw corrupt('bad Joliet root directory record');
    const root: SimpleEntry = { type: 'directory', size: rootRec.size, mode: 0o40555, mtimeMs: rootRec.mtimeMs, loc: rootRec.extent };
    const fs = new Iso9660FileSystem(desc, source, root, label, naming);
    fs.checkExtent(root, '/');
    return fs;
  }

  private checkExtent(e: SimpleEntry, path: string): void {
    if (e.loc * SECTOR + e.size > this.source.size) throw this.err('E_FS_CORRUPT', path, `extent of ${path} lies past the end of the image`);
  }

  private decodeName(r: DirRecord): string | undefined {
    if (r.rawName.length === 1 && (r.rawName[0] === 0 || r.rawName[0] === 1)) return undefined; // "." and ".."
    if (this.naming === 'rockridge') {
      const nm = rockRidge(r.systemUse).name;
      if (nm !== undefined) return nm;
    }
    let name: string;
    if (this.naming === 'joliet') {
      const be = Buffer.from(r.rawName);
      name = be.length % 2 === 0 ? be.swap16().toString('utf16le') : r.rawName.toString('latin1');
    } else {
      name = r.rawName.toString('latin1').toLowerCase();
    }
    name = name.replace(/;\d+$/, '');
    if (!r.isDir && name.endsWith('.')) name = name.slice(0, -1);
    return name;
  }

  protected async list(dir: SimpleEntry): Promise<Map<string, SimpleEntry>> {
    const out = new Map<string, SimpleEntry>();
    this.checkExtent(dir, `extent ${dir.loc}`);
    const data = await this.source.read(dir.loc * SECTOR, Math.min(dir.size, 16 * 1024 * 1024));
    for (let sector = 0; sector * SECTOR < data.length; sector++) {
      let off = sector * SECTOR;
      const end = Math.min(off + SECTOR, data.length);
      // Records never cross a sector; a zero length byte means "rest of this sector is padding".
      while (off < end && data[off] !== 0) {
        const r = parseRecord(data.subarray(0, end), off);
        if (!r) throw this.err('E_FS_CORRUPT', `extent ${dir.loc}`, `bad directory record at byte ${off} of extent ${dir.loc}`);
        off += data[off] as number;
        const name = this.decodeName(r);
        if (name === undefined || name.length === 0 || name.includes('/') || name === '.' || name === '..') continue;
        const mode = (this.naming === 'rockridge' ? rockRidge(r.systemUse).mode : undefined) ?? (r.isDir ? 0o40555 : 0o100444);
        const e: SimpleEntry = { type: r.isDir ? 'directory' : 'file', size: r.size, mode, mtimeMs: r.mtimeMs, loc: r.extent };
        this.checkExtent(e, name);
        out.set(name, e);
        this.checkCount(out.size, name);
      }
    }
    return out;
  }

  protected async readData(file: SimpleEntry): Promise<Uint8Array> {
    return this.source.read(file.loc * SECTOR, file.size);
  }
}
