import { readFileSync } from 'node:fs';
import { silentLogger, type Logger } from '@xenkit/core';
import { HostTreeFileSystem, type ReadOnlyFileSystem } from '@xenkit/disk';

export interface CloudInitState {
  installed: boolean;
  /** Why it is disabled, in cloud-init's own check order; empty when enabled. */
  disabledBy: string[];
  sshModule: boolean;
  /** Installed, not disabled, ssh module configured: cloud-init injects the keys, not us. */
  ownsKeys: boolean;
  evidence: string[];
}

/** cloud.cfg files are a few KiB; anything far larger is not a config we should parse. */
const MAX_CFG_BYTES = 1024 * 1024;
const MAX_CFG_D_ENTRIES = 200;

/**
 * Every read of the image goes through a tree view whose symlinks resolve inside ROOT (Debian links
 * cloud.cfg.d files; a hostile image may link them to host paths): with --root, a link to
 * /etc/cloud/cloud.cfg must read ROOT/etc/cloud/cloud.cfg, never the host's.
 */
async function withTree<T>(root: string, fn: (fs: ReadOnlyFileSystem) => Promise<T>): Promise<T> {
  const fs = await HostTreeFileSystem.open(root);
  try {
    return await fn(fs);
  } finally {
    await fs.close();
  }
}

/** Unreadable (missing, a directory, too large, a link loop) counts as absent, as for cloud-init. */
async function readText(fs: ReadOnlyFileSystem, path: string): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await fs.readFile(path, { maxBytes: MAX_CFG_BYTES }));
  } catch {
    return undefined;
  }
}

async function exists(fs: ReadOnlyFileSystem, path: string): Promise<boolean> {
  try {
    return await fs.exists(path);
  } catch {
    return false;
  }
}

async function isDirectory(fs: ReadOnlyFileSystem, path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).type === 'directory';
  } catch {
    return false;
  }
}

/** Does a cloud.cfg text list the `ssh` module in any `*_modules:` list? (block or flow YAML lists) */
export function listsSshModule(text: string): boolean {
  let inModules = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    if (/^\S/.test(line)) {
      const m = /^(\w+_modules)\s*:\s*(.*)$/.exec(line);
      inModules = !!m;
      if (m && /(^|[[,\s'"])ssh([\]\s,'"]|$)/.test(m[2] ?? '')) return true;
      continue;
    }
    if (inModules && /^\s*-\s*(\[\s*)?['"]?ssh['"]?\s*(,|\]|$)/.test(line)) return true;
  }
  return false;
}

/**
 * Decides whether cloud-init owns SSH keys in the tree at `root`, with the evidence for the log.
 * The kernel command line is the live one (`/proc/cmdline`) unless `cmdline` is given.
 */
export async function detectCloudInit(root: string, cmdline?: string): Promise<CloudInitState> {
  return withTree(root, (fs) => detectIn(fs, root === '/' ? liveCmdline(cmdline) : (cmdline ?? '')));
}

/**
 * The running kernel's command line is not part of any tree: on a live guest it is read from procfs
 * directly (a tree view would see /proc/cmdline as an empty regular file).
 */
function liveCmdline(given: string | undefined): string {
  if (given !== undefined) return given;
  try {
    return readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}

async function detectIn(fs: ReadOnlyFileSystem, cmd: string): Promise<CloudInitState> {
  const evidence: string[] = [];
  const cfgPath = '/etc/cloud/cloud.cfg';
  const binaries: string[] = [];
  for (const b of ['/usr/bin/cloud-init', '/usr/local/bin/cloud-init']) if (await exists(fs, b)) binaries.push(b);
  const installed = binaries.length > 0 || (await exists(fs, cfgPath));
  evidence.push(installed ? `cloud-init installed (${binaries.join(', ') || cfgPath})` : 'cloud-init not installed (no /usr/bin/cloud-init, no /etc/cloud/cloud.cfg)');
  const disabledBy: string[] = [];
  if (await exists(fs, '/etc/cloud/cloud-init.disabled')) disabledBy.push('/etc/cloud/cloud-init.disabled exists');
  if (/(^|\s)cloud-init=disabled(\s|$)/.test(cmd)) disabledBy.push('kernel command line has cloud-init=disabled');
  if (await exists(fs, '/run/cloud-init/disabled')) disabledBy.push('/run/cloud-init/disabled exists (ds-identify found no datasource)');
  evidence.push(...disabledBy);
  let sshModule = false;
  if (installed) {
    const files = [cfgPath];
    const dDir = '/etc/cloud/cloud.cfg.d';
    if (await isDirectory(fs, dDir)) {
      const names = await fs.readdir(dDir).catch(() => [] as string[]);
      for (const f of names.slice(0, MAX_CFG_D_ENTRIES)) if (f.endsWith('.cfg')) files.push(`${dDir}/${f}`);
    }
    for (const f of files) {
      const text = await readText(fs, f);
      if (text && listsSshModule(text)) {
        sshModule = true;
        evidence.push(`ssh module listed in ${f}`);
        break;
      }
    }
    if (!sshModule) evidence.push('ssh module not listed in any cloud.cfg module list');
  }
  return { installed, disabledBy, sshModule, ownsKeys: installed && disabledBy.length === 0 && sshModule, evidence };
}

/** cloud-init's modules-final writes result.json when it is done (resolved inside the tree). */
export async function cloudInitDone(root: string): Promise<boolean> {
  return withTree(root, (fs) => exists(fs, '/run/cloud-init/result.json'));
}

/**
 * Waits until cloud-init has finished (result.json) or it turns out disabled, polling once a second;
 * returns whether it finished within `timeoutMs`.
 */
export async function waitForCloudInit(root: string, timeoutMs: number, logger: Logger = silentLogger, pollMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return withTree(root, async (fs) => {
    let logged = false;
    while (!(await exists(fs, '/run/cloud-init/result.json'))) {
      if (await exists(fs, '/run/cloud-init/disabled')) return false;
      if (Date.now() >= deadline) return false;
      if (!logged) logger.info({ waitingFor: '/run/cloud-init/result.json' }, 'waiting for cloud-init to finish');
      logged = true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return true;
  });
}
