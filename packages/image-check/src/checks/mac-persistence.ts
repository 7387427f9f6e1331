import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { linkTarget, listDir, meaningfulLines, readText } from '../text.js';
import type { Check } from './types.js';

const RULE_DIRS = ['/etc/udev/rules.d', '/run/udev/rules.d', '/usr/lib/udev/rules.d', '/lib/udev/rules.d'];
const RULES = ['70-persistent-net.rules', '75-persistent-net-generator.rules'];

/** udev reads the first file of a name in /etc, /run, /usr/lib, /lib: an empty /etc file masks the rest. */
async function udevRule(fs: ReadOnlyFileSystem, name: string): Promise<{ path: string; lines: string[] } | null> {
  for (const dir of RULE_DIRS) {
    const path = `${dir}/${name}`;
    if ((await linkTarget(fs, path)) === '/dev/null') return { path, lines: [] };
    if (await fs.exists(path)) {
      const text = (await readText(fs, path)) ?? '';
      return { path, lines: meaningfulLines(text) };
    }
  }
  return null;
}

async function grepFiles(fs: ReadOnlyFileSystem, dir: string, nameRe: RegExp, lineRe: RegExp, out: string[]): Promise<void> {
  for (const n of (await listDir(fs, dir)).filter((x) => nameRe.test(x)).slice(0, 500)) {
    const text = await readText(fs, `${dir}/${n}`);
    if (text === null) continue;
    text.split('\n').forEach((l, i) => {
      const t = l.trim();
      if (!t.startsWith('#') && lineRe.test(t)) out.push(`${dir}/${n}:${i + 1}: ${t}`);
    });
  }
}

export const macPersistence: Check = {
  id: 'mac-persistence',
  title: 'No hard-coded MAC address',
  requirement: 'No hard-coded MAC address information',
  async run(ctx) {
    const fs = ctx.fs;
    const evidence: string[] = [];
    const problems: string[] = [];
    for (const name of RULES) {
      const r = await udevRule(fs, name);
      if (!r) evidence.push(`${name}: absent`);
      else if (r.lines.length === 0) evidence.push(`${r.path}: empty`);
      else {
        problems.push(`${r.path}: ${r.lines.length} rule line(s), e.g. ${r.lines[0]?.slice(0, 120)}`);
      }
    }
    await grepFiles(fs, '/etc/sysconfig/network-scripts', /^ifcfg-/, /^(HWADDR|MACADDR)=\s*["']?[0-9A-Fa-f]/, problems);
    await grepFiles(fs, '/etc/sysconfig/network', /^ifcfg-/, /^(HWADDR|LLADDR)=\s*["']?[0-9A-Fa-f]/, problems);
    await grepFiles(fs, '/etc/netplan', /\.ya?ml$/, /^macaddress:/, problems);
    await grepFiles(fs, '/etc/systemd/network', /\.(link|network|netdev)$/, /^(MACAddress|PermanentMACAddress)\s*=/, problems);
    await grepFiles(fs, '/etc/NetworkManager/system-connections', /./, /^(mac-address|cloned-mac-address)\s*=\s*[0-9A-Fa-f]/, problems);
    await grepFiles(fs, '/etc/network', /^interfaces$/, /^hwaddress\b/, problems);
    await grepFiles(fs, '/etc/network/interfaces.d', /./, /^hwaddress\b/, problems);
    if (problems.length === 0) {
      return { status: 'pass', summary: 'no persistent-net rules or MAC-pinned interface configs', evidence, fix: '' };
    }
    return {
      status: 'fail',
      summary: `the network config is tied to a MAC address (${problems.length} place(s)); a new instance's NIC will not come up as eth0`,
      evidence: [...problems, ...evidence],
      fix: 'Empty the persistent-net rule files (`: > /etc/udev/rules.d/70-persistent-net.rules`; the guide prefers empty files to deletion), remove HWADDR= from ifcfg-*, and drop macaddress/MACAddress/mac-address/hwaddress matches from netplan, systemd-networkd, NetworkManager and ifupdown configs.',
    };
  },
};
