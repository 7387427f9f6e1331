import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '@xenkit/core';

export interface CloudInitState {
  installed: boolean;
  /** Why it is disabled, in cloud-init's own check order; empty when enabled. */
  disabledBy: string[];
  sshModule: boolean;
  /** Installed, not disabled, ssh module configured: cloud-init injects the keys, not us. */
  ownsKeys: boolean;
  evidence: string[];
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
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
export function detectCloudInit(root: string, cmdline?: string): CloudInitState {
  const evidence: string[] = [];
  const cfgPath = join(root, 'etc/cloud/cloud.cfg');
  const binaries = ['usr/bin/cloud-init', 'usr/local/bin/cloud-init'].filter((p) => existsSync(join(root, p)));
  const installed = binaries.length > 0 || existsSync(cfgPath);
  evidence.push(installed ? `cloud-init installed (${binaries.map((b) => `/${b}`).join(', ') || '/etc/cloud/cloud.cfg'})` : 'cloud-init not installed (no /usr/bin/cloud-init, no /etc/cloud/cloud.cfg)');
  const disabledBy: string[] = [];
  if (existsSync(join(root, 'etc/cloud/cloud-init.disabled'))) disabledBy.push('/etc/cloud/cloud-init.disabled exists');
  const cmd = cmdline ?? (root === '/' ? read('/proc/cmdline') : undefined) ?? '';
  if (/(^|\s)cloud-init=disabled(\s|$)/.test(cmd)) disabledBy.push('kernel command line has cloud-init=disabled');
  if (existsSync(join(root, 'run/cloud-init/disabled'))) disabledBy.push('/run/cloud-init/disabled exists (ds-identify found no datasource)');
  evidence.push(...disabledBy);
  let sshModule = false;
  if (installed) {
    const files = [cfgPath];
    const dDir = join(root, 'etc/cloud/cloud.cfg.d');
    if (existsSync(dDir)) for (const f of readdirSync(dDir).sort().slice(0, 200)) if (f.endsWith('.cfg')) files.push(join(dDir, f));
    for (const f of files) {
      const text = read(f);
      if (text && listsSshModule(text)) {
        sshModule = true;
        evidence.push(`ssh module listed in ${f.slice(root.length - (root.endsWith('/') ? 1 : 0)) || f}`);
        break;
      }
    }
    if (!sshModule) evidence.push('ssh module not listed in any cloud.cfg module list');
  }
  return { installed, disabledBy, sshModule, ownsKeys: installed && disabledBy.length === 0 && sshModule, evidence };
}

/** cloud-init's modules-final writes result.json when it is done. */
export function cloudInitDone(root: string): boolean {
  return existsSync(join(root, 'run/cloud-init/result.json'));
}

/**
 * Waits until cloud-init has finished (result.json) or it turns out disabled, polling once a second;
 * returns whether it finished within `timeoutMs`.
 */
export async function waitForCloudInit(root: string, timeoutMs: number, logger: Logger = silentLogger, pollMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let logged = false;
  while (!cloudInitDone(root)) {
    if (existsSync(join(root, 'run/cloud-init/disabled'))) return false;
    if (Date.now() >= deadline) return false;
    if (!logged) logger.info({ waitingFor: '/run/cloud-init/result.json' }, 'waiting for cloud-init to finish');
    logged = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}
