/** One bootable entry of a boot loader config. */
export interface BootEntry {
  title: string;
  /** grub2 `--id` / `$menuentry_id_option`, or the BLS file name without `.conf`. */
  id?: string;
  /** Titles of the submenus enclosing this entry, outermost first. */
  submenus: string[];
  /** Kernel path as written in the config (a `(hd0,1)` device prefix removed). */
  kernel?: string;
  initrd?: string;
  /** Kernel command line as written. */
  args: string;
}

export type BootFormat = 'grub2' | 'grub2-bls' | 'extlinux' | 'grub-legacy';

export interface BootConfig {
  format: BootFormat;
  /** Config file path in the guest view. */
  file: string;
  entries: BootEntry[];
  /** The entry the boot loader itself boots (grub2 honours grubenv saved_entry/next_entry). */
  defaultIndex: number;
  /** How the default was chosen, for evidence lines. */
  defaultReason: string;
  /**
   * The entry pygrub picks (Xen PV boot): pygrub ignores grubenv, non-numeric defaults and BLS
   * snippets; -1 when pygrub finds no entry at all (a BLS-only grub.cfg).
   */
  pygrubIndex: number;
  /** Why pygrub rejects the config outright (its parser's syntax error), when it does. */
  pygrubError?: string;
  /** Directory kernel paths are relative to: "/boot" when /boot is a separate filesystem, else "". */
  pathPrefix: string;
}

/** Split off a grub device prefix: "(hd0,msdos1)/vmlinuz" → "/vmlinuz". */
export function stripDevice(path: string): string {
  if (!path.startsWith('(')) return path;
  const close = path.indexOf(')');
  return close === -1 ? path : path.slice(close + 1);
}
