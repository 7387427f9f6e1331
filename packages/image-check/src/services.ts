import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isFile, linkTarget, listDir, readText } from './text.js';

export interface ServiceState {
  /** The service starts at boot by one of the init systems found. */
  enabled: boolean;
  /** The unit exists (installed) under some unit directory or init script dir. */
  installed: boolean;
  /** Masked (linked to /dev/null) in /etc/systemd/system. */
  masked: boolean;
  evidence: string[];
}

export const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];
const PRESET_DIRS = ['/etc/systemd/system-preset', '/usr/lib/systemd/system-preset', '/lib/systemd/system-preset'];
const MAX_WANTS_DIRS = 200;

/** Where a unit file is installed, or null. */
export async function findUnit(fs: ReadOnlyFileSystem, unit: string): Promise<string | null> {
  for (const dir of UNIT_DIRS) if (await isFile(fs, `${dir}/${unit}`)) return `${dir}/${unit}`;
  return null;
}

type EnablementLink = { path: string; name: string; target: string };
// Filesystems are read-only views, so one scan serves every service question asked of the same one.
const scanned = new WeakMap<ReadOnlyFileSystem, Promise<EnablementLink[]>>();

/** Every `*.wants`/`*.requires` link in /etc/systemd/system, as `dir/name → target`. */
export function enablementLinks(fs: ReadOnlyFileSystem): Promise<EnablementLink[]> {
  let links = scanned.get(fs);
  if (!links) {
    links = scanLinks(fs);
    scanned.set(fs, links);
  }
  return links;
}

async function scanLinks(fs: ReadOnlyFileSystem): Promise<EnablementLink[]> {
  const out: EnablementLink[] = [];
  const dirs = (await listDir(fs, '/etc/systemd/system')).filter((d) => d.endsWith('.wants') || d.endsWith('.requires')).slice(0, MAX_WANTS_DIRS);
  for (const d of dirs) {
    for (const name of await listDir(fs, `/etc/systemd/system/${d}`)) {
      const path = `/etc/systemd/system/${d}/${name}`;
      out.push({ path, name, target: (await linkTarget(fs, path)) ?? name });
    }
  }
  return out;
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * Is any of `units` (systemd names such as ssh.service, ssh.socket) or `scripts` (sysvinit/OpenRC
 * names such as ssh, sshd) started at boot? Reads systemd wants links and aliases, presets on a
 * not-yet-booted image, sysvinit rc links, upstart jobs and OpenRC runlevels — offline, as the
 * respective init would at first boot.
 */
export async function serviceState(fs: ReadOnlyFileSystem, units: string[], scripts: string[] = []): Promise<ServiceState> {
  const evidence: string[] = [];
  let enabled = false;
  let installed = false;
  let masked = false;
  const unitSet = new Set(units);
  // Aliases in /etc/systemd/system (sshd.service -> /lib/systemd/system/ssh.service).
  for (const u of units) {
    const t = await linkTarget(fs, `/etc/systemd/system/${u}`);
    if (t === '/dev/null') {
      masked = true;
      evidence.push(`/etc/systemd/system/${u} -> /dev/null (masked)`);
    } else if (t) unitSet.add(baseName(t));
  }
  for (const u of unitSet) {
    const at = await findUnit(fs, u);
    if (at) {
      installed = true;
      evidence.push(`unit ${at} installed`);
    }
  }
  if (!masked) {
    for (const link of await enablementLinks(fs)) {
      if (unitSet.has(link.name) || unitSet.has(baseName(link.target))) {
        enabled = true;
        evidence.push(`${link.path} -> ${link.target}`);
      }
    }
    if (!enabled && installed && (await firstBootPresets(fs))) {
      const preset = await presetVerdict(fs, [...unitSet]);
      if (preset) {
        enabled = preset.enable;
        evidence.push(preset.line);
      }
    }
  }
  for (const s of scripts) {
    // systemd's sysv generator and upstart compatibility give way to a native unit of the same
    // name, and a masked unit never starts: rc links left behind by `systemctl mask` are not evidence.
    // On a sysvinit/upstart image that merely ships unit files, the scripts still rule.
    const native = masked || !(await systemdIsInit(fs)) ? null : await findUnit(fs, `${s}.service`);
    const legacy = !masked && native === null;
    if (!legacy && (await isFile(fs, `/etc/init.d/${s}`))) installed = true;
    if (legacy && (await isFile(fs, `/etc/init.d/${s}`))) {
      installed = true;
      for (const lvl of ['2', '3', '4', '5']) {
        const names = await listDir(fs, `/etc/rc${lvl}.d`);
        const hit = names.find((n) => new RegExp(`^S\\d\\d${escape(s)}$`).test(n));
        if (hit) {
          enabled = true;
          evidence.push(`/etc/rc${lvl}.d/${hit} (sysvinit)`);
          break;
        }
      }
    }
    const job = legacy ? await readText(fs, `/etc/init/${s}.conf`) : null;
    if (job !== null) {
      installed = true;
      const override = (await readText(fs, `/etc/init/${s}.override`)) ?? '';
      if (/^\s*start on/m.test(job) && !/^\s*manual\b/m.test(override) && !/^\s*manual\b/m.test(job)) {
        enabled = true;
        evidence.push(`/etc/init/${s}.conf has "start on" (upstart)`);
      }
    }
    for (const lvl of ['default', 'boot']) {
      if ((await linkTarget(fs, `/etc/runlevels/${lvl}/${s}`)) !== null) {
        installed = true;
        enabled = true;
        evidence.push(`/etc/runlevels/${lvl}/${s} (OpenRC)`);
      }
    }
  }
  return { enabled, installed, masked, evidence };
}

/** systemd is the init when its binary is installed (images without it boot sysvinit, upstart or OpenRC). */
async function systemdIsInit(fs: ReadOnlyFileSystem): Promise<boolean> {
  for (const p of ['/lib/systemd/systemd', '/usr/lib/systemd/systemd']) if (await fs.exists(p)) return true;
  return /systemd/.test((await linkTarget(fs, '/sbin/init')) ?? '');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** systemd applies presets on first boot when /etc/machine-id is missing, empty or "uninitialized". */
async function firstBootPresets(fs: ReadOnlyFileSystem): Promise<boolean> {
  const id = await readText(fs, '/etc/machine-id');
  return id === null || id.trim() === '' || id.trim() === 'uninitialized';
}

/** The first preset line matching any unit, in systemd's file order (name sort across dirs, /etc first). */
async function presetVerdict(fs: ReadOnlyFileSystem, units: string[]): Promise<{ enable: boolean; line: string } | null> {
  const files = new Map<string, string>();
  for (const dir of PRESET_DIRS) {
    for (const n of await listDir(fs, dir)) if (n.endsWith('.preset') && !files.has(n)) files.set(n, `${dir}/${n}`);
  }
  for (const name of [...files.keys()].sort()) {
    const path = files.get(name) as string;
    const text = (await readText(fs, path)) ?? '';
    for (const raw of text.split('\n')) {
      const m = /^\s*(enable|disable)\s+(\S+)/.exec(raw);
      if (!m) continue;
      const pattern = new RegExp(`^${(m[2] as string).split('*').map(escape).join('.*')}$`);
      if (units.some((u) => pattern.test(u))) return { enable: m[1] === 'enable', line: `${path}: "${raw.trim()}" (applied at first boot)` };
    }
  }
  return null;
}
