import { TextDecoder } from 'node:util';
import { InputError } from '@xenkit/core';
import { SqliteReader } from './sqlite.js';
import { MAX_PACKAGES, type Application } from './types.js';

// rpm header tags (rpmtag.h) and types.
const TAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SUMMARY: 1004, DESCRIPTION: 1005, URL: 1020, ARCH: 1022, SOURCERPM: 1044 };
const T_INT32 = 4;
const T_STRING = 6;
const T_STRING_ARRAY = 8;
const T_I18NSTRING = 9;

/**
 * One rpm header blob as rpmdb.sqlite stores it (headerExport): il and dl (u32 BE), il 16-byte index
 * entries {tag, type, offset, count}, then dl bytes of data.
 */
export function parseRpmHeader(blob: Uint8Array): Application | null {
  if (blob.length < 8) return null;
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = dv.getUint32(0);
  const dl = dv.getUint32(4);
  const dataStart = 8 + il * 16;
  if (il > 0xffff || dataStart + dl > blob.length) return null;
  const data = blob.subarray(dataStart, dataStart + dl);
  const str = (off: number) => {
    if (off < 0 || off >= data.length) return undefined;
    const end = data.indexOf(0, off);
    return new TextDecoder().decode(data.subarray(off, end < 0 ? data.length : end));
  };
  const fields = new Map<number, string | number>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = dv.getUint32(e);
    const type = dv.getUint32(e + 4);
    const off = dv.getInt32(e + 8);
    if (!Object.values(TAG).includes(tag)) continue;
    if (type === T_INT32 && off >= 0 && off + 4 <= data.length) fields.set(tag, new DataView(data.buffer, data.byteOffset).getInt32(off));
    else if (type === T_STRING || type === T_STRING_ARRAY || type === T_I18NSTRING) {
      const s = str(off);
      if (s !== undefined) fields.set(tag, s);
    }
  }
  const name = fields.get(TAG.NAME);
  if (typeof name !== 'string') return null;
  const app: Application = { name };
  const epoch = fields.get(TAG.EPOCH);
  if (typeof epoch === 'number' && epoch !== 0) app.epoch = epoch;
  const set = (key: 'version' | 'release' | 'arch' | 'summary' | 'description' | 'url', tag: number) => {
    const v = fields.get(tag);
    if (typeof v === 'string' && v.length > 0) app[key] = v;
  };
  set('version', TAG.VERSION);
  set('release', TAG.RELEASE);
  set('arch', TAG.ARCH);
  set('summary', TAG.SUMMARY);
  set('description', TAG.DESCRIPTION);
  set('url', TAG.URL);
  const src = fields.get(TAG.SOURCERPM);
  if (typeof src === 'string') app.sourcePackage = src.replace(/-[^-]+-[^-]+\.src\.rpm$/, '');
  return app;
}

/** Installed packages from rpmdb.sqlite (and its WAL): the `Packages` table's header blobs. */
export function readRpmSqlite(db: Uint8Array, file: string, wal?: Uint8Array): Application[] {
  const reader = new SqliteReader(db, file, wal);
  const root = reader.tableRoot('Packages');
  if (root === null) throw new InputError('E_SQLITE_CORRUPT', `${file}: no Packages table`, { details: { file } });
  const out: Application[] = [];
  for (const { values } of reader.rows(root)) {
    if (out.length >= MAX_PACKAGES) break;
    const blob = values[1];
    const app = blob instanceof Uint8Array ? parseRpmHeader(blob) : null;
    if (app) out.push(app);
  }
  return out;
}
