import { TextDecoder } from 'node:util';
import { InputError } from '@xenkit/core';

/**
 * A read-only reader for the few SQLite tables xenkit needs (rpm's rpmdb.sqlite `Packages`), from
 * the file's bytes and, when present, its write-ahead log. Layout from sqlite.org/fileformat2.html.
 * Every page number, cell offset and overflow chain is bounds-checked and loop-checked, so a
 * corrupt database gives E_SQLITE_CORRUPT, never a hang.
 */
export type SqlValue = null | number | bigint | string | Uint8Array;

const MAGIC = 'SQLite format 3\0';
const MAX_DEPTH = 32;
/** No rpm header comes near this; a bigger payload is a hostile size field, not data. */
const MAX_PAYLOAD = 64 * 1024 * 1024;

function corrupt(file: string, what: string): InputError {
  return new InputError('E_SQLITE_CORRUPT', `${file}: not a readable SQLite database (${what})`, { details: { file } });
}

export class SqliteReader {
  private readonly pageSize: number;
  private readonly usable: number;
  private readonly pageCount: number;
  private readonly wal = new Map<number, Uint8Array>();
  private readonly decoder: TextDecoder;

  constructor(
    private readonly db: Uint8Array,
    private readonly file: string,
    walBytes?: Uint8Array,
  ) {
    if (db.length < 100 || new TextDecoder('latin1').decode(db.subarray(0, 16)) !== MAGIC) throw corrupt(file, 'bad magic');
    const dv = new DataView(db.buffer, db.byteOffset, db.byteLength);
    const ps = dv.getUint16(16); // page size at 16; 1 means 65536
    this.pageSize = ps === 1 ? 65536 : ps;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) throw corrupt(file, `page size ${this.pageSize}`);
    this.usable = this.pageSize - (db[20] as number); // reserved bytes per page at 20
    const enc = dv.getUint32(56); // text encoding at 56: 1 UTF-8, 2 UTF-16le, 3 UTF-16be
    this.decoder = new TextDecoder(enc === 2 ? 'utf-16le' : enc === 3 ? 'utf-16be' : 'utf-8');
    const filePages = Math.floor(db.length / this.pageSize);
    let pages = filePages;
    if (walBytes && walBytes.length >= 32) {
      // The commit frame's size field is the log's claim; the pages that can exist are the file's
      // plus those the log carries, so a forged size cannot inflate later bounds.
      const claimed = this.loadWal(walBytes);
      pages = Math.max(filePages, Math.min(claimed, filePages + this.wal.size));
    }
    this.pageCount = pages;
  }

  /** Apply committed WAL frames whose salts match the WAL header (the frames a reader would see). */
  private loadWal(wal: Uint8Array): number {
    const dv = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
    const magic = dv.getUint32(0);
    if ((magic & 0xfffffffe) !== 0x377f0682 || dv.getUint32(8) !== this.pageSize) return 0;
    const salt1 = dv.getUint32(16);
    const salt2 = dv.getUint32(20);
    const frameSize = 24 + this.pageSize;
    let pending = new Map<number, Uint8Array>();
    let dbPages = 0;
    for (let off = 32; off + frameSize <= wal.length; off += frameSize) {
      if (dv.getUint32(off + 8) !== salt1 || dv.getUint32(off + 12) !== salt2) break;
      pending.set(dv.getUint32(off), wal.subarray(off + 24, off + frameSize));
      const commit = dv.getUint32(off + 4); // database size in pages, non-zero on a commit frame
      if (commit !== 0) {
        for (const [p, data] of pending) this.wal.set(p, data);
        pending = new Map();
        dbPages = commit;
      }
    }
    return dbPages;
  }

  private page(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount) throw corrupt(this.file, `page ${n} out of range`);
    const fromWal = this.wal.get(n);
    if (fromWal) return fromWal;
    const start = (n - 1) * this.pageSize;
    if (start + this.pageSize > this.db.length) throw corrupt(this.file, `page ${n} past the end of the file`);
    return this.db.subarray(start, start + this.pageSize);
  }

  private varint(buf: Uint8Array, at: number): [number, number] {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      if (at + i >= buf.length) throw corrupt(this.file, 'truncated varint');
      const b = buf[at + i] as number;
      if (i === 8) return [v * 256 + b, 9];
      v = v * 128 + (b & 0x7f);
      if (!(b & 0x80)) return [v, i + 1];
    }
    return [v, 9];
  }

  /** Every row of a table b-tree, in rowid order. */
  *rows(rootPage: number): Generator<{ rowid: number; values: SqlValue[] }> {
    const seen = new Set<number>();
    const walk = function* (this: SqliteReader, pageNo: number, depth: number): Generator<{ rowid: number; values: SqlValue[] }> {
      if (depth > MAX_DEPTH || seen.has(pageNo)) throw corrupt(this.file, `b-tree loop at page ${pageNo}`);
      seen.add(pageNo);
      const page = this.page(pageNo);
      const hdr = pageNo === 1 ? 100 : 0;
      const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
      const type = page[hdr];
      const cells = dv.getUint16(hdr + 3);
      const interior = type === 0x05;
      if (!interior && type !== 0x0d) throw corrupt(this.file, `page ${pageNo} is not a table b-tree page (type ${type})`);
      const ptrs = hdr + (interior ? 12 : 8);
      if (ptrs + cells * 2 > page.length) throw corrupt(this.file, `page ${pageNo} cell count ${cells}`);
      for (let i = 0; i < cells; i++) {
        const cell = dv.getUint16(ptrs + i * 2);
        if (cell < ptrs + cells * 2 || cell + (interior ? 4 : 1) > page.length) throw corrupt(this.file, `page ${pageNo} cell offset ${cell}`);
        if (interior) {
          yield* walk.call(this, dv.getUint32(cell), depth + 1);
        } else {
          const [size, a] = this.varint(page, cell);
          const [rowid, b] = this.varint(page, cell + a);
          yield { rowid, values: this.record(this.payload(page, cell + a + b, size)) };
        }
      }
      if (interior) yield* walk.call(this, dv.getUint32(hdr + 8), depth + 1);
    };
    try {
      yield* walk.call(this, rootPage, 0);
    } catch (e) {
      // Any bounds slip a crafted page finds is still "corrupt", never a bare RangeError.
      if (e instanceof RangeError) throw corrupt(this.file, e.message);
      throw e;
    }
  }

  /** A cell's whole payload: the local part, then the overflow chain. */
  private payload(page: Uint8Array, at: number, size: number): Uint8Array {
    const u = this.usable;
    const x = u - 35;
    const m = Math.floor(((u - 12) * 32) / 255) - 23;
    let local = size;
    if (size > x) {
      const k = m + ((size - m) % (u - 4));
      local = k <= x ? k : m;
    }
    if (at + local > page.length) throw corrupt(this.file, 'cell runs past its page');
    if (local === size) return page.subarray(at, at + size);
    if (at + local + 4 > page.length) throw corrupt(this.file, 'overflow pointer past its page');
    if (size > MAX_PAYLOAD || size > this.pageCount * this.pageSize) throw corrupt(this.file, `payload of ${size} bytes`);
    const out = new Uint8Array(size);
    out.set(page.subarray(at, at + local));
    let filled = local;
    let next = new DataView(page.buffer, page.byteOffset, page.byteLength).getUint32(at + local);
    const seen = new Set<number>();
    while (filled < size) {
      if (next === 0 || seen.has(next)) throw corrupt(this.file, 'broken overflow chain');
      seen.add(next);
      const p = this.page(next);
      const n = Math.min(size - filled, u - 4);
      out.set(p.subarray(4, 4 + n), filled);
      filled += n;
      next = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
    }
    return out;
  }

  private record(buf: Uint8Array): SqlValue[] {
    const [hsize, h] = this.varint(buf, 0);
    if (hsize > buf.length) throw corrupt(this.file, 'record header past its payload');
    const types: number[] = [];
    for (let at = h; at < hsize; ) {
      const [t, n] = this.varint(buf, at);
      types.push(t);
      at += n;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: SqlValue[] = [];
    let at = hsize;
    for (const t of types) {
      const len = t >= 12 ? Math.floor((t - 12) / 2) : [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][t] ?? 0;
      if (at + len > buf.length) throw corrupt(this.file, 'record value past its payload');
      if (t === 0) out.push(null);
      else if (t >= 1 && t <= 6) {
        let v = 0n;
        for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(buf[at + i] as number);
        if (buf[at]! & 0x80) v -= 1n << BigInt(len * 8);
        out.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
      } else if (t === 7) out.push(dv.getFloat64(at));
      else if (t === 8 || t === 9) out.push(t - 8);
      else if (t >= 12 && t % 2 === 0) out.push(buf.slice(at, at + len));
      else if (t >= 13) out.push(this.decoder.decode(buf.subarray(at, at + len)));
      else throw corrupt(this.file, `reserved serial type ${t}`);
      at += len;
    }
    return out;
  }

  /** The root page of a table named in sqlite_master. */
  tableRoot(name: string): number | null {
    for (const { values } of this.rows(1)) {
      if (values[0] === 'table' && values[1] === name && typeof values[3] === 'number') return values[3];
    }
    return null;
  }
}
