// `--state DIR`: the database as tagged JSON (db.json) beside the VDI files (vdis/), written a
// moment after each change and on close, and read back at start.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@xenkit/core';
import type { Change, Store } from './api/store.js';
import { SCHEMA, type ClassDef, type XType } from './schema.js';
import { I32, isStruct, putKey, XDate, type Struct, type Value } from './wire/values.js';

const FORMAT = 'xenkit-lab-state/1';

function encode(v: Value): unknown {
  if (typeof v === 'bigint') return { $i: v.toString() };
  if (v instanceof XDate) return { $d: v.text };
  if (v instanceof I32) return { $i32: v.value };
  if (Array.isArray(v)) return v.map(encode);
  if (isStruct(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}

/** Thrown inside decoding; loadState turns it into a coded InputError naming the file. */
class Corrupt extends Error {}

function decode(v: unknown, depth = 0): Value {
  if (depth > 64) throw new Corrupt('values nested too deeply');
  if (Array.isArray(v)) return v.map((x) => decode(x, depth + 1));
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$i === 'string') {
      if (!/^-?\d{1,20}$/.test(o.$i)) throw new Corrupt(`bad integer ${JSON.stringify(o.$i.slice(0, 40))}`);
      return BigInt(o.$i);
    }
    if (typeof o.$d === 'string') return new XDate(o.$d);
    if (typeof o.$i32 === 'number') return new I32(o.$i32);
    const out: Struct = {};
    for (const [k, x] of Object.entries(o)) putKey(out, k, decode(x, depth + 1));
    return out;
  }
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' || v === null) return v;
  throw new Corrupt(`unexpected ${typeof v}`);
}

/** Does a decoded value have the shape the schema field expects? Wrong shapes would crash handlers later. */
function fits(v: Value, t: XType): boolean {
  switch (t.k) {
    case 'string':
    case 'ref':
    case 'enum':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'bigint' || v instanceof I32;
    case 'float':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'datetime':
      return v instanceof XDate;
    case 'set':
      return Array.isArray(v) && v.every((x) => fits(x, t.of));
    case 'map':
      return isStruct(v) && Object.values(v).every((x) => fits(x, t.val));
    default:
      return true;
  }
}

function decodeRecord(cls: string, ref: string, raw: unknown): Struct {
  if (!/^OpaqueRef:[\w-]+$/.test(ref)) throw new Corrupt(`${cls} reference ${JSON.stringify(ref.slice(0, 60))} is not an OpaqueRef`);
  const rec = decode(raw);
  if (!isStruct(rec)) throw new Corrupt(`${cls} ${ref} is not a record`);
  const def = SCHEMA.get(cls) as ClassDef;
  for (const [k, v] of Object.entries(rec)) {
    const f = def.fields.get(k);
    if (f && !fits(v, f.type)) throw new Corrupt(`${cls} ${ref} field ${k} has the wrong type`);
  }
  return rec;
}

export interface SavedMeta {
  masterRef: string;
  poolRef: string;
}

/**
 * Changes kept in db.json. XAPI keeps its generation counter in the database, so event.from tokens
 * survive a restart; the lab keeps the counter and this tail of its change log, so an old token reads
 * exactly the changes after it (an older one gets the full resync it would get from a long-running lab).
 */
const SAVED_CHANGES = 10_000;
const OPS = new Set(['add', 'mod', 'del']);

