import { stripDevice, type BootEntry } from './types.js';

/** A grub.cfg menu as grub builds it: entries and submenus, nested. */
export type MenuItem = { kind: 'entry'; entry: BootEntry } | { kind: 'submenu'; title: string; id?: string; items: MenuItem[] };

export interface Grub2Config {
  items: MenuItem[];
  /** Every `set default=` value at top level, in order. */
  defaults: string[];
  /** True when the config loads BLS snippets (`blscfg`). */
  bls: boolean;
  /** Top-level `set NAME=value` assignments (kernelopts and friends). */
  vars: Map<string, string>;
}

const MAX_ITEMS = 10_000;

/** Split a grub command line into words, honouring quotes. */
export function grubWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function titleAndId(words: string[]): { title: string; id?: string } {
  const title = words[1] ?? '';
  let id: string | undefined;
  for (let i = 2; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--id' || w === '$menuentry_id_option') id = words[i + 1];
    else if (w.startsWith('--id=')) id = w.slice(5);
  }
  return id === undefined ? { title } : { title, id };
}

/** Parse grub.cfg into grub's menu tree. Unknown commands are ignored; function bodies are skipped. */
export function parseGrub2(text: string): Grub2Config {
  const root: MenuItem[] = [];
  const stack: { items: MenuItem[] }[] = [{ items: root }];
  const submenuTitles: string[] = [];
  let entry: BootEntry | null = null;
  let braceDepthInEntry = 0;
  let inFunction = 0;
  let count = 0;
  const cfg: Grub2Config = { items: root, defaults: [], bls: false, vars: new Map() };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const words = grubWords(line);
    const cmd = words[0] ?? '';
    if (inFunction > 0) {
      if (line.endsWith('{')) inFunction++;
      if (line.startsWith('}')) inFunction--;
      continue;
    }
    if (cmd === 'function') {
      inFunction = line.endsWith('{') ? 1 : 0;
      continue;
    }
    if (entry) {
      if (line === '}' && braceDepthInEntry === 0) {
        (stack[stack.length - 1] as { items: MenuItem[] }).items.push({ kind: 'entry', entry });
        entry = null;
        continue;
      }
      if (line.endsWith('{')) braceDepthInEntry++;
      else if (line === '}') braceDepthInEntry--;
      if (/^linux(16|efi)?$/.test(cmd) && words[1]) {
        entry.kernel = stripDevice(words[1]);
        entry.args = argsAfter(line, 2);
      } else if (/^initrd(16|efi)?$/.test(cmd) && words[1]) {
        entry.initrd = stripDevice(words[1]);
      }
      continue;
    }
    if ((cmd === 'menuentry' || cmd === 'submenu') && line.endsWith('{') && count++ < MAX_ITEMS) {
      const { title, id } = titleAndId(words.slice(0, -1));
      if (cmd === 'menuentry') {
        entry = { title, submenus: [...submenuTitles], args: '', ...(id ? { id } : {}) };
        braceDepthInEntry = 0;
      } else {
        const sub: MenuItem = { kind: 'submenu', title, items: [], ...(id ? { id } : {}) };
        (stack[stack.length - 1] as { items: MenuItem[] }).items.push(sub);
        stack.push(sub);
        submenuTitles.push(title);
      }
      continue;
    }
    if (line === '}' && stack.length > 1) {
      stack.pop();
      submenuTitles.pop();
      continue;
    }
    if (cmd === 'blscfg') cfg.bls = true;
    if (cmd === 'set' && words[1]) {
      const eq = (words[1] as string).indexOf('=');
      if (eq > 0) {
        const name = (words[1] as string).slice(0, eq);
        const value = (words[1] as string).slice(eq + 1);
        if (name === 'default' && stack.length === 1) cfg.defaults.push(value);
        else cfg.vars.set(name, value);
      }
    }
  }
  return cfg;
}

/** The raw text of a command line after its first `skip` words (kernel arguments keep their spacing). */
function argsAfter(line: string, skip: number): string {
  let rest = line;
  for (let i = 0; i < skip; i++) rest = rest.replace(/^\s*(?:"[^"]*"|'[^']*'|\S)+/, '');
  return rest.trim();
}

/** Every entry in menu order, submenus flattened (pygrub's `images` list). */
export function flatten(items: MenuItem[]): BootEntry[] {
  const out: BootEntry[] = [];
  const walk = (list: MenuItem[]) => {
    for (const it of list) {
      if (it.kind === 'entry') out.push(it.entry);
      else walk(it.items);
    }
  };
  walk(items);
  return out;
}

/** grubenv: `# GRUB Environment Block` then NAME=value lines, padded with `#`. */
export function parseGrubenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1] as string, m[2] as string);
  }
  return vars;
}

