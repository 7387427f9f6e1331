import { inputError } from '../errors.js';

/** One `key = value` from a nova.conf, with where it came from so messages can point at it. */
export interface IniValue {
  value: string;
  file: string;
  line: number;
}

/** Section name → key → the last assignment seen (oslo.config: the last value wins for single options). */
export type IniSections = Map<string, Map<string, IniValue>>;

/** A nova.conf can be large but never this large; bounds the work a hostile file can cause. */
export const MAX_CONF_BYTES = 8 * 1024 * 1024;

/**
 * Parse one oslo.config ini file into `into` (later files override earlier ones, as with repeated
 * `--config-file`). Follows oslo_config/iniparser.py: `=` or `:` separates key and value (whichever comes
 * first), one pair of matching quotes around a value is dropped, indented lines continue the previous
 * value (joined with "\n"), a blank line ends it, `#`/`;` start comments only at column 0, and a
 * section name other than `DEFAULT` is compared lower-cased.
 */
export function parseNovaConf(text: string, file: string, into: IniSections = new Map()): IniSections {
  if (text.length > MAX_CONF_BYTES) {
    throw inputError('E_NOVA_CONF_PARSE', `${file} is ${text.length} bytes; a nova.conf over ${MAX_CONF_BYTES} bytes is not accepted`, { file });
  }
  const fail = (line: number, what: string, content: string): never => {
    throw inputError('E_NOVA_CONF_PARSE', `${file} line ${line}: ${what}: ${JSON.stringify(content)}`, {
      file,
      line,
      content,
    });
  };
  let section: Map<string, IniValue> | undefined;
  let key: string | undefined;
  let keyLine = 0;
  let value: string[] = [];
  const flush = (): void => {
    if (key === undefined) return;
    if (!section) fail(keyLine, 'an assignment appears before the first [section]', key);
    section!.set(key, { value: value.join('\n'), file, line: keyLine });
    key = undefined;
    value = [];
  };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key === undefined) fail(lineNo, 'unexpected continuation line', line);
      value.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) fail(lineNo, 'invalid section (must end with ])', line);
      if (line.length <= 2) fail(lineNo, 'empty section name', line);
      const raw = line.slice(1, -1);
      const name = raw === 'DEFAULT' ? raw : raw.toLowerCase();
      section = into.get(name) ?? new Map();
      into.set(name, section);
    } else if (line.startsWith('#') || line.startsWith(';')) {
      continue;
    } else {
      const colon = line.indexOf(':');
      const equal = line.indexOf('=');
      if (colon < 0 && equal < 0) fail(lineNo, "no ':' or '=' found in assignment", line);
      const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
      const k = line.slice(0, at).trim();
      let v = line.slice(at + 1).trim();
      if (v.length >= 2 && v[0] === v[v.length - 1] && (v[0] === '"' || v[0] === "'")) v = v.slice(1, -1);
      else if (v.length === 1 && (v === '"' || v === "'")) v = '';
      if (k === '') fail(lineNo, 'key cannot be empty', line);
      key = k;
      keyLine = lineNo;
      value = [v];
    }
  }
  flush();
  return into;
}
