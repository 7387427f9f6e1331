/** Text helpers of the XML-RPC decoder: member-name interning, entity references, UTF-8 batch boundaries. */

// Member names repeat for every record (XAPI has a few hundred field names, sent millions of times),
// so they come from a small table of internalized strings: a hit allocates nothing, and the property
// store that follows finds an internalized key instead of hashing and looking up a fresh one.
const INTERN_SLOTS = 4096;
const INTERN_MAX = 64;
const internTable: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** The text of buf[from, to) as an internalized string, or null when it needs the general path. */
export function intern(buf: string, from: number, to: number): string | null {
  const n = to - from;
  if (n === 0) return '';
  if (n > INTERN_MAX) return null;
  let h = n;
  for (let i = from; i < to; i++) {
    const c = buf.charCodeAt(i);
    if (c === 38 /* & */) return null;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 13)) & (INTERN_SLOTS - 1);
  const known = internTable[slot]!;
  if (known.length === n) {
    let i = 0;
    while (i < n && known.charCodeAt(i) === buf.charCodeAt(from + i)) i++;
    if (i === n) return known;
  }
  // A property key comes back internalized and flat: it keeps no 512 KiB batch string alive.
  const fresh = Object.keys({ [buf.slice(from, to)]: 0 })[0]!;
  internTable[slot] = fresh;
  return fresh;
}

/**
 * Replace `&name;` references in `text`. An `&` that does not start a reference (no `;` within 12
 * characters) is kept as it is, as lenient XML-RPC peers do; an unknown reference is an error.
 */
export function decodeEntities(text: string, fail: (m: string) => never): string {
  let out = '';
  let from = 0;
  let amp = text.indexOf('&');
  while (amp >= 0) {
    const semi = text.indexOf(';', amp + 1);
    const nextAmp = text.indexOf('&', amp + 1);
    if (semi < 0 || semi - amp > 13 || (nextAmp >= 0 && nextAmp < semi)) {
      amp = nextAmp;
      continue;
    }
    out += text.slice(from, amp) + entity(text.slice(amp + 1, semi), fail);
    from = semi + 1;
    amp = text.indexOf('&', from);
  }
  return from === 0 ? text : out + text.slice(from);
}

function entity(ent: string, fail: (m: string) => never): string {
  switch (ent) {
    case 'lt': return '<';
    case 'gt': return '>';
    case 'amp': return '&';
    case 'quot': return '"';
    case 'apos': return "'";
  }
  let code = Number.NaN;
  if (/^#x[0-9a-fA-F]+$/.test(ent)) code = Number.parseInt(ent.slice(2), 16);
  else if (/^#\d+$/.test(ent)) code = Number.parseInt(ent.slice(1), 10);
  if (!Number.isInteger(code) || code > 0x10ffff) return fail(`unknown entity &${ent};`);
  return String.fromCodePoint(code);
}

/** How much of `b` is whole UTF-8 characters (a split one at the end waits for the next batch). */
export function completeUtf8(b: Buffer): number {
  const n = b.length;
  if (n === 0 || b[n - 1]! < 0x80) return n;
  let lead = n - 1;
  while (lead > 0 && lead > n - 4 && (b[lead]! & 0xc0) === 0x80) lead--;
  const c = b[lead]!;
  const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return lead + need > n ? lead : n;
}

export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

export function startsWith(buf: string, lit: string, at: number): boolean {
  if (buf.length - at < lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf.charCodeAt(at + i) !== lit.charCodeAt(i)) return false;
  return true;
}

export function indexOfSeq(buf: string, seq: string, from: number, len: number): number {
  const i = buf.indexOf(seq, from);
  return i < 0 ? -1 : i + len;
}
