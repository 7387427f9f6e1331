// Typed view of the generated method table: classes, fields with parsed types and defaults, and
// every message keyed by "Class.name".
import { CLASSES, TYPES } from './generated/schema.js';
import { EPOCH, NULL_REF, parseXapiDate, type Value } from './wire/values.js';

export type XType =
  | { k: 'string' | 'int' | 'float' | 'bool' | 'datetime' | 'void' | 'any' }
  | { k: 'ref'; cls: string }
  | { k: 'enum'; name: string }
  | { k: 'record'; cls: string }
  | { k: 'set'; of: XType }
  | { k: 'map'; key: XType; val: XType };

export function parseType(s: string): XType {
  s = s.trim();
  if (s.endsWith(' set')) return { k: 'set', of: parseType(s.slice(0, -4)) };
  if (s.endsWith(' map') && s.startsWith('(')) {
    const inner = s.slice(1, -5);
    const arrow = inner.indexOf(' -> ');
    return { k: 'map', key: parseType(inner.slice(0, arrow)), val: parseType(inner.slice(arrow + 4)) };
  }
  if (s.endsWith(' ref')) return { k: 'ref', cls: s.slice(0, -4) };
  if (s.endsWith(' record')) return { k: 'record', cls: s.slice(0, -7) };
  if (s.startsWith('enum ')) return { k: 'enum', name: s.slice(5) };
  if (s === 'string' || s === 'int' || s === 'float' || s === 'bool' || s === 'datetime' || s === 'void') return { k: s };
  return { k: 'any' };
}

export interface FieldDef {
  name: string;
  type: XType;
  /** RO/runtime fields are not taken from a create() record. */
  settable: 'runtime' | 'constructor' | 'rw';
  default: Value | undefined;
}
export interface ParamDef {
  name: string;
  type: XType;
  default: Value | undefined;
}
export interface MessageDef {
  cls: string;
  name: string;
  params: ParamDef[];
  /** Parameters without a default, excluding the session — what MESSAGE_PARAMETER_COUNT_MISMATCH reports. */
  required: number;
  hasSession: boolean;
  result: XType;
  errors: readonly string[];
  implicit: boolean;
}
export interface ClassDef {
  name: string;
  fields: Map<string, FieldDef>;
  messages: Map<string, MessageDef>;
  enums: Map<string, readonly string[]>;
}

const typeCache = TYPES.map(parseType);
const enumValues = new Map<string, readonly string[]>();

/** Zero value of a type, used when xenapi.json gives no default. */
export function zeroOf(t: XType): Value {
  switch (t.k) {
    case 'int':
      return 0n;
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'datetime':
      return EPOCH;
    case 'ref':
      return NULL_REF;
    case 'enum':
      return enumValues.get(t.name)?.[0] ?? '';
    case 'set':
      return [];
    case 'map':
    case 'record':
      return {};
    default:
      return '';
  }
}

/** xenapi.json defaults are OCaml-ish literals: "{}", "\"\"", "1.", "Halted", "OpaqueRef:NULL", "Null". */
export function literal(text: string, t: XType): Value {
  if (text === '{}') return t.k === 'map' || t.k === 'record' ? {} : [];
  if (text === 'Null') return t.k === 'ref' ? NULL_REF : zeroOf(t);
  if (text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1);
  switch (t.k) {
    case 'int':
      return /^-?\d+$/.test(text) ? BigInt(text) : 0n;
    case 'float':
      return Number.parseFloat(text) || 0;
    case 'bool':
      return text === 'true';
    case 'datetime':
      return parseXapiDate(text) ?? EPOCH;
    case 'set':
    case 'map':
      return zeroOf(t);
    default:
      return text;
  }
}

function build(): Map<string, ClassDef> {
  const out = new Map<string, ClassDef>();
  for (const raw of CLASSES) {
    const [, , , enums] = raw as [string, unknown, unknown, [string, string[]][]];
    for (const [name, values] of enums) enumValues.set(name, values);
  }
  for (const raw of CLASSES) {
    const [name, fields, messages, enums] = raw as [
      string,
      [string, number, number, string?][],
      [string, [string, number, string?][], number, string[], number][],
      [string, string[]][],
    ];
    const cls: ClassDef = { name, fields: new Map(), messages: new Map(), enums: new Map(enums) };
    for (const [fname, ti, q, def] of fields) {
      const type = typeCache[ti] as XType;
      cls.fields.set(fname, {
        name: fname,
        type,
        settable: q === 0 ? 'runtime' : q === 1 ? 'constructor' : 'rw',
        default: def === undefined ? undefined : literal(def, type),
      });
    }
    for (const [mname, params, result, errors, implicit] of messages) {
      const ps = params.map(([pname, ti, def]) => {
        const type = typeCache[ti] as XType;
        return { name: pname, type, default: def === undefined ? undefined : literal(def, type) };
      });
      const hasSession = ps[0]?.type.k === 'ref' && (ps[0].type as { cls: string }).cls === 'session';
      const own = hasSession ? ps.slice(1) : ps;
      cls.messages.set(mname, {
        cls: name,
        name: mname,
        params: own,
        required: own.filter((p) => p.default === undefined).length,
        hasSession,
        result: typeCache[result] as XType,
        errors,
        implicit: implicit === 1,
      });
    }
    out.set(name, cls);
  }
  return out;
}

export const SCHEMA: ReadonlyMap<string, ClassDef> = build();
const lowerNames = new Map([...SCHEMA.keys()].map((n) => [n.toLowerCase(), n]));

/** XAPI class names are matched case-insensitively in event subscriptions; keep that everywhere. */
export function className(name: string): string | undefined {
  return SCHEMA.has(name) ? name : lowerNames.get(name.toLowerCase());
}

export function classDef(name: string): ClassDef {
  const c = SCHEMA.get(name);
  if (!c) throw new Error(`no class ${name} in the schema`);
  return c;
}

export function findMessage(method: string): MessageDef | undefined {
  const dot = method.indexOf('.');
  if (dot <= 0) return undefined;
  const cls = className(method.slice(0, dot));
  return cls === undefined ? undefined : SCHEMA.get(cls)?.messages.get(method.slice(dot + 1));
}

/** Every method name XAPI would list in system.listMethods. */
export function allMethodNames(asyncAllowed: (m: MessageDef) => boolean): string[] {
  const names: string[] = [];
  for (const c of SCHEMA.values()) {
    for (const m of c.messages.values()) {
      names.push(`${c.name}.${m.name}`);
      if (asyncAllowed(m)) names.push(`Async.${c.name}.${m.name}`);
    }
  }
  return names;
}
