import { RECORD_SHAPES, RESULT_SHAPES } from '../generated/meta.generated.js';
import { parseXapiDate } from './datetime.js';

/**
 * Wire values → xenkit's one representation, whatever the transport: int64 → bigint (XML-RPC sends
 * decimal strings, JSON-RPC integer literals that may pass 2^53), datetime → Date (JSON-RPC sends
 * strings). Which positions hold ints and datetimes comes from the generated schema; a value that is
 * not what the schema says is left as it came, never dropped. Conversion is in place.
 */
type Convert = (v: unknown) => unknown;

const cache = new Map<string, Convert>();

export function converterFor(shape: string): Convert {
  let c = cache.get(shape);
  if (!c) {
    c = build(shape);
    cache.set(shape, c);
  }
  return c;
}

/** Convert the result of `method` (`VM.get_all_records`, `Async.…` results are converted by the task). */
export function convertResult(method: string, value: unknown): unknown {
  const shape = RESULT_SHAPES[method];
  return shape ? converterFor(shape)(value) : value;
}

/** Convert a record of `cls` (any case: event.from names classes in lower case). */
export function convertRecord(cls: string, value: unknown): unknown {
  return converterFor(`@${cls.toLowerCase()}`)(value);
}

export function toBigInt(v: unknown): unknown {
  if (typeof v === 'string') {
    if (v.length > 0 && v.length < 24 && /^-?\d+$/.test(v)) return BigInt(v);
    return v;
  }
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}

function toDate(v: unknown): unknown {
  return typeof v === 'string' ? (parseXapiDate(v) ?? v) : v;
}

function build(shape: string): Convert {
  const head = shape[0];
  const rest = shape.slice(1);
  switch (head) {
    case 'i':
      return toBigInt;
    case 'd':
      return toDate;
    case '*': {
      const inner = converterFor(rest);
      return (v) => {
        if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = inner(v[i]);
        return v;
      };
    }
    case '%': {
      const inner = converterFor(rest);
      return (v) => {
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          const o = v as Record<string, unknown>;
          for (const k in o) o[k] = inner(o[k]);
        }
        return v;
      };
    }
    case '@':
      return recordConverter(rest);
    case 'E':
      return convertEvent;
    case 'B':
      return (v) => {
        const batch = v as { events?: unknown[] } | null;
        if (batch && Array.isArray(batch.events)) for (const e of batch.events) convertEvent(e);
        return v;
      };
    default:
      return (v) => v;
  }
}

function recordConverter(cls: string): Convert {
  const fields = RECORD_SHAPES[cls.toLowerCase()];
  if (!fields) return (v) => v;
  const entries = Object.entries(fields).map(([name, s]) => [name, converterFor(s)] as const);
  return (v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      for (const [name, conv] of entries) if (name in o) o[name] = conv(o[name]);
    }
    return v;
  };
}

function convertEvent(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const e = v as Record<string, unknown>;
  e.id = toBigInt(e.id);
  e.timestamp = toDate(e.timestamp);
  if (typeof e.class === 'string' && e.snapshot && typeof e.snapshot === 'object') convertRecord(e.class, e.snapshot);
  return v;
}
