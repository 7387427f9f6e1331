import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { serviceState } from '../services.js';
import { isFile, listDir, readText } from '../text.js';
import type { Check } from './types.js';

const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd', '/sbin/sshd', '/usr/sbin/dropbear', '/usr/bin/dropbear'];
const MAX_INCLUDES = 64;

/**
 * The effective PubkeyAuthentication: sshd takes the first value it reads, following Include in
 * place; a Match block ends the global section.
 */
async function pubkeyAuthentication(fs: ReadOnlyFileSystem): Promise<{ value?: string; at?: string }> {
  const queue: string[] = ['/etc/ssh/sshd_config'];
  let budget = MAX_INCLUDES;
  const visit = async (path: string): Promise<{ value?: string; at?: string } | 'match' | null> => {
    const text = await readText(fs, path);
    if (text === null) return null;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*(\w+)\s*[=\s]\s*(.*?)\s*$/.exec(lines[i] as string);
      if (!m || (lines[i] as string).trim().startsWith('#')) continue;
      const key = (m[1] as string).toLowerCase();
      if (key === 'match') return 'match';
      if (key === 'pubkeyauthentication') return { value: (m[2] as string).toLowerCase(), at: `${path}:${i + 1}` };
      if (key === 'include' && budget-- > 0) {
        for (const pattern of (m[2] as string).split(/\s+/)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          const slash = abs.lastIndexOf('/');
          const dir = abs.slice(0, slash);
          const re = new RegExp(`^${abs.slice(slash + 1).split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
          for (const n of (await listDir(fs, dir)).filter((x) => re.test(x))) {
            const r = await visit(`${dir}/${n}`);
            if (r) return r;
          }
        }
      }
    }
    return null;
  };
  const r = await visit(queue[0] as string);
  return r && r !== 'match' ? r : {};
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
    const pk = await pubkeyAuthentication(fs);
    if (pk.value === 'no') {
      return {
        status: 'fail',
        summary: 'sshd starts at boot but public-key authentication is disabled',
        evidence: [...evidence, `${pk.at}: PubkeyAuthentication no`],
        fix: 'Remove "PubkeyAuthentication no" (the default is yes) so injected keys work.',
      };
    }
    if (pk.at) evidence.push(`${pk.at}: PubkeyAuthentication ${pk.value}`);
    return { status: 'pass', summary: 'sshd is installed and enabled at boot, public-key authentication on', evidence, fix: '' };
  },
};
