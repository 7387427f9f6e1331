import type { BootEntry } from './types.js';

/** extlinux.conf / isolinux.cfg: `DEFAULT label`, `LABEL`, `KERNEL`/`LINUX`, `APPEND`, `INITRD`. */
export function parseExtlinux(text: string): { entries: BootEntry[]; defaultLabel?: string } {
  const entries: BootEntry[] = [];
  let defaultLabel: string | undefined;
  let cur: BootEntry | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const cmd = (m[1] as string).toLowerCase();
    const arg = (m[2] as string).trim();
    if (cmd === 'label') {
      if (cur) entries.push(cur);
      cur = { title: arg, submenus: [], args: '' };
      continue;
    }
    if (!cur) {
      if (cmd === 'default') defaultLabel = arg;
      continue;
    }
    if (cmd === 'kernel' || cmd === 'linux') {
      const [path, ...rest] = arg.split(/\s+/);
      cur.kernel = path;
      if (rest.length > 0) cur.args = rest.join(' ');
    } else if (cmd === 'append') {
      const words = arg.split(/\s+/).filter((w) => w.length > 0);
      const initrd = words.find((w) => w.toLowerCase().startsWith('initrd='));
      if (initrd) cur.initrd = initrd.slice(7);
      cur.args = words.filter((w) => !w.toLowerCase().startsWith('initrd=')).join(' ');
    } else if (cmd === 'initrd') {
      cur.initrd = arg;
    }
  }
  if (cur) entries.push(cur);
  return { entries, ...(defaultLabel !== undefined ? { defaultLabel } : {}) };
}
