import { XapiProtocolError } from '../errors.js';

// An integer literal of 16+ digits after a JSON value separator may exceed 2^53; cheap to look for.
const LONG_INT = /[:[,]\s*-?\d{16,}(?![\d.eE])/;

/**
 * JSON.parse that loses no int64 precision. XAPI's JSON-RPC writes int64 as bare integer literals, so
 * `JSON.parse` would round anything past 2^53. Such literals are rare, so the common path is plain
 * JSON.parse; when the text has one, a string-aware pass quotes unsafe integers first, and the schema
 * conversion turns them into bigint like the XML-RPC path's decimal strings.
 */
export function parseJsonLossless(text: string): unknown {
  try {
    return JSON.parse(LONG_INT.test(text) ? quoteUnsafeIntegers(text) : text);
  } catch (e) {
    throw new XapiProtocolError('E_XAPI_JSON', `malformed JSON-RPC response: ${(e as Error).message}`, {}, e);
  }
}

export function quoteUnsafeIntegers(text: string): string {
  const out: string[] = [];
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++;
        else break;
      }
      const lit = text.slice(start, i);
      if (/^-?\d+$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        out.push(text.slice(last, start), '"', lit, '"');
        last = i;
      }
      continue;
    }
    i++;
  }
  if (last === 0) return text;
  out.push(text.slice(last));
  return out.join('');
}

/** JSON text for a request: bigint as a bare integer literal (XAPI's int64), Date in XAPI's format. */
export function stringifyJson(value: unknown, formatDate: (d: Date) => string): string {
  const marks: string[] = [];
  // A per-call nonce, so no string the caller sends can pass for a placeholder.
  const nonce = Math.random().toString(36).slice(2, 10);
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    if (typeof raw === 'bigint') {
      marks.push(raw.toString());
      return `\u0000${nonce}:${marks.length - 1}\u0000`;
    }
    if (raw instanceof Date) return formatDate(raw);
    return v;
  });
  if (marks.length === 0) return text;
  const placeholder = new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g');
  return text.replace(placeholder, (_m, i: string) => marks[Number(i)]!);
}
