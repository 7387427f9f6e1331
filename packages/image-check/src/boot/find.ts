import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isFile, listDir, readBytes, readText } from '../text.js';
import { parseBlsEntry, sortBlsIds } from './bls.js';
import { parseExtlinux } from './extlinux.js';
import { flatten, grubDefault, parseGrub2, parseGrubenv, pygrubDefault, pygrubMenu } from './grub2.js';
import { legacyDefaultIndex, parseGrubLegacy } from './legacy.js';
import type { BootConfig, BootEntry, BootFormat } from './types.js';

/** pygrub's config search order (xen tools/pygrub `read_config`): first file found wins. */
export const PYGRUB_CONFIGS: { path: string; format: 'grub2' | 'extlinux' | 'grub-legacy' }[] = [
  ...['/boot/grub/grub.cfg', '/grub/grub.cfg', '/boot/grub2/grub.cfg', '/grub2/grub.cfg'].map((path) => ({ path, format: 'grub2' as const })),
  ...['/boot/isolinux/isolinux.cfg', '/boot/extlinux/extlinux.conf', '/boot/extlinux.conf', '/extlinux/extlinux.conf', '/extlinux.conf'].map((path) => ({
    path,
    format: 'extlinux' as const,
  })),
  ...['/boot/grub/menu.lst', '/boot/grub/grub.conf', '/grub/menu.lst', '/grub/grub.conf'].map((path) => ({ path, format: 'grub-legacy' as const })),
];

// pygrub reads at most 1 MiB of the config (FS_READ_MAX).
const PYGRUB_READ_MAX = 1024 * 1024;
// grub itself has no limit; past this a "config" is no config we can judge (a coded error).
const MAX_WHOLE_CONFIG = 64 * 1024 * 1024;
const decoder = new TextDecoder('utf-8', { fatal: false });
const MAX_BLS_ENTRIES = 256;

/**
 * Find the boot loader config the way pygrub does and pick its default entry.
 * @param mountOf the mount point holding a guest path ("/boot" for a separate /boot), so kernel paths
 *   written relative to that filesystem can be found in the guest view.
 */
export async function findBootConfig(fs: ReadOnlyFileSystem, mountOf: (path: string) => Promise<string> = async () => '/'): Promise<BootConfig | null> {
  for (const { path, format } of PYGRUB_CONFIGS) {
    if (!(await isFile(fs, path))) continue;
    // grub reads the whole file; pygrub only its first 1 MiB and carries on with that.
    const bytes = (await readBytes(fs, path, MAX_WHOLE_CONFIG)) ?? new Uint8Array();
    const text = decoder.decode(bytes);
    const head = bytes.length > PYGRUB_READ_MAX ? decoder.decode(bytes.subarray(0, PYGRUB_READ_MAX)) : text;
    const mount = await mountOf(path);
    const pathPrefix = mount === '/' ? '' : mount;
    const base = { file: path, pathPrefix };
    if (format === 'grub2') return grub2Config(fs, path, text, head, base);
    if (format === 'extlinux') {
      const { entries, defaultLabel } = parseExtlinux(head);
      const idx = Math.max(0, entries.findIndex((e) => e.title === defaultLabel));
      return { ...base, format, entries, defaultIndex: idx, pygrubIndex: idx, defaultReason: defaultLabel ? `DEFAULT ${defaultLabel}` : 'no DEFAULT, first LABEL' };
    }
    const { entries, defaultValue } = parseGrubLegacy(head);
    const idx = legacyDefaultIndex(defaultValue, entries.length);
    return { ...base, format, entries, defaultIndex: idx, pygrubIndex: idx, defaultReason: `default ${defaultValue}` };
  }
  return null;
}

async function grub2Config(fs: ReadOnlyFileSystem, path: string, text: string, pygrubText: string, base: { file: string; pathPrefix: string }): Promise<BootConfig> {
  const cfg = parseGrub2(text);
  const dir = path.slice(0, path.lastIndexOf('/'));
  const env = parseGrubenv((await readText(fs, `${dir}/grubenv`)) ?? '');
  const plain = flatten(cfg.items);
  // pygrub (Xen 4.17) knows nothing of blscfg: it boots from the plain menuentries only, and only
  // from those its own stricter parser sees.
  const pg = pygrubMenu(pygrubText);
  let pygrubPlain = -1;
  let pygrubError: string | undefined;
  if ('error' in pg) pygrubError = pg.error;
  else if (pg.titles.length > 0) {
    const k = pygrubDefault(pygrubText === text ? cfg : parseGrub2(pygrubText), pg.titles.map((title) => ({ title, submenus: [], args: '' })));
    // pygrub's k-th entry is our entry with the same title at the same rank among equal titles.
    const title = pg.titles[k] as string;
    const rank = pg.titles.slice(0, k).filter((t) => t === title).length;
    pygrubPlain = plain.map((e, i) => [e, i] as const).filter(([e]) => e.title === title)[rank]?.[1] ?? -1;
  }
  let entries = plain;
  let format: BootFormat = 'grub2';
  let blsCount = 0;
  if (cfg.bls) {
    const bls = await blsEntries(fs, new Map([...cfg.vars, ...env]));
    if (bls.length > 0) {
      // blscfg inserts its entries where the command appears; grub-mkconfig puts it before any menuentry.
      cfg.items = [...bls.map((entry) => ({ kind: 'entry' as const, entry })), ...cfg.items];
      entries = flatten(cfg.items);
      format = 'grub2-bls';
      blsCount = bls.length;
    }
  }
  const { entry, reason } = grubDefault(cfg, env);
  const defaultIndex = entry ? entries.indexOf(entry) : 0;
  return { ...base, format, entries, defaultIndex: Math.max(0, defaultIndex), defaultReason: reason, pygrubIndex: pygrubPlain < 0 ? -1 : blsCount + pygrubPlain, ...(pygrubError ? { pygrubError } : {}) };
}

async function blsEntries(fs: ReadOnlyFileSystem, vars: Map<string, string>): Promise<BootEntry[]> {
  const names = (await listDir(fs, '/boot/loader/entries')).filter((n) => n.endsWith('.conf')).slice(0, MAX_BLS_ENTRIES);
  const out: BootEntry[] = [];
  for (const id of sortBlsIds(names.map((n) => n.slice(0, -5)))) {
    const text = await readText(fs, `/boot/loader/entries/${id}.conf`);
    if (text !== null) out.push(parseBlsEntry(id, text, vars));
  }
  return out;
}

/** The guest path of an entry's kernel (or initrd): relative to the config's filesystem first. */
export async function bootFilePath(fs: ReadOnlyFileSystem, config: BootConfig, path: string): Promise<string | null> {
  const candidates = config.pathPrefix && !path.startsWith(`${config.pathPrefix}/`) ? [`${config.pathPrefix}${path}`, path] : [path];
  for (const p of candidates) if (await fs.exists(p)) return p;
  return null;
}

export function defaultEntry(config: BootConfig): BootEntry | undefined {
  return config.entries[config.defaultIndex];
}

/** The entry a Xen PV boot runs (pygrub's choice), or undefined when pygrub finds none. */
export function pygrubEntry(config: BootConfig): BootEntry | undefined {
  return config.pygrubIndex < 0 ? undefined : config.entries[config.pygrubIndex];
}

/** Why pygrub boots nothing from this config, for evidence lines. */
export function pygrubNothingReason(config: BootConfig): string {
  return config.pygrubError ?? `${config.file} has only BLS entries, which pygrub does not read`;
}
