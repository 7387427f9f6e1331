// `--state DIR`: the database as tagged JSON (db.json) beside the VDI files (vdis/), written a
// moment after each change and on close, and read back at start.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '@xenkit/core';
import type { Store } from './api/store.js';
import { I32, isStruct, XDate, type Struct, type Value } from './wire/values.js';

const FORMAT = 'xenkit-lab-state/1';

function encode(v: Value): unknown {
  if (typeof v === 'bigint') return { $i: v.toString() };
  if (v instanceof XDate) return { $d: v.text };
  if (v instanceof I32) return { $i32: v.value };
  if (Array.isArray(v)) return v.map(encode);
  if (isStruct(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}

function decode(v: unknown): Value {
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$i === 'string') return BigInt(o.$i);
    if (typeof o.$d === 'string') return new XDate(o.$d);
    if (typeof o.$i32 === 'number') return new I32(o.$i32);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v as Value;
}

export interface SavedMeta {
  masterRef: string;
  poolRef: string;
}

export function saveState(dir: string, store: Store, meta: SavedMeta): void {
  const tables: Record<string, Record<string, unknown>> = {};
  for (const [cls, t] of store.tables) {
    if (cls === 'session') continue;
    tables[cls] = Object.fromEntries([...t].map(([ref, rec]) => [ref, encode(rec)]));
  }
  const path = join(dir, 'db.json');
  writeFileSync(`${path}.tmp`, JSON.stringify({ format: FORMAT, meta, tables }));
  renameSync(`${path}.tmp`, path);
}

/** Load db.json into an empty store; null when the directory has none yet. */
export function loadState(dir: string, store: Store): SavedMeta | null {
  const path = join(dir, 'db.json');
  if (!existsSync(path)) return null;
  let doc: { format?: string; meta?: SavedMeta; tables?: Record<string, Record<string, unknown>> };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (e) {
    throw new OperationError('E_LAB_STATE_UNREADABLE', `${path} is not valid JSON: ${(e as Error).message}`, { details: { path } });
  }
  if (doc.format !== FORMAT || !doc.meta || !doc.tables) {
    throw new OperationError('E_LAB_STATE_FORMAT', `${path} is not a ${FORMAT} file`, { details: { path } });
  }
  for (const [cls, t] of Object.entries(doc.tables)) {
    for (const [ref, rec] of Object.entries(t)) store.create(cls, decode(rec) as Struct, ref);
  }
  store.resetLog();
  return doc.meta;
}
