// The lab's database: one table per XAPI class, a uuid index, the one-to-many relations XAPI keeps
// in sync (VBD.VM ↔ VM.VBDs …), and a change log that event.from reads.
import { randomUUID } from 'node:crypto';
import { classDef, SCHEMA, zeroOf } from '../schema.js';
import { fail } from '../wire/failure.js';
import { cloneValue, NULL_REF, type Struct, type Value } from '../wire/values.js';

export type Op = 'add' | 'mod' | 'del';
export interface Change {
  gen: number;
  cls: string;
  ref: string;
  op: Op;
}

/** [child class, child field, parent class, parent set field]. */
const RELATIONS: [string, string, string, string][] = (
  [
    ['VBD', 'VM', 'VM', 'VBDs'],
    ['VBD', 'VDI', 'VDI', 'VBDs'],
    ['VDI', 'SR', 'SR', 'VDIs'],
    ['VIF', 'VM', 'VM', 'VIFs'],
    ['VIF', 'network', 'network', 'VIFs'],
    ['PIF', 'host', 'host', 'PIFs'],
    ['PIF', 'network', 'network', 'PIFs'],
    ['PBD', 'host', 'host', 'PBDs'],
    ['PBD', 'SR', 'SR', 'PBDs'],
    ['VM', 'resident_on', 'host', 'resident_VMs'],
    ['VM', 'snapshot_of', 'VM', 'snapshots'],
    ['VDI', 'snapshot_of', 'VDI', 'snapshots'],
    ['task', 'subtask_of', 'task', 'subtasks'],
    ['console', 'VM', 'VM', 'consoles'],
    ['host_cpu', 'host', 'host', 'host_CPUs'],
  ] as [string, string, string, string][]
).filter(([c, f, p, pf]) => SCHEMA.get(c)?.fields.has(f) && SCHEMA.get(p)?.fields.has(pf));

const MAX_LOG = 200_000;

export class Store {
  readonly tables = new Map<string, Map<string, Struct>>();
  private readonly uuids = new Map<string, Map<string, string>>();
  private readonly createdAt = new Map<string, number>();
  private log: Change[] = [];
  /** Generation of the oldest change still in the log; older tokens get a full resync. */
  logStart = 0;
  generation = 0;
  private readonly listeners = new Set<() => void>();
  /** Called after every change (persistence hooks in here). */
  onChange: (() => void) | undefined;

  table(cls: string): Map<string, Struct> {
    let t = this.tables.get(cls);
    if (!t) {
      t = new Map();
      this.tables.set(cls, t);
      this.uuids.set(cls, new Map());
    }
    return t;
  }

  get(cls: string, ref: string): Struct | undefined {
    return this.tables.get(cls)?.get(ref);
  }

  /** The record or HANDLE_INVALID [class, ref], as XAPI's database raises it. */
  require(cls: string, ref: string): Struct {
    const r = this.get(cls, ref);
    if (!r) fail('HANDLE_INVALID', cls, ref);
    return r as Struct;
  }

  byUuid(cls: string, uuid: string): string | undefined {
    return this.uuids.get(cls)?.get(uuid);
  }

  refOf(cls: string, refOrUuid: string): string | undefined {
    if (this.get(cls, refOrUuid)) return refOrUuid;
    return this.byUuid(cls, refOrUuid);
  }

  /** Insert a record: fields not given take xenapi.json's default (or the type's zero). */
  create(cls: string, fields: Struct, ref = `OpaqueRef:${randomUUID()}`): string {
    const def = classDef(cls);
    const rec: Struct = {};
    for (const f of def.fields.values()) {
      const given = fields[f.name];
      rec[f.name] = given !== undefined ? given : f.default !== undefined ? cloneValue(f.default) : zeroOf(f.type);
    }
    if (def.fields.has('uuid') && (rec.uuid === '' || rec.uuid === undefined)) rec.uuid = randomUUID();
    this.table(cls).set(ref, rec);
    if (typeof rec.uuid === 'string') this.uuids.get(cls)?.set(rec.uuid, ref);
    for (const [c, f, p, pf] of RELATIONS) if (c === cls) this.link(p, rec[f], pf, ref, true);
    this.createdAt.set(ref, this.generation + 1);
    this.emit(cls, ref, 'add');
    return ref;
  }

