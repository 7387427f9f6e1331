import type { BootEntry } from './types.js';

/** One Boot Loader Specification snippet (/boot/loader/entries/*.conf). */
export function parseBlsEntry(id: string, text: string, vars: Map<string, string>): BootEntry {
  const entry: BootEntry = { title: id, id, submenus: [], args: '' };
  for (const raw of text.split('\n')) {
    const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(raw);
    if (!m || raw.trim().startsWith('#')) continue;
    const key = m[1] as string;
    const value = m[2] as string;
    if (key === 'title') entry.title = value;
    else if (key === 'linux') entry.kernel = value;
    else if (key === 'initrd') entry.initrd ??= value.split(/\s+/)[0];
    else if (key === 'options') entry.args = expandVars(value, vars);
  }
  return entry;
}

/** grub's blscfg expands `$kernelopts` and `${var}` from grubenv and grub.cfg. */
function expandVars(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => vars.get(name) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * grub's blscfg sorts entries newest version first; comparing the ids (machine-id + kernel version)
 * with a numeric-aware descending sort gives that order for the usual names.
 */
export function sortBlsIds(ids: string[]): string[] {
  return [...ids].sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}
