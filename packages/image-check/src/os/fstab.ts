/** One /etc/fstab line that names a real filesystem. */
export interface FstabEntry {
  spec: string;
  mountpoint: string;
  type: string;
  options: string[];
  line: number;
}

const PSEUDO = new Set(['proc', 'sysfs', 'devpts', 'tmpfs', 'devtmpfs', 'swap', 'none', 'cgroup', 'cgroup2', 'debugfs', 'securityfs', 'nfs', 'nfs4', 'cifs', 'auto', 'iso9660', 'udf']);

/** Unescape fstab's octal escapes (`\040` for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Parse fstab the way libguestfs keeps entries: swap, pseudo filesystems, removable media
 * (`/dev/fd*`, `/dev/cd*`, `/dev/cdrom`, `/dev/floppy`) and non-absolute mount points are dropped.
 */
export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && out.length < 4096; i++) {
    const line = (lines[i] as string).trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    const spec = unescape(f[0] as string);
    const mountpoint = unescape(f[1] as string);
    const type = f[2] ?? 'auto';
    if (!mountpoint.startsWith('/') || PSEUDO.has(type) && type !== 'auto') continue;
    if (/^\/dev\/(fd|cd|floppy|cdrom|iso9660\/)/.test(spec)) continue;
    out.push({ spec, mountpoint: mountpoint.length > 1 ? mountpoint.replace(/\/+$/, '') : '/', type, options: (f[3] ?? 'defaults').split(','), line: i + 1 });
  }
  return out;
}
