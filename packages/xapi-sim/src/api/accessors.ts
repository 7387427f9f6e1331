// The implicit messages every class gets (xenapi.json marks them `implicit`): field getters and
// setters, map add_to_/remove_from_, set add_/remove_, get_record, get_all(_records), get_by_uuid,
// get_by_name_label, create and destroy — all answered from the schema and the store.
import { classDef, type MessageDef } from '../schema.js';
import { fail } from '../wire/failure.js';
import { isStruct, putKey, type Struct, type Value } from '../wire/values.js';
import type { CallContext } from './context.js';

/** get_record result: the stored record (serialised immediately, so no copy is needed). */
export function recordOf(ctx: CallContext, cls: string, ref: string): Struct {
  return ctx.lab.store.require(cls, ref);
}

export function allRecords(ctx: CallContext, cls: string): Struct {
  const out: Struct = {};
  for (const [ref, rec] of ctx.lab.store.table(cls)) out[ref] = rec;
  return out;
}

function fieldName(cls: string, name: string): string | undefined {
  const def = classDef(cls);
  if (def.fields.has(name)) return name;
  return undefined;
}

/** Run an implicit message; undefined when the name is not one of the generic shapes. */
export function implicitCall(ctx: CallContext, m: MessageDef, args: Value[]): Value | undefined {
  const { store } = ctx.lab;
  const cls = m.cls;
  const name = m.name;
  if (name === 'get_all') return [...store.table(cls).keys()];
  if (name === 'get_all_records') return allRecords(ctx, cls);
  if (name === 'get_record') return recordOf(ctx, cls, args[0] as string);
  if (name === 'get_by_uuid') {
    const ref = store.byUuid(cls, args[0] as string);
    return ref ?? fail('UUID_INVALID', cls, args[0] as string);
  }
  if (name === 'get_by_name_label') {
    const out: string[] = [];
    for (const [ref, rec] of store.table(cls)) if (rec.name_label === args[0]) out.push(ref);
    return out;
  }
  if (name === 'create' && m.params.length === 1) return store.create(cls, args[0] as Struct);
  if (name === 'destroy') {
    store.require(cls, args[0] as string);
    store.destroy(cls, args[0] as string);
    return '';
  }
  const self = args[0] as string;
  let f: string | undefined;
  if (name.startsWith('get_') && (f = fieldName(cls, name.slice(4)))) return store.require(cls, self)[f] as Value;
  if (name.startsWith('set_') && (f = fieldName(cls, name.slice(4)))) {
    store.update(cls, self, { [f]: args[1] as Value });
    return '';
  }
  if (name.startsWith('add_to_') && (f = fieldName(cls, name.slice(7)))) {
    const rec = store.require(cls, self);
    const map = rec[f] as Struct;
    const key = args[1] as string;
    if (isStruct(map) && Object.hasOwn(map, key)) fail('MAP_DUPLICATE_KEY', cls, f, self, key);
    putKey(map, key, args[2] as Value);
    store.touch(cls, self);
    return '';
  }
  if (name.startsWith('remove_from_') && (f = fieldName(cls, name.slice(12)))) {
    const map = store.require(cls, self)[f] as Struct;
    delete map[args[1] as string];
    store.touch(cls, self);
    return '';
  }
  if (name.startsWith('add_') && (f = fieldName(cls, name.slice(4)))) {
    const set = store.require(cls, self)[f] as Value[];
    if (!set.includes(args[1] as Value)) set.push(args[1] as Value);
    store.touch(cls, self);
    return '';
  }
  if (name.startsWith('remove_') && (f = fieldName(cls, name.slice(7)))) {
    const rec = store.require(cls, self);
    rec[f] = (rec[f] as Value[]).filter((x) => x !== args[1]);
    store.touch(cls, self);
    return '';
  }
  return undefined;
}
