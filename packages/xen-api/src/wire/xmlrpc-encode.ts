import { XapiProtocolError } from '../errors.js';
import { formatXapiDate } from './datetime.js';

/**
 * XML-RPC request encoding the way XAPI's own marshaller writes values: strings untyped
 * (`<value>text</value>`), int64 as decimal strings (XAPI's unmarshaller takes `Int` or `String` for
 * ints, and `String` for floats too, so an integer sent as a string fits either), non-integers as
 * `<double>`, booleans as 1/0, datetimes in XAPI's basic format. `undefined` struct members are dropped.
 */
export function encodeXmlRpcCall(method: string, params: readonly unknown[]): string {
  const out: string[] = ['<?xml version="1.0"?><methodCall><methodName>', escapeXml(method), '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    encodeValue(p, out, 0);
    out.push('</param>');
  }
  out.push('</params></methodCall>');
  return out.join('');
}

/** One value as `<value>…</value>` (also how `task.result` is stored). */
export function encodeXmlRpcValue(value: unknown): string {
  const out: string[] = [];
  encodeValue(value, out, 0);
  return out.join('');
}

function encodeValue(v: unknown, out: string[], depth: number): void {
  if (depth > 200) throw new XapiProtocolError('E_XAPI_CONFIG', 'XML-RPC argument nested deeper than 200 levels');
  switch (typeof v) {
    case 'string':
      out.push('<value>', escapeXml(v), '</value>');
      return;
    case 'bigint':
      out.push('<value>', v.toString(), '</value>');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new XapiProtocolError('E_XAPI_CONFIG', `cannot send ${v} over XML-RPC`);
      if (Number.isInteger(v)) out.push('<value>', v.toFixed(0), '</value>');
      else out.push('<value><double>', String(v), '</double></value>');
      return;
    case 'boolean':
      out.push(v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
      return;
    case 'undefined':
      out.push('<value><nil/></value>');
      return;
    case 'object':
      break;
    default:
      throw new XapiProtocolError('E_XAPI_CONFIG', `cannot send a ${typeof v} over XML-RPC`);
  }
  if (v === null) out.push('<value><nil/></value>');
  else if (v instanceof Date) out.push('<value><dateTime.iso8601>', formatXapiDate(v), '</dateTime.iso8601></value>');
  else if (v instanceof Uint8Array) out.push('<value><base64>', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), '</base64></value>');
  else if (Array.isArray(v)) {
    out.push('<value><array><data>');
    for (const item of v) encodeValue(item, out, depth + 1);
    out.push('</data></array></value>');
  } else {
    out.push('<value><struct>');
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined) continue;
      out.push('<member><name>', escapeXml(k), '</name>');
      encodeValue(item, out, depth + 1);
      out.push('</member>');
    }
    out.push('</struct></value>');
  }
}

// XML 1.0 cannot carry most C0 controls even as character references; XAPI would reject the request.
// eslint-disable-next-line no-control-regex
const BAD_XML_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

export function escapeXml(s: string): string {
  if (BAD_XML_CHARS.test(s)) {
    throw new XapiProtocolError('E_XAPI_CONFIG', 'a string argument contains a control character XML cannot carry', {
      sample: JSON.stringify(s.slice(0, 40)),
    });
  }
  return /[&<>\r]/.test(s) ? s.replace(/[&<>\r]/g, (c) => ESCAPES[c]!) : s;
}
