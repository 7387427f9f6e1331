import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OperationError } from '@xenkit/core';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { runChecks } from '../check.js';
import { evalShellAssignments, globRegExp } from '../text.js';
import { openTreeTarget } from '../target.js';
import { treeChecker } from '../test-helpers/check-tree.js';
import { executable, goodDebian, withChanges, writeTree } from '../test-helpers/trees.js';

const tmp = tempDir('xenkit-review-');
afterAll(() => tmp.cleanup());
let n = 0;

const check = treeChecker(tmp.path);

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

describe('boot scripts count only when something runs them', () => {
  const noCloudInit = withChanges(good, { '/usr/bin/cloud-init': null, '/etc/cloud/cloud.cfg': null, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': null });
  const fetch = 'curl -f http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key > /tmp/metadata-key\n';
  const rcLocalUnit = { '/lib/systemd/system/rc-local.service': '[Service]\nExecStart=/etc/rc.local start\n' };
  it('ignores a commented-out fetch and a script nothing starts', async () => {
    const commented = executable(withChanges(noCloudInit, { ...rcLocalUnit, '/etc/rc.local': `#!/bin/sh\n# ${fetch}` }), '/etc/rc.local');
    expect((await check(commented, 'key-injection')).status).toBe('fail');
    const idle = executable(withChanges(noCloudInit, { '/usr/local/bin/getkey': `#!/bin/sh\n${fetch}` }), '/usr/local/bin/getkey');
    expect((await check(idle, 'key-injection')).status).toBe('fail');
    const notExec = withChanges(noCloudInit, { ...rcLocalUnit, '/etc/rc.local': `#!/bin/sh\n${fetch}` });
    expect((await check(notExec, 'key-injection')).status).toBe('fail');
  });
  it('counts a script an enabled unit runs, and one rc.local calls', async () => {
    const unit = withChanges(
      noCloudInit,
      { '/etc/systemd/system/getkey.service': '[Service]\nType=oneshot\nExecStart=-/usr/local/bin/getkey\n', '/usr/local/bin/getkey': `#!/bin/sh\n${fetch}` },
      { '/etc/systemd/system/multi-user.target.wants/getkey.service': '/etc/systemd/system/getkey.service' },
    );
    const r = await check(executable(unit, '/usr/local/bin/getkey'), 'key-injection');
    expect(r.status).toBe('pass');
    expect(r.evidence.join('\n')).toContain('run by /etc/systemd/system/multi-user.target.wants/getkey.service');
    const called = executable(withChanges(noCloudInit, { ...rcLocalUnit, '/etc/rc.local': '#!/bin/sh\n/usr/local/sbin/getkey &\nexit 0\n', '/usr/local/sbin/getkey': `#!/bin/sh\n${fetch}` }), '/etc/rc.local', '/usr/local/sbin/getkey');
    expect((await check(called, 'key-injection')).status).toBe('pass');
  });
  it('counts an init script only with an rc start link', async () => {
    const script = withChanges(noCloudInit, { '/etc/init.d/getkey': `#!/bin/sh\n${fetch}` });
    expect((await check(script, 'key-injection')).status).toBe('fail');
    expect((await check(withChanges(script, {}, { '/etc/rc3.d/S20getkey': '../init.d/getkey' }), 'key-injection')).status).toBe('pass');
  });
});

describe('one cloud-init verdict for every check', () => {
  const off = withChanges(good, {}, { '/etc/systemd/system/cloud-init.target.wants/cloud-init.service': null, '/etc/systemd/system/cloud-init.target.wants/cloud-init-local.service': null });
  it('with its services not enabled, cloud-init, key-injection and resize-on-boot all fail', async () => {
    expect((await check(off, 'cloud-init')).status).toBe('fail');
    const key = await check(off, 'key-injection');
    expect(key.status).toBe('fail');
    expect(key.evidence.join('\n')).toContain('none of its services start at boot');
    expect((await check(off, 'resize-on-boot')).status).toBe('fail');
  });
  it('cloud-init=disabled on the kernel command line stops key injection too', async () => {
    const cfg = (good.files['/boot/grub/grub.cfg'] as string).replace(/console=ttyS0,115200n8/g, 'console=ttyS0,115200n8 cloud-init=disabled');
    expect((await check(withChanges(good, { '/boot/grub/grub.cfg': cfg }), 'key-injection')).status).toBe('fail');
  });
});

describe('what the check runner turns into results', () => {
  it('an image problem becomes status "error"; a bug in xenkit propagates', async () => {
    const dir = writeTree(`${tmp.path}/t${n++}`, good);
    const coded = await runChecks(await openTreeTarget(dir), {
      only: ['pv-kernel'],
      kernelAnalyzer: async () => {
        throw new OperationError('E_KERNEL_BAD', 'kernel analyzer failed', { details: { path: '/boot/vmlinuz' } });
      },
    });
    expect(coded.checks[0]).toMatchObject({ status: 'error', evidence: ['/boot/vmlinuz: E_KERNEL_BAD'] });
    const bug = runChecks(await openTreeTarget(dir), {
      only: ['pv-kernel'],
      kernelAnalyzer: async () => {
        throw new TypeError('undefined is not a function');
      },
    });
    await expect(bug).rejects.toThrow(TypeError);
  });
});

describe('console-log persistence', () => {
  it('expands /etc/default/grub line by line, as bash sources it', async () => {
    requireTools('bash');
    const text = `GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8"\nGRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT quiet"\nA='$literal' B=x\nGRUB_CMDLINE_LINUX="\${A} \\"q\\" $UNSET"\n`;
    const spec = withChanges(good, { '/etc/default/grub': text });
    const r = await check(spec, 'console-log');
    const real = await execAsync('bash', ['-c', '. "$1"; printf "%s|%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"', 'bash', `${r.dir}/etc/default/grub`]);
    const vars = new Map<string, string>();
    evalShellAssignments(text, vars);
    expect(`${vars.get('GRUB_CMDLINE_LINUX')}|${vars.get('GRUB_CMDLINE_LINUX_DEFAULT')}`).toBe(String(real.stdout));
    expect(r.status).toBe('pass');
  });
  it('for BLS reads /etc/kernel/cmdline, and fixes with grubby', async () => {
    const cfg = 'set default="${saved_entry}"\nload_env -f ${config_directory}/grubenv\ninsmod blscfg\nblscfg\n';
    const entry = 'title Rocky Linux (5.14.0-362.el9.x86_64)\nversion 5.14.0-362.el9.x86_64\nlinux /boot/vmlinuz-6.1.0-18-amd64\noptions root=/dev/xvda1 ro console=tty0 console=ttyS0,115200n8\nid rocky\n';
    const base = withChanges(good, { '/boot/grub/grub.cfg': null, '/boot/grub2/grub.cfg': cfg, '/boot/loader/entries/rocky.conf': entry, '/etc/default/grub': 'GRUB_CMDLINE_LINUX="quiet"\n' });
    const without = await check(withChanges(base, { '/etc/kernel/cmdline': 'root=/dev/xvda1 ro quiet\n' }), 'console-log');
    expect(without.status).toBe('warn');
    expect(without.summary).toContain('/etc/kernel/cmdline');
    expect(without.fix).toContain('grubby --update-kernel=ALL --args=');
    expect((await check(withChanges(base, { '/etc/kernel/cmdline': 'root=/dev/xvda1 ro console=tty0 console=ttyS0,115200n8\n' }), 'console-log')).status).toBe('pass');
  });
});

describe('sshd_config as sshd -T reads it', () => {
  /** sshd -T on a host copy of the guest's sshd config (paths re-rooted), for the two keys we judge. */
  async function sshdT(files: Record<string, string>): Promise<Map<string, string>> {
    requireTools('sshd', 'ssh-keygen');
    // sshd refuses to run -T without its privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true });
    const host = `${tmp.path}/sshd${n++}`;
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(`${host}${p}`), { recursive: true });
      writeFileSync(`${host}${p}`, text.replaceAll('/etc/ssh/', `${host}/etc/ssh/`));
    }
    await execAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${host}/hostkey`]);
    const out = await execAsync('sshd', ['-T', '-f', `${host}/etc/ssh/sshd_config`, '-h', `${host}/hostkey`]);
    return new Map(String(out.stdout).split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as [string, string]));
  }
  const cases: Record<string, Record<string, string>> = {
    'a Match in an included file does not end the parent\'s global part': {
      '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\nPubkeyAuthentication no\n',
      '/etc/ssh/sshd_config.d/10-a.conf': 'Match User bob\n  PasswordAuthentication no\n',
    },
    'Include globs with ? and [..]': {
      '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/[0-9]?-*.conf\n',
      '/etc/ssh/sshd_config.d/05-keys.conf': 'AuthorizedKeysFile none\n',
      '/etc/ssh/sshd_config.d/x5-other.conf': 'PubkeyAuthentication no\n',
    },
    'a Match in the main file ends it, Match all resumes': {
      '/etc/ssh/sshd_config': 'Match User bob\n  PubkeyAuthentication no\nMatch all\nAuthorizedKeysFile none\n',
    },
  };
  for (const [name, files] of Object.entries(cases)) {
    it(name, async () => {
      const real = await sshdT(files);
      const r = await check(withChanges(good, files), 'ssh-server');
      const fails = real.get('pubkeyauthentication') === 'no' || real.get('authorizedkeysfile') === 'none';
      expect(fails).toBe(true);
      expect(r.status).toBe('fail');
      expect(r.summary).toContain(real.get('pubkeyauthentication') === 'no' ? 'public-key authentication is disabled' : 'no authorized_keys file');
    });
  }
});

describe('package databases over their cap', () => {
  it('a dpkg status past 64 MiB is reported as too large, not skipped for another format', async () => {
    const dir = writeTree(`${tmp.path}/t${n++}`, withChanges(good, { '/var/lib/rpm/rpmdb.sqlite': 'not reached' }));
    truncateSync(`${dir}/var/lib/dpkg/status`, 65 * 1024 * 1024);
    const report = await runChecks(await openTreeTarget(dir), { only: ['cloud-init'] });
    expect(report.checks[0]?.status).toBe('error');
    expect(report.checks[0]?.summary).toContain('/var/lib/dpkg/status: the package database is too large');
  });
});

describe('glob patterns from the guest', () => {
  it('translate * ? [..] [!..] and never throw on a malformed range', () => {
    expect(globRegExp('[0-9]?-*.conf').test('05-keys.conf')).toBe(true);
    expect(globRegExp('[!0-9]*').test('5x')).toBe(false);
    expect(globRegExp('a.b').test('axb')).toBe(false);
    expect(globRegExp('[z-a]*').test('zz')).toBe(false);
  });
});

describe('cloud-init=disabled on the entry pygrub boots', () => {
  it('stops cloud-init even when grub\'s own default lacks it', async () => {
    const env = '# GRUB Environment Block\nsaved_entry=gnulinux-advanced-6d2231e4-0975-4f35-a94f-56738c1a8150>gnulinux-6.1.0-18-amd64-recovery-6d2231e4-0975-4f35-a94f-56738c1a8150\n'.padEnd(1024, '#');
    const cfg = (good.files['/boot/grub/grub.cfg'] as string)
      .replace('set default="0"', 'if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nset default="${saved_entry}"')
      .replace(/ro console=tty0 console=ttyS0,115200n8\n\tinitrd/, 'ro console=tty0 console=ttyS0,115200n8 cloud-init=disabled\n\tinitrd');
    const r = await check(withChanges(good, { '/boot/grub/grub.cfg': cfg, '/boot/grub/grubenv': env }), 'cloud-init');
    expect(r.status).toBe('fail');
    expect(r.evidence.join('\n')).toContain('"Debian GNU/Linux" has cloud-init=disabled');
  });
});