  /** Update fields, keeping relations and the uuid index in step, and record one `mod`. */
  update(cls: string, ref: string, patch: Struct): void {
    const rec = this.require(cls, ref);
    for (const [k, v] of Object.entries(patch)) {
      for (const [c, f, p, pf] of RELATIONS) {
        if (c === cls && f === k && rec[k] !== v) {
          this.link(p, rec[k], pf, ref, false);
          this.link(p, v, pf, ref, true);
        }
      }
      if (k === 'uuid' && typeof v === 'string') {
        this.uuids.get(cls)?.delete(rec.uuid as string);
        this.uuids.get(cls)?.set(v, ref);
      }
      rec[k] = v;
    }
    this.emit(cls, ref, 'mod');
  }

  /** Record a `mod` for an in-place change (map/set edits). */
  touch(cls: string, ref: string): void {
    this.emit(cls, ref, 'mod');
  }

  destroy(cls: string, ref: string): void {
    const rec = this.require(cls, ref);
    for (const [c, f, p, pf] of RELATIONS) if (c === cls) this.link(p, rec[f], pf, ref, false);
    this.tables.get(cls)?.delete(ref);
    if (typeof rec.uuid === 'string') this.uuids.get(cls)?.delete(rec.uuid);
    this.createdAt.delete(ref);
    this.emit(cls, ref, 'del');
  }

  private link(parentCls: string, parentRef: Value | undefined, field: string, child: string, add: boolean): void {
    if (typeof parentRef !== 'string' || parentRef === NULL_REF) return;
    const parent = this.get(parentCls, parentRef);
    if (!parent) return;
    const set = (parent[field] as string[] | undefined) ?? [];
    const i = set.indexOf(child);
    if (add && i < 0) set.push(child);
    else if (!add && i >= 0) set.splice(i, 1);
    else return;
    parent[field] = set;
    this.emit(parentCls, parentRef, 'mod');
  }

  private emit(cls: string, ref: string, op: Op): void {
    this.generation++;
    this.log.push({ gen: this.generation, cls, ref, op });
    if (this.log.length > MAX_LOG) {
      this.log = this.log.slice(MAX_LOG / 2);
      this.logStart = (this.log[0]?.gen ?? this.generation) - 1;
    }
    this.onChange?.();
    for (const l of this.listeners) l();
  }

  /** The generation at which `ref` was created (0 when unknown, e.g. loaded from a state file). */
  created(ref: string): number {
    return this.createdAt.get(ref) ?? 0;
  }

  /** Changes strictly after `gen`, oldest first; null when the log no longer reaches that far back. */
  changesSince(gen: number): Change[] | null {
    if (gen < this.logStart) return null;
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid] as Change).gen <= gen) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The newest `max` changes, for the state file: a token issued before a restart still reads them. */
  exportLog(max: number): { logStart: number; changes: Change[] } {
    const changes = this.log.slice(-max);
    const logStart = changes.length < this.log.length ? (changes[0] as Change).gen - 1 : this.logStart;
    return { logStart, changes };
  }

  /** Restore the generation counter and change log saved by exportLog (after the records are loaded). */
  importLog(generation: number, logStart: number, changes: Change[]): void {
    this.generation = generation;
    this.log = changes;
    this.logStart = logStart;
    this.createdAt.clear();
  }

  /** Forget history (after loading a state file, every object counts as pre-existing). */
  resetLog(): void {
    this.log = [];
    this.logStart = this.generation;
    this.createdAt.clear();
  }
}
