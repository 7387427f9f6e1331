import { stripDevice, type BootEntry } from './types.js';

/** grub-legacy's command/argument split: the first of blank or `=` separates them. */
function split(line: string): [string, string] {
  const m = /^([^\s=]+)[\s=]*(.*)$/.exec(line);
  return m ? [m[1] as string, (m[2] as string).trim()] : [line, ''];
}

/** menu.lst / grub.conf: `default N` (or `saved`, which pygrub reads as 0), `title`, `kernel`, `initrd`. */
export function parseGrubLegacy(text: string): { entries: BootEntry[]; defaultValue: string } {
  const entries: BootEntry[] = [];
  let defaultValue = '0';
  let cur: BootEntry | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    if (line.startsWith('title')) {
      if (cur) entries.push(cur);
      cur = { title: line.slice(6).trim(), submenus: [], args: '' };
      continue;
    }
    const [cmd, arg] = split(line);
    if (!cur) {
      if (cmd === 'default') defaultValue = arg;
      continue;
    }
    if (cmd === 'kernel') {
      const [path] = arg.split(/\s+/);
      cur.kernel = stripDevice(path ?? '');
      cur.args = arg.slice((path ?? '').length).trim();
    } else if (cmd === 'initrd') {
      cur.initrd = stripDevice(arg.split(/\s+/)[0] ?? '');
    }
  }
  if (cur) entries.push(cur);
  return { entries, defaultValue };
}

export function legacyDefaultIndex(defaultValue: string, count: number): number {
  const n = /^\d+$/.test(defaultValue) ? Number(defaultValue) : 0;
  return n < count ? n : 0;
}
