// Type-directed unmarshalling of call parameters, as XAPI's generated server does: ints may arrive
// as strings (XML-RPC clients send int64 that way) or numbers, floats as ints, dates in either format.
import { classDef, type XType } from '../schema.js';
import { fail } from '../wire/failure.js';
import { I32, isStruct, parseXapiDate, putKey, XDate, type Struct, type Value } from '../wire/values.js';

function describe(v: Value): string {
  if (typeof v === 'bigint') return `Int ${v}`;
  if (typeof v === 'number') return `Float ${v}`;
  if (typeof v === 'boolean') return `Bool ${v}`;
  if (typeof v === 'string') return `String ${v.slice(0, 60)}`;
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'Enum';
  if (v instanceof XDate) return `DateTime ${v.text}`;
  if (v instanceof I32) return `Int32 ${v.value}`;
  return 'Dict';
}

const bad = (expected: string, v: Value): never => fail('XMLRPC_UNMARSHAL_FAILURE', expected, describe(v));

export function coerce(v: Value, t: XType): Value {
  switch (t.k) {
    case 'string':
    case 'ref':
    case 'enum':
      if (typeof v === 'string') return v;
      return bad(t.k === 'enum' ? `enum ${t.name}` : t.k, v);
    case 'int':
      if (typeof v === 'bigint') return v;
      if (v instanceof I32) return BigInt(v.value);
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      if (typeof v === 'string' && /^[+-]?\d{1,20}$/.test(v.trim())) return BigInt(v.trim());
      return bad('int', v);
    case 'float':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      return bad('float', v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return bad('bool', v);
    case 'datetime':
      if (v instanceof XDate) return v;
      if (typeof v === 'string') return parseXapiDate(v) ?? bad('datetime', v);
      return bad('datetime', v);
    case 'set':
      if (!Array.isArray(v)) return bad('set', v);
      return v.map((x) => coerce(x, t.of));
    case 'map': {
      if (!isStruct(v)) return bad('map', v);
      const out: Struct = {};
      for (const [k, x] of Object.entries(v)) putKey(out, k, coerce(x, t.val));
      return out;
    }
    case 'record':
      if (!isStruct(v)) return bad(`${t.cls} record`, v);
      return coerceRecord(v, t.cls);
    default:
      return v;
  }
}

/**
 * A `<class> record` argument (VM.create …): like xapi's constructors, keep only the fields a client
 * may set (RW and RO/constructor), typed. RO/runtime fields such as `uuid` are the server's to choose.
 */
export function coerceRecord(v: Struct, cls: string): Struct {
  const def = classDef(cls);
  const out: Struct = {};
  for (const [k, x] of Object.entries(v)) {
    const f = def.fields.get(k);
    if (f && f.settable !== 'runtime') out[k] = coerce(x, f.type);
  }
  return out;
}