export function saveState(dir: string, store: Store, meta: SavedMeta): void {
  const tables: Record<string, Record<string, unknown>> = {};
  for (const [cls, t] of store.tables) {
    if (cls === 'session') continue;
    tables[cls] = Object.fromEntries([...t].map(([ref, rec]) => [ref, encode(rec)]));
  }
  const { logStart, changes } = store.exportLog(SAVED_CHANGES);
  const events = { generation: store.generation, logStart, changes: changes.map((c) => [c.gen, c.cls, c.ref, c.op]) };
  const path = join(dir, 'db.json');
  // Write, fsync, rename, fsync the directory: a crash leaves either the old or the new db.json whole.
  const fd = openSync(`${path}.tmp`, 'w', 0o600);
  try {
    writeFileSync(fd, JSON.stringify({ format: FORMAT, meta, events, tables }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

const bad = (code: string, path: string, why: string) =>
  new InputError(code, `${path}: ${why}; repair or remove it, or start the lab with another --state directory`, { details: { path } });

/** Load db.json into an empty store; null when the directory has none yet. Damage is an InputError. */
export function loadState(dir: string, store: Store): SavedMeta | null {
  const path = join(dir, 'db.json');
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw bad('E_LAB_STATE_UNREADABLE', path, `cannot read the lab state (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad('E_LAB_STATE_UNREADABLE', path, `not valid JSON (${(e as Error).message})`);
  }
  const d = doc as { format?: unknown; meta?: Partial<SavedMeta>; events?: unknown; tables?: unknown };
  if (typeof doc !== 'object' || doc === null || d.format !== FORMAT) throw bad('E_LAB_STATE_FORMAT', path, `not a ${FORMAT} file`);
  const tables = d.tables;
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) throw bad('E_LAB_STATE_FORMAT', path, 'no tables object');
  const meta = d.meta;
  if (typeof meta?.masterRef !== 'string' || typeof meta.poolRef !== 'string') throw bad('E_LAB_STATE_FORMAT', path, 'no masterRef/poolRef');
  try {
    for (const [cls, t] of Object.entries(tables as Record<string, unknown>)) {
      if (!SCHEMA.has(cls) || cls === 'session') throw new Corrupt(`unknown class ${JSON.stringify(cls.slice(0, 60))}`);
      if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new Corrupt(`table ${cls} is not an object`);
      for (const [ref, raw] of Object.entries(t)) store.create(cls, decodeRecord(cls, ref, raw), ref);
    }
  } catch (e) {
    if (e instanceof Corrupt) throw bad('E_LAB_STATE_CORRUPT', path, e.message);
    throw e;
  }
  if (!store.get('host', meta.masterRef) || !store.get('pool', meta.poolRef)) throw bad('E_LAB_STATE_CORRUPT', path, 'the master host or pool record is missing');
  // Files written before the counter was saved have no `events`: their history starts afresh.
  if (d.events === undefined) store.resetLog();
  else {
    const ev = readEvents(d.events);
    if (typeof ev === 'string') throw bad('E_LAB_STATE_CORRUPT', path, ev);
    store.importLog(ev.generation, ev.logStart, ev.changes);
  }
  return { masterRef: meta.masterRef, poolRef: meta.poolRef };
}

const isGen = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The saved counter and change log, or why they are unusable. */
function readEvents(raw: unknown): { generation: number; logStart: number; changes: Change[] } | string {
  const e = raw as { generation?: unknown; logStart?: unknown; changes?: unknown };
  if (typeof raw !== 'object' || raw === null || !isGen(e.generation) || !isGen(e.logStart) || e.logStart > e.generation) return 'events: bad generation/logStart';
  if (!Array.isArray(e.changes) || e.changes.length > SAVED_CHANGES) return 'events: bad change list';
  const changes: Change[] = [];
  let prev = e.logStart;
  for (const c of e.changes as unknown[]) {
    if (!Array.isArray(c) || c.length !== 4) return 'events: a change is not [gen, class, ref, op]';
    const [gen, cls, ref, op] = c as unknown[];
    // Generations strictly increase and never pass the counter: changesSince() binary-searches them.
    if (!isGen(gen) || gen <= prev || gen > e.generation) return `events: change generation ${String(gen)} out of order`;
    if (typeof cls !== 'string' || !SCHEMA.has(cls) || typeof ref !== 'string' || typeof op !== 'string' || !OPS.has(op)) return 'events: a change names an unknown class or operation';
    changes.push({ gen, cls, ref, op: op as Change['op'] });
    prev = gen;
  }
  return { generation: e.generation, logStart: e.logStart, changes };
}
