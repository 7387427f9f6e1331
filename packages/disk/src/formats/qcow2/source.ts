import { silentLogger, type Logger } from '@xenkit/core';
import { BoundedCache } from '../../block/bounded-cache.js';
import { DiskError } from '../../block/errors.js';
import { BackingExtents, ExtentBuilder, readBacking } from '../../block/extents.js';
import type { HostFile } from '../../block/host.js';
import { checkRange } from '../../block/raw.js';
import type { BlockSource, Extent } from '../../block/types.js';
import { decompressCluster } from './decompress.js';
import type { Qcow2Header } from './header.js';

const OFFSET_MASK_HI = 0x00ffffff; // bits 32..55 of an L1/L2 entry
const OFFSET_MASK_LO = 0xfffffe00; // bits 9..31
const FLAG_COMPRESSED_HI = 0x40000000; // bit 62
const L2_CACHE_BYTES = 32 * 1024 * 1024;
// Filesystem reads revisit metadata blocks; keep a few inflated clusters rather than inflate again.
const INFLATED_CACHE_BYTES = 8 * 1024 * 1024;

/** Where a guest cluster's bytes come from. */
const UNALLOCATED = 0; // read from the backing file, or zeros
const ZERO = 1;
const DATA = 2;
const COMPRESSED = 3;

interface Mapping {
  kind: number;
  host: number;
  /** Compressed clusters: bytes of compressed data at `host`. */
  csize: number;
}

/** A qcow2 v2/v3 image: L1 → L2 → cluster lookup with an L2 cache, over an optional backing source. */
export class Qcow2Source implements BlockSource {
  readonly format = 'qcow2';
  readonly size: number;
  private readonly clusterSize: number;
  private readonly l2Entries: number;
  private readonly l2Cache: BoundedCache<number, Promise<Buffer>>;
  private readonly inflated: BoundedCache<number, Uint8Array>;
  private readonly backingExtents: BackingExtents;

  private constructor(
    readonly path: string,
    private readonly file: HostFile,
    private readonly header: Qcow2Header,
    private readonly l1: Float64Array,
    readonly backing: BlockSource | null,
  ) {
    this.size = header.size;
    this.clusterSize = header.clusterSize;
    this.l2Entries = header.clusterSize / 8;
    this.l2Cache = new BoundedCache(Math.max(4, Math.floor(L2_CACHE_BYTES / header.clusterSize)));
    this.inflated = new BoundedCache(Math.max(1, Math.floor(INFLATED_CACHE_BYTES / header.clusterSize)));
    this.backingExtents = new BackingExtents(backing);
  }

  get bytesRead(): number {
    return this.file.bytesRead + (this.backing?.bytesRead ?? 0);
  }

  /** Load and verify the L1 table (every L2 table it names must be aligned and inside the file). */
  static async open(file: HostFile, header: Qcow2Header, backing: BlockSource | null, logger: Logger = silentLogger): Promise<Qcow2Source> {
    const path = file.path;
    if (header.dirty) logger.warn({ path }, 'qcow2 image is marked dirty (not cleanly closed); reading anyway');
    if (header.corrupt) logger.warn({ path }, 'qcow2 image is marked corrupt by qemu; reading anyway, data may be wrong');
    const n = Math.ceil(header.size / header.clusterSize / (header.clusterSize / 8));
    const l1 = new Float64Array(n);
    if (n > 0) {
      const raw = await file.readAt(header.l1TableOffset, n * 8, 'qcow2 L1 table');
      for (let i = 0; i < n; i++) {
        const off = (raw.readUInt32BE(i * 8) & OFFSET_MASK_HI) * 2 ** 32 + ((raw.readUInt32BE(i * 8 + 4) & OFFSET_MASK_LO) >>> 0);
        if (off === 0) continue;
        if (off % header.clusterSize !== 0) {
          throw new DiskError('E_QCOW2_CORRUPT', `${path}: L1 entry ${i} points at unaligned L2 table offset ${off}`, { path, l1Index: i, offset: off });
        }
        file.checkInside(off, header.clusterSize, `qcow2 L2 table (L1 entry ${i})`);
        l1[i] = off;
      }
    }
    return new Qcow2Source(path, file, header, l1, backing);
  }

  private l2Table(l1Index: number): Promise<Buffer> {
    const off = this.l1[l1Index] as number;
    return this.l2Cache.load(off, () => this.file.readAt(off, this.clusterSize, `qcow2 L2 table (L1 entry ${l1Index})`));
  }

  private async lookup(cluster: number): Promise<Mapping> {
    const l1Index = Math.floor(cluster / this.l2Entries);
    if (this.l1[l1Index] === 0) return { kind: UNALLOCATED, host: 0, csize: 0 };
    const t = await this.l2Table(l1Index);
    return this.decode(t, cluster % this.l2Entries, cluster);
  }

