/**
 * The lab host's value model. Each XAPI wire type has exactly one JS shape, so responses can be
 * marshalled without looking types up again: int64 → bigint (untyped `<value>` in XML-RPC, an integer
 * literal in JSON-RPC), int32 → {@link I32} (`<i4>`), float → number (`<double>`), datetime →
 * {@link XDate}, string/ref/enum → string, set → array, map/record → plain object.
 */
export class XDate {
  constructor(readonly text: string) {}
  static fromDate(d: Date): XDate {
    return new XDate(formatXapiDate(d));
  }
  toJSON(): string {
    return this.text;
  }
}

/** An Int32 on the wire (valid_ref_counts); every other integer is int64. */
export class I32 {
  constructor(readonly value: number) {}
}

export type Value = string | boolean | number | bigint | XDate | I32 | null | Value[] | { [key: string]: Value };
export type Struct = { [key: string]: Value };

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** XAPI prints dates without hyphens ("some client limitations"), e.g. 20250319T04:16:24Z. */
export function formatXapiDate(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`
  );
}

/** Accept XAPI's compact form and RFC 3339 (as xapi does); no zone means UTC. Null when unparseable. */
export function parseXapiDate(text: string): XDate | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return null;
  const zone = m[7] === undefined || m[7] === 'Z' ? 'Z' : m[7].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`);
  return Number.isNaN(d.getTime()) ? null : XDate.fromDate(d);
}

export const NULL_REF = 'OpaqueRef:NULL';
export const EPOCH = new XDate('19700101T00:00:00Z');

export function isStruct(v: Value | undefined): v is Struct {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof XDate) && !(v instanceof I32);
}

/**
 * Set a struct member. XAPI maps are plain string-keyed maps, so a key such as `__proto__` must land
 * as an ordinary own property; plain assignment would replace the object's prototype instead.
 */
export function putKey(out: Struct, key: string, v: Value): void {
  Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Deep copy, so snapshots handed to clients never alias the live store. */
export function cloneValue<T extends Value>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneValue(x)) as T;
  if (isStruct(v)) {
    const out: Struct = {};
    for (const k of Object.keys(v)) putKey(out, k, cloneValue(v[k] as Value));
    return out as T;
  }
  return v;
}
