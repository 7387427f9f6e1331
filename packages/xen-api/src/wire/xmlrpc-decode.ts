import { XapiProtocolError } from '../errors.js';
import { parseXapiDate } from './datetime.js';
import { buildStruct, ShapeNode, shapeRoot, shapeStep } from './struct-shapes.js';
import { completeUtf8, decodeEntities, indexOfSeq, intern, isSpace, startsWith } from './xml-text.js';

/**
 * A streaming XML-RPC decoder: feed it the response body chunk by chunk, as it arrives, and it builds
 * the values without an XML DOM. Chunks are batched to 512 KiB and UTF-8-decoded once (a tag or a
 * character split between batches is carried over as bytes); the scanner walks the text with indexOf
 * and charCodeAt, dispatches tags on character codes and takes values as substrings, so no native call
 * is made per value. What made it fast on a 14 MB `VM.get_all_records` (measured, bench/): member
 * names come from an intern table (no string per name), records are built from a learned shape in one
 * allocation (struct-shapes.ts: no dictionary-mode objects), a closing tag is checked only against the
 * open one, and entity references are replaced by indexOf, not a regex callback.
 *
 * Values: untyped and `<string>` → string; `<int>`/`<i4>` → number (bigint past 2^53); `<i8>` → bigint;
 * `<double>` → number; `<boolean>` → boolean; `<dateTime.iso8601>` → Date; `<base64>` → Buffer;
 * `<nil/>` → null. XAPI sends int64 as untyped strings; the caller converts them by schema.
 */

// Tag codes. Closing a tag pops the open-tag stack and must match, so malformed bodies fail loudly.
const T_VALUE = 1;
const T_STRUCT = 2;
const T_MEMBER = 3;
const T_NAME = 4;
const T_ARRAY = 5;
const T_DATA = 6;
const T_STRING = 7;
const T_INT = 8;
const T_I8 = 9;
const T_DOUBLE = 10;
const T_BOOLEAN = 11;
const T_DATETIME = 12;
const T_BASE64 = 13;
const T_NIL = 14;
const T_PARAMS = 15;
const T_PARAM = 16;
const T_RESPONSE = 17;
const T_FAULT = 18;
const T_CALL = 19;
const T_METHODNAME = 20;

const TAG_LITERALS: string[] = [];
for (const [name, code] of [
  ['value', T_VALUE], ['struct', T_STRUCT], ['member', T_MEMBER], ['name', T_NAME], ['array', T_ARRAY],
  ['data', T_DATA], ['string', T_STRING], ['i4', T_INT], ['i8', T_I8], ['double', T_DOUBLE],
  ['boolean', T_BOOLEAN], ['dateTime.iso8601', T_DATETIME], ['base64', T_BASE64], ['nil', T_NIL],
  ['params', T_PARAMS], ['param', T_PARAM], ['methodResponse', T_RESPONSE], ['fault', T_FAULT],
  ['methodCall', T_CALL], ['methodName', T_METHODNAME],
] as const) TAG_LITERALS[code] = name;

const MAX_DEPTH = 512;
const BATCH_BYTES = 512 * 1024;
const MAX_PENDING_TAG = 64 * 1024;

/** One open array or struct; frames are reused by depth, and so are a struct's member arrays. */
class Frame {
  array: unknown[] | null = null;
  readonly keys: string[] = [];
  readonly vals: unknown[] = [];
  count = 0;
  name: string | null = null;
  node: ShapeNode | null = null;
}

export interface XmlRpcMessage {
  kind: 'response' | 'fault' | 'call';
  /** The params (one for a response), or the fault struct as the only element. */
  params: unknown[];
  methodName?: string;
}

export class XmlRpcDecoder {
  private tail = '';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes held back for the next batch: an unfinished tag, then an unfinished UTF-8 character. */
  private carry: Buffer | null = null;
  private readonly open: number[] = [];
  private readonly frames: Frame[] = [];
  private depth = 0;
  private readonly params: unknown[] = [];
  /** Where the text of the innermost text-bearing element started in the current chunk (-1: none). */
  private textFrom = -1;
  private textParts: string[] | null = null;
  private textPrefix = '';
  /** The value of the element just closed inside the open `<value>` (typed scalar or container). */
  private current: unknown = undefined;
  private hasCurrent = false;
  private kind: XmlRpcMessage['kind'] | null = null;
  private methodName: string | undefined;
  private bytes = 0;

