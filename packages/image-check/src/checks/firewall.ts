import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { serviceState } from '../services.js';
import { globRegExp, isDir, joinGuest, listDir, meaningfulLines, parseShellVars, readText } from '../text.js';
import type { Check } from './types.js';

/** Saved iptables-save rules that filter: a DROP/REJECT policy or rule. */
function iptablesFilters(text: string): string | undefined {
  return meaningfulLines(text).find((l) => /^:\S+\s+(DROP|REJECT)\b/.test(l) || /^-P\s+\S+\s+(DROP|REJECT)\b/.test(l) || (/^-[AI]\s/.test(l) && /-j\s+(DROP|REJECT)\b/.test(l)));
}

/** An nftables ruleset that filters: a drop policy or a drop/reject verdict. */
function nftFilters(text: string): string | undefined {
  return meaningfulLines(text).find((l) => /\bpolicy\s+drop\b/.test(l) || /(^|\s)(drop|reject)(\s|;|$)/.test(l));
}

const MAX_NFT_DEPTH = 16;
const MAX_NFT_FILES = 256;

/** The files an nft `include` names: a file, a glob in the last component, or a directory (sorted, no dotfiles). */
async function nftIncludeTargets(fs: ReadOnlyFileSystem, spec: string): Promise<string[]> {
  // nft searches relative names in its include path, /etc by default.
  const path = spec.startsWith('/') ? spec : `/etc/${spec}`;
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash) || '/';
  const base = path.slice(slash + 1);
  if (/[*?[]/.test(base)) {
    const re = globRegExp(base);
    return (await listDir(fs, dir)).filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => joinGuest(dir, n));
  }
  if (base === '' || (await isDir(fs, path))) return (await listDir(fs, path)).filter((n) => !n.startsWith('.')).sort().map((n) => joinGuest(path, n));
  return [path];
}

/** nftFilters over a ruleset and every file it includes, depth- and count-bounded like a hostile image deserves. */
async function nftRuleset(fs: ReadOnlyFileSystem, path: string): Promise<string | undefined> {
  const seen = new Set<string>();
  const visit = async (p: string, depth: number): Promise<string | undefined> => {
    if (depth > MAX_NFT_DEPTH || seen.has(p) || seen.size >= MAX_NFT_FILES) return undefined;
    seen.add(p);
    const text = await readText(fs, p);
    if (text === null) return undefined;
    const hit = nftFilters(text);
    if (hit) return `${p}: ${hit}`;
    for (const line of meaningfulLines(text)) {
      const m = /^include\s+"([^"]+)"/.exec(line);
      if (!m) continue;
      for (const target of await nftIncludeTargets(fs, m[1] as string)) {
        const found = await visit(target, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(path, 0);
}

async function firstFilter(fs: ReadOnlyFileSystem, paths: string[], test: (t: string) => string | undefined): Promise<string | undefined> {
  for (const p of paths) {
    const t = await readText(fs, p);
    const hit = t === null ? undefined : test(t);
    if (hit) return `${p}: ${hit}`;
  }
  return undefined;
}

export const firewall: Check = {
  id: 'firewall',
  title: 'No firewall enabled at boot',
  requirement: 'Disable firewall',
  async run(ctx) {
    const fs = ctx.fs;
    const active: string[] = [];
    const evidence: string[] = [];
    const firewalld = await serviceState(fs, ['firewalld.service'], []);
    if (firewalld.enabled) active.push(`firewalld enabled (${firewalld.evidence.filter((e) => e.includes('->') || e.includes('preset')).join('; ')})`);
    const ufwConf = await readText(fs, '/etc/ufw/ufw.conf');
    if (ufwConf !== null) {
      const enabled = parseShellVars(ufwConf).get('ENABLED')?.toLowerCase() === 'yes';
      (enabled ? active : evidence).push(`/etc/ufw/ufw.conf: ENABLED=${enabled ? 'yes' : 'no'}`);
    }
    const rh = await serviceState(fs, ['iptables.service', 'ip6tables.service'], ['iptables', 'ip6tables']);
    if (rh.enabled) {
      const rule = await firstFilter(fs, ['/etc/sysconfig/iptables', '/etc/sysconfig/ip6tables'], iptablesFilters);
      if (rule) active.push(`iptables service enabled with saved rules: ${rule}`);
      else evidence.push('iptables service enabled, but its saved rules filter nothing');
    }
    const deb = await serviceState(fs, ['netfilter-persistent.service', 'iptables-persistent.service'], ['netfilter-persistent', 'iptables-persistent']);
    if (deb.enabled) {
      const rule = await firstFilter(fs, ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6'], iptablesFilters);
      if (rule) active.push(`netfilter-persistent enabled with saved rules: ${rule}`);
      else evidence.push('netfilter-persistent enabled, but its saved rules filter nothing');
    }
    const nft = await serviceState(fs, ['nftables.service'], ['nftables']);
    if (nft.enabled) {
      const rule = (await nftRuleset(fs, '/etc/nftables.conf')) ?? (await nftRuleset(fs, '/etc/sysconfig/nftables.conf'));
      if (rule) active.push(`nftables enabled with a filtering ruleset: ${rule}`);
      else evidence.push('nftables enabled, but its ruleset drops nothing');
    }
    if (active.length === 0) {
      return { status: 'pass', summary: 'no firewall filters traffic at boot', evidence: evidence.length ? evidence : ['no firewalld, ufw, iptables or nftables enabled'], fix: '' };
    }
    return {
      status: 'fail',
      summary: `a firewall is enabled at boot (${active.length})`,
      evidence: [...active, ...evidence],
      fix: 'Disable it and use OpenStack security groups: `systemctl disable firewalld` / `ufw disable` (ENABLED=no) / `systemctl disable iptables nftables netfilter-persistent`.',
    };
  },
};
