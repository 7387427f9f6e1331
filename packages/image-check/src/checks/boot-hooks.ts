import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { enablementLinks, findUnit, serviceState } from '../services.js';
import { isUnreadable, listDir, meaningfulLines, readText } from '../text.js';
import type { CheckContext } from './types.js';

/** A script that actually runs at boot, with its non-comment lines. */
export interface BootScript {
  path: string;
  /** Why it runs ("executable /etc/rc.local, run by rc-local.service"). */
  how: string;
  lines: string[];
}

/** Boot scripts are small; a bigger file is noted, never read whole. */
const MAX_SCRIPT_BYTES = 256 * 1024;
const MAX_UNIT_BYTES = 64 * 1024;
const MAX_SCRIPTS = 64;
const MAX_UNITS = 400;
/** Where site-local boot scripts live; packaged programs elsewhere are not the image builder's hooks. */
const LOCAL = /^\/(usr\/local|etc|opt)\//;
const RC_DIRS = ['/etc/rc2.d', '/etc/rc3.d', '/etc/rc4.d', '/etc/rc5.d', '/etc/rc.d/rc2.d', '/etc/rc.d/rc3.d', '/etc/rc.d/rc4.d', '/etc/rc.d/rc5.d'];
const RC_LOCAL_GENERATOR = ['/usr/lib/systemd/system-generators/systemd-rc-local-generator', '/lib/systemd/system-generators/systemd-rc-local-generator'];

async function executable(fs: ReadOnlyFileSystem, path: string): Promise<boolean> {
  try {
    const st = await fs.stat(path);
    return st.type === 'file' && (st.mode & 0o111) !== 0;
  } catch (e) {
    if (isUnreadable(e)) return false;
    throw e;
  }
}

/** What runs rc.local at boot: systemd's generator/rc-local.service, or a sysvinit S??local link. */
async function rcLocalRunner(fs: ReadOnlyFileSystem): Promise<string | null> {
  for (const g of RC_LOCAL_GENERATOR) if (await fs.exists(g)) return 'systemd-rc-local-generator';
  const unit = await findUnit(fs, 'rc-local.service');
  if (unit) return unit;
  for (const d of RC_DIRS) {
    const hit = (await listDir(fs, d)).find((n) => /^S\d\d(rc\.)?local$/.test(n));
    if (hit) return `${d}/${hit}`;
  }
  return null;
}

/** Absolute paths a unit's Exec*= lines run (the program, prefixes such as `-`/`@`/`+` dropped). */
function execPaths(unitText: string): string[] {
  const out: string[] = [];
  for (const l of meaningfulLines(unitText)) {
    const m = /^Exec(?:Start|StartPre|StartPost)\s*=\s*[-@:+!]*(\/\S+)/.exec(l);
    if (m) out.push(m[1] as string);
  }
  return out;
}

/**
 * The scripts that run at boot: an executable rc.local with something to run it, init scripts with
 * rc/OpenRC start links, OpenRC local.d `*.start` files when `local` is enabled, and the scripts
 * enabled systemd units execute. Scripts each of those call by absolute path are followed one level.
 * Memoised per check run; key-injection and resize-on-boot both read it.
 */
export function bootScripts(ctx: CheckContext): Promise<{ scripts: BootScript[]; notes: string[] }> {
  return ctx.memo('boot-scripts', () => collect(ctx.fs));
}

async function collect(fs: ReadOnlyFileSystem): Promise<{ scripts: BootScript[]; notes: string[] }> {
  const candidates: { path: string; how: string }[] = [];
  const runner = await rcLocalRunner(fs);
  for (const p of ['/etc/rc.local', '/etc/rc.d/rc.local']) {
    if (runner && (await executable(fs, p))) candidates.push({ path: p, how: `executable, run by ${runner}` });
  }
  for (const n of (await listDir(fs, '/etc/init.d')).slice(0, 300)) {
    if (n === 'rc.local' || n.startsWith('.')) continue;
    const state = await serviceState(fs, [], [n]);
    if (state.enabled) candidates.push({ path: `/etc/init.d/${n}`, how: state.evidence.find((e) => /sysvinit|OpenRC/.test(e)) ?? 'started at boot' });
  }
  if ((await serviceState(fs, [], ['local'])).enabled) {
    for (const n of (await listDir(fs, '/etc/local.d')).filter((x) => x.endsWith('.start')).slice(0, 100)) {
      if (await executable(fs, `/etc/local.d/${n}`)) candidates.push({ path: `/etc/local.d/${n}`, how: 'OpenRC local service' });
    }
  }
  for (const link of (await enablementLinks(fs)).slice(0, MAX_UNITS)) {
    if (!link.name.endsWith('.service')) continue;
    const unit = await readText(fs, link.path, MAX_UNIT_BYTES).catch(() => null);
    for (const p of execPaths(unit ?? '')) if (LOCAL.test(p)) candidates.push({ path: p, how: `run by ${link.path}` });
  }
  const scripts: BootScript[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const add = async (path: string, how: string, depth: number): Promise<void> => {
    if (seen.has(path) || seen.size >= MAX_SCRIPTS) return;
    seen.add(path);
    let text: string | null;
    try {
      text = await readText(fs, path, MAX_SCRIPT_BYTES);
    } catch (e) {
      if (!isUnreadable(e)) throw e;
      notes.push(`${path}: not read (${e.code})`);
      return;
    }
    // Binaries (ELF, or NUL anywhere) are programs, not scripts to read.
    if (text === null || text.includes('\0')) return;
    const lines = meaningfulLines(text);
    scripts.push({ path, how, lines });
    if (depth > 0) return;
    for (const l of lines) {
      for (const m of l.matchAll(/(?:^|[\s;&|`(])(\/[\w.\-/]+)/g)) {
        const callee = m[1] as string;
        if (LOCAL.test(callee) && (await executable(fs, callee))) await add(callee, `called from ${path}`, depth + 1);
      }
    }
  };
  for (const c of candidates) await add(c.path, c.how, 0);
  return { scripts, notes };
}
