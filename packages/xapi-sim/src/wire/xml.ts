// XML-RPC as XAPI speaks it: a small, bounded parser for methodCall bodies and a writer that emits
// ocaml-rpc's exact shapes (untyped strings and int64, <i4>, <boolean>, <double> with %.16g).
import { MalformedRequest } from './failure.js';
import { I32, isStruct, putKey, parseXapiDate as parseDateOrNull, XDate, type Struct, type Value } from './values.js';

const MAX_DEPTH = 64;

interface Tag {
  kind: 'open' | 'close' | 'empty';
  name: string;
}
type Token = Tag | { kind: 'text'; text: string };

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff) throw new MalformedRequest(`bad character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new MalformedRequest(`unknown entity ${whole}`);
    return v;
  });
}

function* tokenize(xml: string): Generator<Token> {
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      yield { kind: 'text', text: decodeEntities(xml.slice(i)) };
      return;
    }
    if (lt > i) yield { kind: 'text', text: decodeEntities(xml.slice(i, lt)) };
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt);
      if (end < 0) throw new MalformedRequest('unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new MalformedRequest('unterminated comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end < 0) throw new MalformedRequest('unterminated CDATA');
      yield { kind: 'text', text: xml.slice(lt + 9, end) };
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<!', lt)) throw new MalformedRequest('DTDs are not accepted');
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new MalformedRequest('unterminated tag');
    const body = xml.slice(lt + 1, gt);
    const m = /^(\/?)([A-Za-z_][\w.:-]*)(?:\s[^>]*?)?(\/?)\s*$/.exec(body);
    if (!m) throw new MalformedRequest(`bad tag <${body.slice(0, 40)}>`);
    yield { kind: m[1] ? 'close' : m[3] ? 'empty' : 'open', name: m[2] as string };
    i = gt + 1;
  }
}

/** Cursor over tokens that drops whitespace-only text between elements. */
class Reader {
  private readonly it: Generator<Token>;
  private peeked: Token | undefined;
  constructor(xml: string) {
    this.it = tokenize(xml);
  }
  peek(): Token | undefined {
    if (this.peeked === undefined) {
      for (let n = this.it.next(); !n.done; n = this.it.next()) {
        if (n.value.kind === 'text' && n.value.text.trim() === '') continue;
        this.peeked = n.value;
        break;
      }
    }
    return this.peeked;
  }
  next(): Token {
    const t = this.peek();
    if (t === undefined) throw new MalformedRequest('unexpected end of document');
    this.peeked = undefined;
    return t;
  }
  /** Raw next token including whitespace text (inside <value> whitespace matters). */
  nextRaw(): Token | undefined {
    if (this.peeked !== undefined) {
      const t = this.peeked;
      this.peeked = undefined;
      return t;
    }
    const n = this.it.next();
    return n.done ? undefined : n.value;
  }
  open(name: string): boolean {
    const t = this.next();
    if (t.kind === 'empty' && t.name === name) return false;
    if (t.kind !== 'open' || t.name !== name) throw new MalformedRequest(`expected <${name}>`);
    return true;
  }
  close(name: string): void {
    const t = this.next();
    if (t.kind !== 'close' || t.name !== name) throw new MalformedRequest(`expected </${name}>`);
  }
  /** Text content up to </name>, for leaf elements. */
  text(name: string): string {
    let out = '';
    for (;;) {
      const t = this.nextRaw();
      if (t === undefined) throw new MalformedRequest(`unterminated <${name}>`);
      if (t.kind === 'text') out += t.text;
      else if (t.kind === 'close' && t.name === name) return out;
      else throw new MalformedRequest(`unexpected <${t.name}> in <${name}>`);
    }
  }
}

function parseValue(r: Reader, depth: number): Value {
  if (depth > MAX_DEPTH) throw new MalformedRequest('values nested too deeply');
  if (!r.open('value')) return '';
  // Untyped <value>text</value> is a string; whitespace before a typed child is insignificant.
  let pending = '';
  let t = r.nextRaw();
  while (t !== undefined && t.kind === 'text') {
    pending += t.text;
    t = r.nextRaw();
  }
  if (t === undefined) throw new MalformedRequest('unterminated <value>');
  if (t.kind === 'close' && t.name === 'value') return pending;
  if (pending.trim() !== '') throw new MalformedRequest('mixed content in <value>');
  const v = parseTyped(r, t, depth);
  r.close('value');
  return v;
}

function parseTyped(r: Reader, t: Token, depth: number): Value {
  if (t.kind === 'close' || t.kind === 'text') throw new MalformedRequest('expected a typed value');
  const leaf = (): string => (t.kind === 'empty' ? '' : r.text(t.name));
  switch (t.name) {
    case 'string':
      return leaf();
    case 'int':
    case 'i4':
    case 'i8': {
      const s = leaf().trim();
      if (!/^[+-]?\d{1,20}$/.test(s)) throw new MalformedRequest(`bad integer ${s.slice(0, 30)}`);
      return BigInt(s);
    }
    case 'boolean': {
      const s = leaf().trim();
      if (s !== '0' && s !== '1') throw new MalformedRequest(`bad boolean ${s.slice(0, 30)}`);
      return s === '1';
    }
    case 'double': {
      const n = Number(leaf().trim());
      if (Number.isNaN(n)) throw new MalformedRequest('bad double');
      return n;
    }
    case 'dateTime.iso8601': {
      const s = leaf();
      return parseDateOrNull(s) ?? new XDate(s);
    }
    case 'base64':
      return Buffer.from(leaf(), 'base64').toString('utf8');
    case 'nil':
      if (t.kind === 'open') r.close('nil');
      return null;
    case 'array': {
      const out: Value[] = [];
      if (t.kind === 'empty') return out;
      if (r.open('data')) {
        while (r.peek()?.kind !== 'close') out.push(parseValue(r, depth + 1));
        r.close('data');
      }
      r.close('array');
      return out;
    }
    case 'struct': {
      const out: Struct = {};
      if (t.kind === 'empty') return out;
      while (r.peek()?.kind !== 'close') {
        r.open('member');
        const name = r.open('name') ? r.text('name') : '';
        putKey(out, name, parseValue(r, depth + 1));
        r.close('member');
      }
      r.close('struct');
      return out;
    }
    default:
      throw new MalformedRequest(`unknown XML-RPC type <${t.name}>`);
  }
}

export interface MethodCall {
  method: string;
  params: Value[];
}

/** Parse an XML-RPC methodCall. Throws {@link MalformedRequest} (→ HTTP 500) on anything else. */
export function parseMethodCall(xml: string): MethodCall {
  const r = new Reader(xml);
  r.open('methodCall');
  r.open('methodName');
  const method = r.text('methodName').trim();
  const params: Value[] = [];
  const p = r.peek();
  if (p !== undefined && p.kind !== 'close') {
    if (r.open('params')) {
      while (r.peek()?.kind !== 'close') {
        r.open('param');
        params.push(parseValue(r, 0));
        r.close('param');
      }
      r.close('params');
    }
  }
  r.close('methodCall');
  if (r.peek() !== undefined) throw new MalformedRequest('trailing content after </methodCall>');
  return { method, params };
}

/** %.16g, as ocaml-rpc prints doubles. */
export function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(Number(n.toPrecision(16)));
}

const SPECIAL = /[&<>]/;
const escape = (s: string) => (SPECIAL.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s);

export function writeValue(v: Value, out: string[]): void {
  if (typeof v === 'string') out.push('<value>', escape(v), '</value>');
  else if (typeof v === 'bigint') out.push('<value>', v.toString(), '</value>');
  else if (typeof v === 'boolean') out.push(v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
  else if (typeof v === 'number') out.push('<value><double>', formatDouble(v), '</double></value>');
  else if (v === null) out.push('<value><nil/></value>');
  else if (v instanceof XDate) out.push('<value><dateTime.iso8601>', v.text, '</dateTime.iso8601></value>');
  else if (v instanceof I32) out.push('<value><i4>', String(v.value), '</i4></value>');
  else if (Array.isArray(v)) {
    out.push('<value><array><data>');
    for (const x of v) writeValue(x, out);
    out.push('</data></array></value>');
  } else if (isStruct(v)) {
    out.push('<value><struct>');
    for (const k of Object.keys(v)) {
      out.push('<member><name>', escape(k), '</name>');
      writeValue(v[k] as Value, out);
      out.push('</member>');
    }
    out.push('</struct></value>');
  }
}

export function valueToXml(v: Value): string {
  const out: string[] = [];
  writeValue(v, out);
  return out.join('');
}

const HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const TAIL = '</param></params></methodResponse>';

export function xmlSuccess(v: Value): string {
  return `${HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${valueToXml(v)}</member></struct></value>${TAIL}`;
}

export function xmlFailure(description: string[]): string {
  return `${HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>${valueToXml(description)}</member></struct></value>${TAIL}`;
}

/** system.listMethods is the one call XAPI does not wrap in Status/Value. */
export function xmlBare(v: Value): string {
  return `${HEAD}${valueToXml(v)}${TAIL}`;
}

/** Parse a bare `<value>…</value>` document (ova.xml in an XVA). */
export function parseValueDocument(xml: string): Value {
  const r = new Reader(xml);
  const v = parseValue(r, 0);
  if (r.peek() !== undefined) throw new MalformedRequest('trailing content after </value>');
  return v;
}
