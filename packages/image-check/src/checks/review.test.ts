import { afterAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { runChecks } from '../check.js';
import { openTreeTarget } from '../target.js';
import { goodDebian, withChanges, writeTree, type TreeSpec } from '../test-helpers/trees.js';

const tmp = tempDir('xenkit-review-');
afterAll(() => tmp.cleanup());
let n = 0;

async function check(spec: TreeSpec, id: string) {
  const dir = writeTree(`${tmp.path}/t${n++}`, spec);
  const report = await runChecks(await openTreeTarget(dir), { only: [id] });
  const r = report.checks[0];
  if (!r) throw new Error('no result');
  return { ...r, dir };
}

const good = goodDebian();
const systemd = { '/lib/systemd/systemd': '\x7fELF' };

describe('sysvinit links beside native systemd units', () => {
  it('a masked ssh.service with a leftover rc link is not enabled (as systemctl --root says)', async () => {
    requireTools('systemctl');
    const spec = withChanges(
      good,
      { ...systemd, '/etc/init.d/ssh': '#!/bin/sh\n' },
      { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/systemd/system/ssh.service': '/dev/null', '/etc/rc2.d/S01ssh': '../init.d/ssh' },
    );
    const r = await check(spec, 'ssh-server');
    const real = await execAsync('systemctl', ['--root', r.dir, 'is-enabled', 'ssh.service'], { allowFailure: true });
    expect(String(real.stdout).trim()).toBe('masked');
    expect(r.status).toBe('fail');
  });
  it('an rc link does not enable a script shadowed by a native unit under systemd', async () => {
    const spec = withChanges(good, { ...systemd, '/etc/init.d/ssh': '#!/bin/sh\n' }, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/rc2.d/S01ssh': '../init.d/ssh' });
    expect((await check(spec, 'ssh-server')).status).toBe('fail');
    // Without systemd (a sysvinit image shipping unit files) the rc link rules.
    const sysv = withChanges(good, { '/etc/init.d/ssh': '#!/bin/sh\n' }, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/rc2.d/S01ssh': '../init.d/ssh' });
    expect((await check(sysv, 'ssh-server')).status).toBe('pass');
  });
});

describe('files that exist but cannot be read', () => {
  const pad = (s: string) => s + '#'.repeat(5 * 1024 * 1024);
  it('a persistent-net rules file padded past the read cap is an error, not empty', async () => {
    const rules = pad('SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n');
    const r = await check(withChanges(good, { '/etc/udev/rules.d/70-persistent-net.rules': rules }), 'mac-persistence');
    expect(r.status).toBe('error');
    expect(r.evidence.join('\n')).toContain('70-persistent-net.rules: E_FS_TOO_LARGE');
  });
  it('an oversized sshd include is an error, not a silent pass', async () => {
    const r = await check(withChanges(good, { '/etc/ssh/sshd_config.d/10-nokeys.conf': `PubkeyAuthentication no\n${pad('')}` }), 'ssh-server');
    expect(r.status).toBe('error');
  });
});

describe('firewall rules outside the main file', () => {
  const nft = { '/lib/systemd/system/nftables.service': '[Unit]\n' };
  const nftOn = { '/etc/systemd/system/sysinit.target.wants/nftables.service': '/lib/systemd/system/nftables.service' };
  const drop = 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n';
  it('follows nftables include globs, directories and relative names', async () => {
    const glob = withChanges(good, { ...nft, '/etc/nftables.conf': 'flush ruleset\ninclude "/etc/nftables.d/*.nft"\n', '/etc/nftables.d/10-filter.nft': drop }, nftOn);
    const r = await check(glob, 'firewall');
    expect(r.status).toBe('fail');
    expect(r.evidence.join('\n')).toContain('/etc/nftables.d/10-filter.nft');
    const rel = withChanges(good, { ...nft, '/etc/nftables.conf': 'include "rules/"\n', '/etc/rules/a.nft': drop }, nftOn);
    expect((await check(rel, 'firewall')).status).toBe('fail');
    const loop = withChanges(good, { ...nft, '/etc/nftables.conf': 'include "/etc/nftables.conf"\ninclude "/etc/nftables.d/*.nft"\n', '/etc/nftables.d/.hidden.nft': drop }, nftOn);
    expect((await check(loop, 'firewall')).status).toBe('pass');
  });
  it('sees iptables rules inserted with -I and policies set with -P', async () => {
    const base = { '/usr/lib/systemd/system/iptables.service': '[Unit]\n' };
    const link = { '/etc/systemd/system/basic.target.wants/iptables.service': '/usr/lib/systemd/system/iptables.service' };
    const insert = '*filter\n:INPUT ACCEPT [0:0]\n-I INPUT 1 -p tcp --dport 23 -j DROP\nCOMMIT\n';
    expect((await check(withChanges(good, { ...base, '/etc/sysconfig/iptables': insert }, link), 'firewall')).status).toBe('fail');
  });
});