  private decode(t: Buffer, i: number, cluster: number): Mapping {
    const hi = t.readUInt32BE(i * 8);
    const lo = t.readUInt32BE(i * 8 + 4);
    const bad = (why: string): DiskError =>
      new DiskError('E_QCOW2_CORRUPT', `${this.path}: L2 entry for cluster ${cluster} ${why}`, { path: this.path, cluster });
    if (hi & FLAG_COMPRESSED_HI) {
      const entry = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      const x = BigInt(62 - (this.header.clusterBits - 8));
      const host = Number(entry & ((1n << x) - 1n));
      const sectors = Number((entry >> x) & ((1n << BigInt(this.header.clusterBits - 8)) - 1n)) + 1;
      const csize = sectors * 512 - (host % 512);
      if (host >= this.file.size) throw bad(`points at compressed data at ${host}, past the end of the ${this.file.size}-byte file`);
      return { kind: COMPRESSED, host, csize };
    }
    if (lo & 1) {
      if (this.header.version < 3) throw bad('has the zero flag, which a version 2 image cannot have');
      return { kind: ZERO, host: 0, csize: 0 };
    }
    const host = (hi & OFFSET_MASK_HI) * 2 ** 32 + ((lo & OFFSET_MASK_LO) >>> 0);
    if (host === 0) return { kind: UNALLOCATED, host: 0, csize: 0 };
    if (host % this.clusterSize !== 0) throw bad(`points at unaligned host offset ${host}`);
    if (host >= this.file.size) throw bad(`points at host offset ${host}, past the end of the ${this.file.size}-byte file`);
    return { kind: DATA, host, csize: 0 };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    const out = Buffer.alloc(length);
    const cs = this.clusterSize;
    const end = offset + length;
    let pos = offset;
    let m = pos < end ? await this.lookup(Math.floor(pos / cs)) : null;
    while (m !== null) {
      // Extend the run over following clusters that continue it (contiguous host data, or the same kind).
      const runStart = pos;
      const inOff = pos % cs;
      let runEnd = Math.min(end, pos - inOff + cs);
      let next: Mapping | null = null;
      while (runEnd < end) {
        next = await this.lookup(runEnd / cs);
        const continues =
          m.kind === DATA ? next.kind === DATA && next.host === m.host + (runEnd - (runStart - inOff)) : next.kind === m.kind && m.kind !== COMPRESSED;
        if (!continues) break;
        next = null;
        runEnd = Math.min(end, runEnd + cs);
      }
      await this.fillRun(m, out, runStart - offset, runStart, runEnd - runStart, inOff);
      pos = runEnd;
      m = pos < end ? (next ?? (await this.lookup(Math.floor(pos / cs)))) : null;
    }
    return out;
  }

  private async fillRun(m: Mapping, out: Buffer, outOff: number, vOff: number, n: number, inOff: number): Promise<void> {
    if (m.kind === DATA) {
      const host = m.host + inOff;
      const avail = Math.max(0, Math.min(n, this.file.size - host)); // a short last cluster reads zeros past EOF
      if (avail > 0) await this.file.readInto(out, outOff, avail, host);
    } else if (m.kind === UNALLOCATED) {
      await readBacking(this.backing, out, outOff, vOff, n);
    } else if (m.kind === COMPRESSED) {
      let data = this.inflated.get(m.host);
      if (data === undefined) {
        const raw = await this.file.readUpTo(m.host, m.csize, 'qcow2 compressed cluster');
        data = decompressCluster(raw, this.clusterSize, this.header.compressionType, this.path, m.host);
        this.inflated.set(m.host, data);
      }
      out.set(data.subarray(inOff, inOff + n), outOff);
    }
  }

  async extents(): Promise<Extent[]> {
    const b = new ExtentBuilder();
    const cs = this.clusterSize;
    const span = cs * this.l2Entries;
    for (let i = 0; i < this.l1.length; i++) {
      const base = i * span;
      const limit = Math.min(this.size, base + span);
      if (this.l1[i] === 0) {
        await this.backingExtents.fill(b, base, limit);
        continue;
      }
      const t = await this.l2Table(i);
      for (let j = 0; base + j * cs < limit; j++) {
        const v = base + j * cs;
        const len = Math.min(cs, limit - v);
        const m = this.decode(t, j, i * this.l2Entries + j);
        if (m.kind === UNALLOCATED) await this.backingExtents.fill(b, v, v + len);
        else b.push(v, len, m.kind === ZERO ? 'zero' : 'data');
      }
    }
    return b.list;
  }

  async close(): Promise<void> {
    await this.file.close();
    await this.backing?.close();
  }
}
