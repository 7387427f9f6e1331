import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { serviceState } from '../services.js';
import { meaningfulLines, parseShellVars, readText } from '../text.js';
import type { Check } from './types.js';

/** Saved iptables-save rules that filter: a DROP/REJECT policy or rule. */
function iptablesFilters(text: string): string | undefined {
  return meaningfulLines(text).find((l) => /^:\S+\s+(DROP|REJECT)\b/.test(l) || (/^-A\s/.test(l) && /-j\s+(DROP|REJECT)\b/.test(l)));
}

/** An nftables ruleset that filters: a drop policy or a drop/reject verdict. */
function nftFilters(text: string): string | undefined {
  return meaningfulLines(text).find((l) => /\bpolicy\s+drop\b/.test(l) || /(^|\s)(drop|reject)(\s|;|$)/.test(l));
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
      const rule = await firstFilter(fs, ['/etc/nftables.conf', '/etc/sysconfig/nftables.conf'], nftFilters);
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