/**
 * The default grub itself boots. `default` is the last top-level `set default=`; `${saved_entry}`
 * reads grubenv, and a non-empty grubenv `next_entry` (a one-shot boot) wins. A value is an index into
 * the top-level menu, a title or id, or a `>`-separated path through submenus. Unknown → entry 0.
 */
export function grubDefault(cfg: Grub2Config, env: Map<string, string>): { entry: BootEntry | undefined; reason: string } {
  const next = env.get('next_entry');
  let value: string | undefined;
  let reason: string;
  const usesNext = cfg.defaults.some((d) => d.includes('${next_entry}'));
  if (usesNext && next) {
    value = next;
    reason = `grubenv next_entry=${next}`;
  } else {
    const last = [...cfg.defaults].reverse().find((d) => !d.includes('${next_entry}'));
    if (last === undefined) {
      value = '0';
      reason = 'no "set default", grub boots entry 0';
    } else if (last.includes('${saved_entry}')) {
      value = env.get('saved_entry') || '0';
      reason = env.get('saved_entry') ? `set default="\${saved_entry}", grubenv saved_entry=${value}` : 'set default="${saved_entry}" with no saved_entry in grubenv: entry 0';
    } else {
      value = last;
      reason = `set default="${last}"`;
    }
  }
  const found = selectPath(cfg.items, value.split('>'));
  if (found) return { entry: found, reason };
  return { entry: firstEntry(cfg.items), reason: `${reason} matches no entry, grub boots entry 0` };
}

function firstEntry(items: MenuItem[]): BootEntry | undefined {
  for (const it of items) {
    if (it.kind === 'entry') return it.entry;
    const e = firstEntry(it.items);
    if (e) return e;
  }
  return undefined;
}

function selectPath(items: MenuItem[], path: string[]): BootEntry | undefined {
  const [head, ...rest] = path;
  if (head === undefined) return firstEntry(items);
  let item: MenuItem | undefined;
  if (/^\d+$/.test(head)) item = items[Number(head)];
  else item = items.find((it) => (it.kind === 'entry' ? it.entry.title === head || it.entry.id === head : it.title === head || it.id === head));
  if (!item) return undefined;
  if (item.kind === 'entry') return rest.length === 0 ? item.entry : undefined;
  return rest.length === 0 ? firstEntry(item.items) : selectPath(item.items, rest);
}

/**
 * pygrub's choice (xen `tools/pygrub`): the last top-level `set default=` as an integer index into
 * the flattened entry list; `${saved_entry}`/`${next_entry}` and any non-integer value mean 0, and an
 * index past the end means 0.
 */
export function pygrubDefault(cfg: Grub2Config, entries: BootEntry[]): number {
  const last = cfg.defaults[cfg.defaults.length - 1];
  const n = last !== undefined && /^\s*\d+\s*$/.test(last) ? Number(last) : 0;
  return n < entries.length ? n : 0;
}

/**
 * The menu as pygrub (Xen 4.17 GrubConf.Grub2ConfigFile) parses it, which differs from grub: an entry
 * counts only when its line matches `^menuentry ["'](.*?)["'] (.*){` (quoted title, a space, a
 * brace), and a `}` closing anything else at top level, a nested entry, or an unclosed one is a
 * syntax error that makes pygrub give up on the file. Returns the entry titles, or the error.
 */
export function pygrubMenu(text: string): { titles: string[] } | { error: string } {
  const titles: string[] = [];
  let inFunction = false;
  let inEntry = false;
  let level = 0;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l.length === 0 || l.startsWith('#')) continue;
    if (l.startsWith('function')) {
      inFunction = true;
      continue;
    }
    if (inFunction) {
      if (l.startsWith('}')) inFunction = false;
      continue;
    }
    const m = /^menuentry ["'](.*?)["'] (.*)\{/.exec(l);
    if (m) {
      if (inEntry) return { error: 'pygrub: cannot nest menuentry' };
      inEntry = true;
      titles.push(m[1] as string);
      if (titles.length > MAX_ITEMS) return { error: 'pygrub: too many entries' };
      continue;
    }
    if (l.startsWith('submenu')) {
      level++;
      continue;
    }
    if (l.startsWith('}')) {
      if (inEntry) inEntry = false;
      else if (level > 0) level--;
      else return { error: `pygrub: closing brace without menuentry (a menuentry whose title is not quoted, or has no space before "{", is not an entry to pygrub)` };
    }
  }
  if (inEntry) return { error: 'pygrub: end of file with open menuentry' };
  return { titles };
}
