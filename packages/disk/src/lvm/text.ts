import { DiskError } from '../block/errors.js';

/**
 * LVM2 text metadata ("vg { id = \"…\" seqno = 3 physical_volumes { pv0 { … } } … }"): sections,
 * `key = value` where a value is a number, a "string" or a [list]. Parsed into null-prototype objects
 * so a hostile key like __proto__ is just a key. Depth and size are bounded.
 */
export type LvmValue = number | string | LvmValue[] | LvmSection;
export interface LvmSection {
  [key: string]: LvmValue;
}

const MAX_DEPTH = 32;
const MAX_TEXT = 4 * 1024 * 1024;

export function parseLvmText(text: string, path: string): LvmSection {
  if (text.length > MAX_TEXT) throw bad(path, `metadata text is ${text.length} bytes, over the ${MAX_TEXT}-byte limit`);
  let i = 0;
  const n = text.length;

  const skip = (): void => {
    while (i < n) {
      const c = text[i] as string;
      if (c === '#') {
        while (i < n && text[i] !== '\n') i++;
      } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\0') i++;
      else break;
    }
  };
  const ident = (): string => {
    const start = i;
    while (i < n && /[A-Za-z0-9_.+\-]/.test(text[i] as string)) i++;
    if (i === start) throw bad(path, `unexpected ${JSON.stringify(text[i] ?? 'end of text')} at offset ${i}`);
    return text.slice(start, i);
  };
  const str = (): string => {
    i++; // opening quote
    let s = '';
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < n) i++;
      s += text[i];
      i++;
    }
    if (i >= n) throw bad(path, 'unterminated string');
    i++;
    return s;
  };
  const value = (depth: number): LvmValue => {
    skip();
    const c = text[i];
    if (c === '"') return str();
    if (c === '[') {
      if (depth > MAX_DEPTH) throw bad(path, 'lists nested too deeply');
      i++;
      const list: LvmValue[] = [];
      for (;;) {
        skip();
        if (text[i] === ']') {
          i++;
          return list;
        }
        list.push(value(depth + 1));
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') throw bad(path, `expected "," or "]" at offset ${i}`);
      }
    }
    const word = ident();
    const num = Number(word);
    if (!Number.isFinite(num)) throw bad(path, `bad value ${JSON.stringify(word.slice(0, 40))} at offset ${i}`);
    return num;
  };
  const section = (depth: number, closing: boolean): LvmSection => {
    if (depth > MAX_DEPTH) throw bad(path, 'sections nested too deeply');
    const out = Object.create(null) as LvmSection;
    for (;;) {
      skip();
      if (i >= n) {
        if (closing) throw bad(path, 'unexpected end of text inside a section');
        return out;
      }
      if (text[i] === '}') {
        if (!closing) throw bad(path, `unbalanced "}" at offset ${i}`);
        i++;
        return out;
      }
      const key = ident();
      skip();
      if (text[i] === '{') {
        i++;
        out[key] = section(depth + 1, true);
      } else if (text[i] === '=') {
        i++;
        out[key] = value(depth);
      } else throw bad(path, `expected "=" or "{" after ${JSON.stringify(key.slice(0, 40))} at offset ${i}`);
    }
  };
  return section(0, false);
}

function bad(path: string, what: string): DiskError {
  return new DiskError('E_LVM_BAD_METADATA', `${path}: LVM metadata cannot be parsed: ${what}`, { path });
}
