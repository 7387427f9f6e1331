import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { serviceState } from '../services.js';
import { globRegExp, isFile, listDir, readText } from '../text.js';
import type { Check } from './types.js';

const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd', '/sbin/sshd', '/usr/sbin/dropbear', '/usr/bin/dropbear'];
const MAX_INCLUDES = 64;

const KEYS = ['pubkeyauthentication', 'authorizedkeysfile'];
type Settings = Map<string, { value: string; at: string }>;

/** glob(3) over the guest: every component may hold * ? [..]; dotfiles only when asked; sorted. */
async function expandGlob(fs: ReadOnlyFileSystem, pattern: string, limit: number): Promise<string[]> {
  let paths = [''];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!/[*?[]/.test(part)) next.push(`${base}/${part}`);
      else {
        const re = globRegExp(part);
        for (const n of await listDir(fs, base || '/')) if ((part.startsWith('.') || !n.startsWith('.')) && re.test(n)) next.push(`${base}/${n}`);
      }
      if (next.length > limit) break;
    }
    paths = next.slice(0, limit);
  }
  return paths.sort();
}

/**
 * The settings sshd applies to every connection: the first value of each key in the global part of
 * sshd_config, Includes read in place (glob-expanded, sorted). A Match block ends the global part
 * of the file it is in — `Match all` starts it again — and an included file's Match does not leak
 * into the file that included it (servconf.c restores the caller's Match state after an Include).
 */
async function sshdGlobal(fs: ReadOnlyFileSystem): Promise<Settings> {
  const found: Settings = new Map();
  let budget = MAX_INCLUDES;
  const visit = async (path: string, depth: number): Promise<void> => {
    const text = await readText(fs, path);
    if (text === null) return;
    let global = true;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      const m = /^(\w+)(?:\s*=\s*|\s+)(.*?)$/.exec(line);
      if (!m || line.startsWith('#')) continue;
      const key = (m[1] as string).toLowerCase();
      const value = (m[2] as string).replace(/\s+#.*$/, '');
      if (key === 'match') {
        global = /^all$/i.test(value.trim());
        continue;
      }
      if (!global) continue;
      if (KEYS.includes(key) && !found.has(key)) found.set(key, { value, at: `${path}:${i + 1}` });
      if (key === 'include' && depth < 16) {
        for (const pattern of value.split(/\s+/).filter(Boolean)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          for (const f of await expandGlob(fs, abs, MAX_INCLUDES)) {
            if (budget-- <= 0) return;
            await visit(f, depth + 1);
          }
        }
      }
    }
  };
  await visit('/etc/ssh/sshd_config', 0);
  return found;
}

export const sshServer: Check = {
  id: 'ssh-server',
  title: 'SSH server starts at boot',
  requirement: 'Ensure ssh server runs',
  async run(ctx) {
    const fs = ctx.fs;
    let binary: string | undefined;
    for (const p of SSHD) if (await isFile(fs, p)) { binary = p; break; }
    const state = await serviceState(fs, ['ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket', 'dropbear.service'], ['ssh', 'sshd', 'dropbear', 'openssh']);
    const evidence = [binary ? `${binary} present` : 'no sshd or dropbear binary', ...state.evidence];
    if (!binary) {
      return { status: 'fail', summary: 'no SSH server installed', evidence, fix: 'Install openssh-server (Debian/Ubuntu) or openssh-server + enable sshd (Fedora/RHEL).' };
    }
    if (!state.enabled) {
      return {
        status: 'fail',
        summary: state.masked ? 'the SSH service is masked' : 'an SSH server is installed but nothing starts it at boot',
        evidence,
        fix: 'Enable it: `systemctl enable ssh` (Debian/Ubuntu) or `systemctl enable sshd` (Fedora/RHEL/SUSE); unmask it first if masked.',
      };
    }
    const settings = await sshdGlobal(fs);
    const pk = settings.get('pubkeyauthentication');
    if (pk && /^no$/i.test(pk.value)) {
      return {
        status: 'fail',
        summary: 'sshd starts at boot but public-key authentication is disabled',
        evidence: [...evidence, `${pk.at}: PubkeyAuthentication no`],
        fix: 'Remove "PubkeyAuthentication no" (the default is yes) so injected keys work.',
      };
    }
    if (pk) evidence.push(`${pk.at}: PubkeyAuthentication ${pk.value}`);
    const akf = settings.get('authorizedkeysfile');
    if (akf && /^none$/i.test(akf.value.trim())) {
      return {
        status: 'fail',
        summary: 'sshd starts at boot but reads no authorized_keys file, so an injected key is never used',
        evidence: [...evidence, `${akf.at}: AuthorizedKeysFile none`],
        fix: 'Remove "AuthorizedKeysFile none" (the default is .ssh/authorized_keys .ssh/authorized_keys2).',
      };
    }
    if (akf) evidence.push(`${akf.at}: AuthorizedKeysFile ${akf.value}`);
    return { status: 'pass', summary: 'sshd is installed and enabled at boot, public-key authentication on', evidence, fix: '' };
  },
};