  /**
   * @param maxBytes refuse bodies larger than this
   * @param batchBytes decode once this much has arrived (tests use 1 to put a boundary everywhere)
   */
  constructor(
    private readonly maxBytes = 2 ** 31,
    private readonly batchBytes = BATCH_BYTES,
  ) {}

  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) this.fail(`response larger than ${this.maxBytes} bytes`);
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.batchBytes) this.flush();
  }

  // Network chunks are batched into BATCH_BYTES before decoding: a string that large lives in V8's
  // large-object space, so the values sliced out of it never make the young-generation GC copy it.
  private flush(): void {
    if (this.pending.length === 0) return;
    let bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.carry !== null) {
      // Joined as bytes: a string concatenation would make a rope that every charCodeAt unwraps.
      bytes = Buffer.concat([this.carry, bytes]);
      this.carry = null;
    }
    const cut = completeUtf8(bytes);
    const partial = cut < bytes.length ? Buffer.from(bytes.subarray(cut)) : null;
    this.scan(bytes.toString('utf8', 0, cut));
    if (this.tail) {
      const tail = Buffer.from(this.tail, 'utf8');
      this.carry = partial === null ? tail : Buffer.concat([tail, partial]);
      this.tail = '';
    } else this.carry = partial;
  }

  end(): XmlRpcMessage {
    this.flush();
    if (this.carry !== null) this.fail('body ends inside a tag or a character');
    if (this.open.length > 0 || this.kind === null) this.fail('body ends before the XML-RPC message is complete');
    return { kind: this.kind!, params: this.params, methodName: this.methodName };
  }

  private readonly failure = (what: string): never => this.fail(what);

  private fail(what: string): never {
    throw new XapiProtocolError('E_XAPI_XML', `malformed XML-RPC: ${what}`, { offset: this.bytes });
  }

  private scan(buf: string): void {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      // String.prototype.indexOf is a builtin (memchr on one-byte strings), no runtime call.
      let lt = buf.indexOf('<', pos);
      if (lt < 0) lt = len;
      if (lt === len) {
        this.keepText(buf, pos, len);
        return;
      }
      let next = lt + 1;
      const first = buf.charCodeAt(next);
      if (first === 33 /* ! */ || first === 63 /* ? */) {
        const end = this.special(buf, lt);
        if (end < 0) return;
        pos = end;
        continue;
      }
      let gt = buf.indexOf('>', next);
      if (gt < 0) gt = len;
      if (gt === len) {
        if (len - lt > MAX_PENDING_TAG) this.fail('a tag longer than 64 KiB');
        this.keepText(buf, pos, lt);
        this.tail = buf.slice(lt);
        return;
      }
      if (first === 47 /* / */) {
        this.closeAt(buf, next + 1, gt, pos, lt);
        pos = gt + 1;
        continue;
      }
      const selfClosing = buf.charCodeAt(gt - 1) === 47;
      // Nearly every tag is a bare `<name>`; look for whitespace or attributes only when it is not.
      let tag = knownTag(buf, next, selfClosing ? gt - 1 : gt);
      if (tag === 0) {
        let nameEnd = next;
        while (nameEnd < gt) {
          const c = buf.charCodeAt(nameEnd);
          if (c === 32 || c === 47 || c === 9 || c === 10 || c === 13) break;
          nameEnd++;
        }
        tag = knownTag(buf, next, nameEnd);
        if (tag === 0) this.fail(`unexpected tag <${buf.slice(next, Math.min(nameEnd, next + 40))}>`);
      }
      this.openTag(tag, selfClosing, gt + 1);
      pos = gt + 1;
    }
    this.keepText(buf, pos, len);
  }

  /** Comments, processing instructions and CDATA. Returns the position after it, or -1 (need more). */
  private special(buf: string, lt: number): number {
    let end: number;
    if (buf.charCodeAt(lt + 1) === 63) end = indexOfSeq(buf, '?>', lt + 2, 2);
    else if (startsWith(buf, '<!--', lt)) end = indexOfSeq(buf, '-->', lt + 4, 3);
    else if (startsWith(buf, '<![CDATA[', lt)) {
      const close = buf.indexOf(']]>', lt + 9);
      if (close >= 0) {
        if (this.textFrom < 0) this.fail('CDATA outside a value');
        this.textPrefix = this.takeText(buf, lt) + buf.slice(lt + 9, close);
        this.textFrom = close + 3;
        return close + 3;
      }
      end = -1;
    } else if (buf.length - lt < 9 && '<![CDATA['.startsWith(buf.slice(lt))) end = -1;
    else if (startsWith(buf, '<!DOCTYPE', lt)) this.fail('DOCTYPE is not allowed in XML-RPC');
    else end = -1;
    if (end < 0) {
      if (buf.length - lt > MAX_PENDING_TAG) this.fail('unterminated comment, processing instruction or CDATA');
      this.keepText(buf, -1, -1);
      this.tail = buf.slice(lt);
      this.suspendText(buf, lt);
      return -1;
    }
    // A comment inside a value's text splits it; keep what came before.
    if (this.textFrom >= 0) {
      this.textPrefix = this.takeText(buf, lt);
      this.textFrom = end;
    }
    return end;
  }

  private suspendText(buf: string, upTo: number): void {
    if (this.textFrom < 0) return;
    (this.textParts ??= []).push(buf.slice(this.textFrom, upTo));
    this.textFrom = 0;
  }

  /** End of chunk while inside text: keep the piece, continue from 0 in the next chunk. */
  private keepText(buf: string, _from: number, to: number): void {
    if (this.textFrom < 0 || to < 0) return;
    if (to > this.textFrom) (this.textParts ??= []).push(buf.slice(this.textFrom, to));
    this.textFrom = 0;
  }

  /** `</name>` with name at buf[from, gt): it can only close the innermost open tag, so check just that. */
  private closeAt(buf: string, from: number, gt: number, pos: number, lt: number): void {
    const top = this.open.length > 0 ? this.open[this.open.length - 1]! : 0;
    const lit = top === T_INT && gt - from === 3 ? 'int' : TAG_LITERALS[top];
    let end = gt;
    while (end > from && isSpace(buf.charCodeAt(end - 1))) end--;
    if (lit === undefined || end - from !== lit.length) this.fail('mismatched closing tag');
    for (let i = 0; i < lit.length; i++) if (buf.charCodeAt(from + i) !== lit.charCodeAt(i)) this.fail('mismatched closing tag');
    this.close(top, buf, pos, lt);
  }

  private openTag(tag: number, selfClosing: boolean, after: number): void {
    if (this.open.length >= MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH}`);
    const parent = this.open.length > 0 ? this.open[this.open.length - 1]! : 0;
    switch (tag) {
      case T_VALUE:
        if (parent !== T_PARAM && parent !== T_DATA && parent !== T_MEMBER && parent !== T_FAULT) this.misplaced('value');
        if (selfClosing) return this.emit('');
        this.hasCurrent = false;
        this.textFrom = after;
        this.textParts = null;
        this.textPrefix = '';
        break;
      case T_STRUCT:
      case T_ARRAY:
        this.startTyped(parent, 'container');
        if (selfClosing) return this.setCurrent(tag === T_ARRAY ? [] : {});
        this.pushFrame(tag === T_ARRAY);
        this.textFrom = -1;
        break;
      case T_NIL:
        this.startTyped(parent, 'nil');
        this.textFrom = -1;
        if (selfClosing) return this.setCurrent(null);
        break;
      case T_STRING: case T_INT: case T_I8: case T_DOUBLE: case T_BOOLEAN: case T_DATETIME: case T_BASE64:
        this.startTyped(parent, 'scalar');
        if (selfClosing) return this.setCurrent(this.scalar(tag, ''));
        this.textFrom = after;
        this.textParts = null;
        this.textPrefix = '';
        break;
      case T_NAME:
        if (parent !== T_MEMBER) this.misplaced('name');
        if (selfClosing) {
          this.frames[this.depth - 1]!.name = '';
          return;
        }
        this.textFrom = after;
        this.textParts = null;
        this.textPrefix = '';
        break;
      case T_METHODNAME:
        if (parent !== T_CALL) this.misplaced('methodName');
        this.textFrom = after;
        this.textParts = null;
        this.textPrefix = '';
        break;
      case T_MEMBER:
        if (parent !== T_STRUCT) this.misplaced('member');
        this.frames[this.depth - 1]!.name = null;
        break;
      case T_DATA:
        if (parent !== T_ARRAY) this.misplaced('data');
        if (selfClosing) return;
        break;
      case T_PARAMS:
        if (parent !== T_RESPONSE && parent !== T_CALL) this.misplaced('params');
        if (selfClosing) return;
        break;
      case T_PARAM:
        if (parent !== T_PARAMS) this.misplaced('param');
        break;
      case T_FAULT:
        if (parent !== T_RESPONSE) this.misplaced('fault');
        this.kind = 'fault';
        break;
      case T_RESPONSE:
      case T_CALL:
        if (parent !== 0 || this.kind !== null) this.misplaced(tag === T_CALL ? 'methodCall' : 'methodResponse');
        this.kind = tag === T_CALL ? 'call' : 'response';
        if (selfClosing) return;
        break;
    }
    if (!selfClosing) this.open.push(tag);
  }

  private pushFrame(isArray: boolean): void {
    let frame = this.frames[this.depth];
    if (frame === undefined) {
      frame = new Frame();
      this.frames.push(frame);
    }
    this.depth++;
    frame.array = isArray ? [] : null;
    frame.count = 0;
    frame.name = null;
    frame.node = isArray ? null : shapeRoot();
  }

  private startTyped(parent: number, _what: string): void {
    if (parent !== T_VALUE || this.hasCurrent) this.misplaced('typed value');
  }

  private misplaced(what: string): never {
    this.fail(`<${what}> in the wrong place`);
  }

  private close(tag: number, buf: string, _pos: number, lt: number): void {
    const top = this.open.pop();
    if (top !== tag) this.fail('mismatched closing tag');
    switch (tag) {
      case T_VALUE: {
        if (this.hasCurrent) {
          this.hasCurrent = false;
          this.textFrom = -1;
          return this.emit(this.current);
        }
        const text = this.takeText(buf, lt);
        this.textFrom = -1;
        return this.emit(text.indexOf('\r') >= 0 ? text.replace(/\r\n?/g, '\n') : text);
      }
      case T_STRUCT:
      case T_ARRAY: {
        const frame = this.frames[--this.depth]!;
        if (frame.array !== null) {
          const array = frame.array;
          frame.array = null;
          return this.setCurrent(array);
        }
        const struct = buildStruct(frame.keys, frame.vals, frame.count, frame.node);
        frame.vals.fill(undefined, 0, frame.count);
        return this.setCurrent(struct);
      }
      case T_NAME: {
        const frame = this.frames[this.depth - 1]!;
        const fast = this.textParts === null && this.textPrefix === '' && this.textFrom >= 0 ? intern(buf, this.textFrom, lt) : null;
        frame.name = fast ?? this.takeText(buf, lt);
        this.textFrom = -1;
        return;
      }
      case T_METHODNAME:
        this.methodName = this.takeText(buf, lt).trim();
        this.textFrom = -1;
        return;
      case T_NIL:
        return this.setCurrent(null);
      case T_MEMBER: {
        const frame = this.frames[this.depth - 1]!;
        if (frame.name === null) this.fail('struct member without a name');
        return;
      }
      case T_STRING: case T_INT: case T_I8: case T_DOUBLE: case T_BOOLEAN: case T_DATETIME: case T_BASE64: {
        const text = this.takeText(buf, lt);
        this.textFrom = -1;
        return this.setCurrent(this.scalar(tag, text));
      }
    }
  }

  private setCurrent(v: unknown): void {
    this.current = v;
    this.hasCurrent = true;
  }

  private emit(v: unknown): void {
    const frame = this.depth > 0 ? this.frames[this.depth - 1]! : null;
    const parent = this.open[this.open.length - 1];
    if (frame && parent === T_DATA) frame.array!.push(v);
    else if (frame && parent === T_MEMBER) {
      const name = frame.name;
      if (name === null) this.fail('struct member value before its name');
      const i = frame.count++;
      frame.keys[i] = name;
      frame.vals[i] = v;
      if (frame.node !== null) frame.node = shapeStep(frame.node, name);
    } else this.params.push(v);
    this.hasCurrent = false;
  }

  /** The text from `textFrom` up to `end` in this chunk, plus pieces kept from earlier chunks. */
  private takeText(buf: string, end: number): string {
    let text: string;
    const from = this.textFrom < 0 ? end : this.textFrom;
    if (this.textParts) {
      this.textParts.push(buf.slice(from, end));
      text = this.textParts.join('');
      this.textParts = null;
    } else {
      text = buf.slice(from, end);
    }
    if (text.indexOf('&') >= 0) text = decodeEntities(text, this.failure);
    if (this.textPrefix) {
      text = this.textPrefix + text;
      this.textPrefix = '';
    }
    return text;
  }

  private scalar(tag: number, text: string): unknown {
    switch (tag) {
      case T_STRING:
        return text.indexOf('\r') >= 0 ? text.replace(/\r\n?/g, '\n') : text;
      case T_INT: {
        const t = text.trim();
        if (!/^[+-]?\d+$/.test(t)) this.fail(`bad <int> ${JSON.stringify(t.slice(0, 40))}`);
        const n = Number(t);
        return Number.isSafeInteger(n) ? n : BigInt(t);
      }
      case T_I8: {
        const t = text.trim();
        if (!/^[+-]?\d+$/.test(t)) this.fail(`bad <i8> ${JSON.stringify(t.slice(0, 40))}`);
        return BigInt(t);
      }
      case T_DOUBLE: {
        const t = text.trim().toLowerCase();
        if (t === 'nan' || t === '-nan') return Number.NaN;
        if (t === 'inf' || t === 'infinity') return Number.POSITIVE_INFINITY;
        if (t === '-inf' || t === '-infinity') return Number.NEGATIVE_INFINITY;
        const n = t === '' ? Number.NaN : Number(t);
        if (Number.isNaN(n)) this.fail(`bad <double> ${JSON.stringify(t.slice(0, 40))}`);
        return n;
      }
      case T_BOOLEAN: {
        const t = text.trim();
        if (t === '1' || t === 'true') return true;
        if (t === '0' || t === 'false') return false;
        return this.fail(`bad <boolean> ${JSON.stringify(t.slice(0, 40))}`);
      }
      case T_DATETIME: {
        const d = parseXapiDate(text);
        if (!d) this.fail(`bad <dateTime.iso8601> ${JSON.stringify(text.slice(0, 40))}`);
        return d;
      }
      case T_BASE64:
        return Buffer.from(text.replace(/\s+/g, ''), 'base64');
      default:
        return text;
    }
  }
}


/** The code of the tag named buf[from, to), or 0 when it is not one of XML-RPC's. */
function knownTag(buf: string, from: number, to: number): number {
  // Dispatch on bytes: no string is made for a tag, which matters at a million tags per response.
  const n = to - from;
  const b0 = buf.charCodeAt(from);
  let code = 0;
  switch (n) {
    case 2:
      code = b0 === 105 && buf.charCodeAt(from + 1) === 52 ? T_INT : b0 === 105 && buf.charCodeAt(from + 1) === 56 ? T_I8 : 0;
      break;
    case 3:
      code = b0 === 105 ? T_INT : T_NIL;
      break;
    case 4:
      code = b0 === 110 ? T_NAME : T_DATA;
      break;
    case 5:
      code = b0 === 118 ? T_VALUE : b0 === 97 ? T_ARRAY : b0 === 112 ? T_PARAM : T_FAULT;
      break;
    case 6:
      code =
        b0 === 109 ? T_MEMBER : b0 === 100 ? T_DOUBLE : b0 === 98 ? T_BASE64 : b0 === 112 ? T_PARAMS
          : buf.charCodeAt(from + 3) === 117 ? T_STRUCT : T_STRING;
      break;
    case 7:
      code = T_BOOLEAN;
      break;
    case 10:
      code = buf.charCodeAt(from + 6) === 67 ? T_CALL : T_METHODNAME;
      break;
    case 14:
      code = T_RESPONSE;
      break;
    case 16:
      code = T_DATETIME;
      break;
  }
  if (code !== 0) {
    const lit = code === T_INT && n === 3 ? 'int' : TAG_LITERALS[code]!;
    let i = 0;
    while (i < n && buf.charCodeAt(from + i) === lit.charCodeAt(i)) i++;
    if (i === n) return code;
  }
  return 0;
}

/** Decode a whole XML-RPC message held in memory (task results, tests). */
export function decodeXmlRpc(body: Uint8Array | string): XmlRpcMessage {
  const d = new XmlRpcDecoder();
  d.write(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return d.end();
}
