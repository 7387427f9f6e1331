import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@xenkit/fixtures';
import { runChecks } from '../check.js';
import { openTreeTarget } from '../target.js';
import { treeChecker } from '../test-helpers/check-tree.js';
import { miniKernel } from '../test-helpers/kernel.js';
import { CONSOLE, GRUB_CFG, executable, goodDebian, withChanges, writeTree } from '../test-helpers/trees.js';

const tmp = tempDir('xenkit-checks-');
afterAll(() => tmp.cleanup());

const check = treeChecker(tmp.path);

const good = goodDebian();

describe('the good Debian tree', () => {
  it('passes every check that applies to a tree', async () => {
    const dir = writeTree(`${tmp.path}/good`, good);
    const report = await runChecks(await openTreeTarget(dir));
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    expect(byId).toEqual({
      'auto-disk-config': 'skip',
      'resize-on-boot': 'pass',
      'mac-persistence': 'pass',
      'ssh-server': 'pass',
      firewall: 'pass',
      'cloud-init': 'pass',
      'key-injection': 'pass',
      'console-log': 'pass',
      'pv-kernel': 'pass',
    });
    expect(report.verdict).toBe('pass');
    expect(report.os).toMatchObject({ distro: 'debian', majorVersion: 12, minorVersion: 5, productName: '12.5', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    expect(report.properties).toEqual({ cloud_init_installed: 'true', os_type: 'linux', vm_mode: 'xen' });
  });
});

describe('resize-on-boot', () => {
  it('fails without growpart', async () => {
    const r = await check(withChanges(good, { '/usr/bin/growpart': null }), 'resize-on-boot');
    expect(r.status).toBe('fail');
    expect(r.fix).toMatch(/growpart/);
  });
  it('fails when cloud-init lacks the resizefs module', async () => {
    const cfg = (good.files['/etc/cloud/cloud.cfg'] as string).replace('  - resizefs\n', '');
    expect((await check(withChanges(good, { '/etc/cloud/cloud.cfg': cfg }), 'resize-on-boot')).status).toBe('fail');
  });
  it('fails when /etc/growroot-disabled exists', async () => {
    expect((await check(withChanges(good, { '/etc/growroot-disabled': '' }), 'resize-on-boot')).status).toBe('fail');
  });
});

describe('mac-persistence', () => {
  it('fails on a non-empty 70-persistent-net.rules', async () => {
    const rules = 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n';
    const r = await check(withChanges(good, { '/etc/udev/rules.d/70-persistent-net.rules': rules }), 'mac-persistence');
    expect(r.status).toBe('fail');
    expect(r.evidence.join('\n')).toContain('70-persistent-net.rules');
  });
  it('fails on the generator in /lib unless /etc masks it with an empty file', async () => {
    const gen = { '/lib/udev/rules.d/75-persistent-net-generator.rules': 'ACTION=="add", SUBSYSTEM=="net", IMPORT{program}="write_net_rules"\n' };
    expect((await check(withChanges(good, gen), 'mac-persistence')).status).toBe('fail');
    expect((await check(withChanges(good, { ...gen, '/etc/udev/rules.d/75-persistent-net-generator.rules': '' }), 'mac-persistence')).status).toBe('pass');
  });
  it('fails on HWADDR= in ifcfg, netplan macaddress, systemd MACAddress=, NetworkManager mac-address, ifupdown hwaddress', async () => {
    const cases: Record<string, string> = {
      '/etc/sysconfig/network-scripts/ifcfg-eth0': 'DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nBOOTPROTO=dhcp\n',
      '/etc/netplan/50-cloud-init.yaml': 'network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: "52:54:00:12:34:56"\n      set-name: eth0\n',
      '/etc/systemd/network/10-eth0.link': '[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=eth0\n',
      '/etc/NetworkManager/system-connections/eth0.nmconnection': '[ethernet]\nmac-address=52:54:00:12:34:56\n',
      '/etc/network/interfaces': 'auto eth0\niface eth0 inet dhcp\n  hwaddress ether 52:54:00:12:34:56\n',
    };
    for (const [path, text] of Object.entries(cases)) {
      const r = await check(withChanges(good, { [path]: text }), 'mac-persistence');
      expect(r.status, path).toBe('fail');
      expect(r.evidence.join('\n')).toContain(path);
    }
  });
});

describe('ssh-server', () => {
  it('fails without sshd', async () => {
    expect((await check(withChanges(good, { '/usr/sbin/sshd': null }), 'ssh-server')).status).toBe('fail');
  });
  it('fails when the service is not enabled', async () => {
    const r = await check(withChanges(good, {}, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null }), 'ssh-server');
    expect(r.status).toBe('fail');
    expect(r.summary).toMatch(/nothing starts it/);
  });
  it('passes via a sysvinit rc link', async () => {
    const spec = withChanges(good, { '/etc/init.d/ssh': '#!/bin/sh\n' }, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/rc2.d/S02ssh': '../init.d/ssh' });
    expect((await check(spec, 'ssh-server')).status).toBe('pass');
  });
  it('fails when an included file disables public-key authentication', async () => {
    const r = await check(withChanges(good, { '/etc/ssh/sshd_config.d/10-nokeys.conf': 'PubkeyAuthentication no\n' }), 'ssh-server');
    expect(r.status).toBe('fail');
    expect(r.evidence.join('\n')).toContain('10-nokeys.conf:1');
  });
});

describe('firewall', () => {
  it('fails with ufw ENABLED=yes', async () => {
    expect((await check(withChanges(good, { '/etc/ufw/ufw.conf': 'ENABLED=yes\nLOGLEVEL=low\n' }), 'firewall')).status).toBe('fail');
    expect((await check(withChanges(good, { '/etc/ufw/ufw.conf': 'ENABLED=no\n' }), 'firewall')).status).toBe('pass');
  });
  it('fails with firewalld enabled', async () => {
    const spec = withChanges(good, { '/usr/lib/systemd/system/firewalld.service': '[Unit]\n' }, { '/etc/systemd/system/multi-user.target.wants/firewalld.service': '/usr/lib/systemd/system/firewalld.service' });
    expect((await check(spec, 'firewall')).status).toBe('fail');
  });
  it('fails with iptables service and saved REJECT rules, passes with ACCEPT-only rules', async () => {
    const base = { '/usr/lib/systemd/system/iptables.service': '[Unit]\n' };
    const link = { '/etc/systemd/system/basic.target.wants/iptables.service': '/usr/lib/systemd/system/iptables.service' };
    const reject = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n';
    expect((await check(withChanges(good, { ...base, '/etc/sysconfig/iptables': reject }, link), 'firewall')).status).toBe('fail');
    expect((await check(withChanges(good, { ...base, '/etc/sysconfig/iptables': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' }, link), 'firewall')).status).toBe('pass');
  });
  it('fails with nftables enabled and a drop policy', async () => {
    const spec = withChanges(
      good,
      { '/lib/systemd/system/nftables.service': '[Unit]\n', '/etc/nftables.conf': 'flush ruleset\ntable inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n' },
      { '/etc/systemd/system/sysinit.target.wants/nftables.service': '/lib/systemd/system/nftables.service' },
    );
    expect((await check(spec, 'firewall')).status).toBe('fail');
  });
});

describe('cloud-init', () => {
  it('fails when not installed', async () => {
    const r = await check(withChanges(good, { '/usr/bin/cloud-init': null, '/var/lib/dpkg/status': '' }), 'cloud-init');
    expect(r.status).toBe('fail');
    expect(r.properties?.cloud_init_installed).toBeUndefined();
  });
  it('fails when disabled by file or kernel command line', async () => {
    expect((await check(withChanges(good, { '/etc/cloud/cloud-init.disabled': '' }), 'cloud-init')).status).toBe('fail');
    expect((await check(withChanges(good, { '/boot/grub/grub.cfg': GRUB_CFG(`${CONSOLE} cloud-init=disabled`) }), 'cloud-init')).status).toBe('fail');
  });
  it('fails when no datasource usable on OpenStack is listed', async () => {
    const r = await check(withChanges(good, { '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ NoCloud, None ]\n' }), 'cloud-init');
    expect(r.status).toBe('fail');
    expect(r.summary).toContain('NoCloud');
  });
  it('warns when ds-identify may disable it on XenServer, not for a list it can settle', async () => {
    const dsi = { '/usr/lib/cloud-init/ds-identify': '#!/bin/sh\n' };
    expect((await check(withChanges(good, { ...dsi, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ OpenStack, Ec2, None ]\n' }), 'cloud-init')).status).toBe('warn');
    // The fail rule's own fix, the stock default list, a pinned source, and policy: enabled pass.
    expect((await check(withChanges(good, dsi), 'cloud-init')).status).toBe('pass');
    expect((await check(withChanges(good, { ...dsi, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': null }), 'cloud-init')).status).toBe('pass');
    expect((await check(withChanges(good, { ...dsi, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ OpenStack, None ]\n' }), 'cloud-init')).status).toBe('pass');
    const policy = { ...dsi, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ OpenStack, Ec2, None ]\n', '/etc/cloud/ds-identify.cfg': 'policy: search,found=all,maybe=all,notfound=enabled\n' };
    expect((await check(withChanges(good, policy), 'cloud-init')).status).toBe('pass');
  });
  it('the fail rule\'s fixed datasource_list passes every rule', async () => {
    const bad = await check(withChanges(good, { '/usr/lib/cloud-init/ds-identify': '#!/bin/sh\n', '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ NoCloud, None ]\n' }), 'cloud-init');
    const fixed = /`datasource_list: (\[[^\]]*\])`/.exec(bad.fix)?.[1];
    expect(fixed).toBe('[ ConfigDrive, OpenStack, None ]');
    const r = await check(withChanges(good, { '/usr/lib/cloud-init/ds-identify': '#!/bin/sh\n', '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': `datasource_list: ${fixed}\n` }), 'cloud-init');
    expect(r.status).toBe('pass');
  });
});

describe('key-injection', () => {
  const noCloudInit = withChanges(good, { '/usr/bin/cloud-init': null, '/etc/cloud/cloud.cfg': null, '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': null });
  it('fails when nothing injects the key', async () => {
    expect((await check(noCloudInit, 'key-injection')).status).toBe('fail');
  });
  it('passes with the xenkit agent installed per its contract, and fails when the unit is not wanted', async () => {
    const files = { '/etc/systemd/system/xenkit-agent.service': '[Service]\nExecStart=/usr/local/bin/xenkit-agent run\n', '/usr/local/lib/xenkit-agent/xenkit-agent.mjs': '// agent\n', '/usr/bin/node': '' };
    const wanted = { '/etc/systemd/system/multi-user.target.wants/xenkit-agent.service': '/etc/systemd/system/xenkit-agent.service' };
    const r = await check(withChanges(noCloudInit, files, wanted), 'key-injection');
    expect(r.status).toBe('pass');
    expect(r.evidence.join('\n')).toContain('xenkit guest agent');
    expect((await check(withChanges(noCloudInit, files), 'key-injection')).status).toBe('fail');
    const noNode = await check(withChanges(noCloudInit, { ...files, '/usr/bin/node': null }, wanted), 'key-injection');
    expect(noNode.status).toBe('fail');
    expect(noNode.summary).toContain('no node');
  });
  it('passes with the guide\'s rc.local metadata script', async () => {
    const rc = '#!/bin/sh\ncurl -f http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key > /tmp/metadata-key\n';
    const spec = executable(withChanges(noCloudInit, { '/etc/rc.local': rc, '/lib/systemd/system/rc-local.service': '[Service]\nExecStart=/etc/rc.local start\n' }), '/etc/rc.local');
    expect((await check(spec, 'key-injection')).status).toBe('pass');
  });
  it('passes with nova-agent enabled', async () => {
    const spec = withChanges(noCloudInit, { '/usr/lib/systemd/system/nova-agent.service': '[Unit]\n' }, { '/etc/systemd/system/multi-user.target.wants/nova-agent.service': '/usr/lib/systemd/system/nova-agent.service' });
    expect((await check(spec, 'key-injection')).status).toBe('pass');
  });
});

describe('console-log', () => {
  it('fails when the default entry lacks console=ttyS0', async () => {
    const r = await check(withChanges(good, { '/boot/grub/grub.cfg': GRUB_CFG('quiet') }), 'console-log');
    expect(r.status).toBe('fail');
    expect(r.fix).toContain('GRUB_CMDLINE_LINUX_DEFAULT');
  });
  it('warns when /etc/default/grub would drop it at the next update-grub', async () => {
    expect((await check(withChanges(good, { '/etc/default/grub': 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' }), 'console-log')).status).toBe('warn');
  });
  it('follows grubenv saved_entry into a submenu', async () => {
    const cfg = GRUB_CFG(CONSOLE, 'if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nset default="${saved_entry}"').replace(/ro single/, 'ro single console=hvc0');
    const env = '# GRUB Environment Block\nsaved_entry=gnulinux-advanced-6d2231e4-0975-4f35-a94f-56738c1a8150>gnulinux-6.1.0-18-amd64-recovery-6d2231e4-0975-4f35-a94f-56738c1a8150\n'.padEnd(1024, '#');
    const r = await check(withChanges(good, { '/boot/grub/grub.cfg': cfg, '/boot/grub/grubenv': env }), 'console-log');
    // PV boots pygrub's entry 0 (with the console); HVM would boot grub's recovery default without it.
    expect(r.status).toBe('warn');
    expect(r.evidence[0]).toContain('pygrub (Xen PV) boots entry 0');
    expect(r.evidence.join('\n')).toContain('recovery mode');
    // The other way round — grub's default has it, pygrub's entry does not — fails.
    const pvWithout = GRUB_CFG('quiet', 'if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nset default="${saved_entry}"').replace(/ro single/, `ro single ${CONSOLE}`);
    const r2 = await check(withChanges(good, { '/boot/grub/grub.cfg': pvWithout, '/boot/grub/grubenv': env }), 'console-log');
    expect(r2.status).toBe('fail');
    expect(r2.summary).toContain('pygrub (PV)');
  });
  it('reads extlinux and legacy grub when there is no grub.cfg', async () => {
    const ext = `DEFAULT linux\nLABEL linux\n  KERNEL /boot/vmlinuz-6.1.0-18-amd64\n  APPEND root=/dev/xvda1 ro ${CONSOLE} initrd=/boot/initrd.img-6.1.0-18-amd64\n`;
    expect((await check(withChanges(good, { '/boot/grub/grub.cfg': null, '/boot/extlinux/extlinux.conf': ext }), 'console-log')).status).toBe('pass');
    const lst = 'default 1\ntimeout 5\ntitle one\n  root (hd0,0)\n  kernel /boot/vmlinuz-2.6.18-xen ro root=/dev/xvda1\ntitle two\n  root (hd0,0)\n  kernel (hd0,0)/boot/vmlinuz-2.6.18-xen ro root=/dev/xvda1 console=ttyS0\n';
    const r = await check(withChanges(good, { '/boot/grub/grub.cfg': null, '/boot/grub/menu.lst': lst }), 'console-log');
    expect(r.status).toBe('warn');
    expect(r.evidence[0]).toContain('"two"');
  });
  it('reads BLS entries (Fedora/RHEL grub2 with blscfg) with $kernelopts from grubenv and a saved_entry id', async () => {
    const cfg = 'set default="${saved_entry}"\nload_env -f ${config_directory}/grubenv\ninsmod blscfg\nblscfg\n';
    const env = '# GRUB Environment Block\nsaved_entry=abc-5.14.0-362.el9.x86_64\nkernelopts=root=/dev/xvda1 ro console=tty0 console=ttyS0,115200n8\n'.padEnd(1024, '#');
    const entry = (v: string) => `title Rocky Linux (${v})\nversion ${v}\nlinux /boot/vmlinuz-6.1.0-18-amd64\ninitrd /boot/initramfs-${v}.img\noptions $kernelopts\nid rocky-${v}\n`;
    const spec = withChanges(good, {
      '/boot/grub/grub.cfg': null,
      '/boot/grub2/grub.cfg': cfg,
      '/boot/grub2/grubenv': env,
      '/boot/loader/entries/abc-5.14.0-362.el9.x86_64.conf': entry('5.14.0-362.el9.x86_64'),
      '/boot/loader/entries/abc-5.14.0-70.el9.x86_64.conf': entry('5.14.0-70.el9.x86_64').replace('options $kernelopts', 'options root=/dev/xvda1 ro quiet'),
    });
    const r = await check(spec, 'console-log');
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toContain('(grub2-bls): default entry "Rocky Linux (5.14.0-362.el9.x86_64)"');
    expect(r.evidence.join('\n')).toContain('pygrub (Xen PV) finds no entry');
    expect((await check(spec, 'pv-kernel')).status).toBe('warn');
    const older = await check(withChanges(spec, { '/boot/grub2/grubenv': env.replace('362', '70') }), 'console-log');
    expect(older.status).toBe('fail');
  });
  it('fails when there is no boot loader config at all', async () => {
    expect((await check(withChanges(good, { '/boot/grub/grub.cfg': null }), 'console-log')).status).toBe('fail');
  });
});

describe('pv-kernel', () => {
  const K = '/boot/vmlinuz-6.1.0-18-amd64';
  it('fails for a pre-3.0 kernel without Xen notes, warns for a 3.x+ one', async () => {
    const old = await check(withChanges(good, { [K]: miniKernel('2.6.18-8.el5', false) }), 'pv-kernel');
    expect(old.status).toBe('fail');
    expect(old.evidence.join('\n')).toContain('Not a Xen-ELF image');
    expect(old.properties?.vm_mode).toBe('hvm');
    expect((await check(withChanges(good, { [K]: miniKernel('6.1.0-18-amd64', false) }), 'pv-kernel')).status).toBe('warn');
  });
  it('passes a pre-3.0 Xen kernel', async () => {
    const r = await check(withChanges(good, { [K]: miniKernel('2.6.18-8.el5xen', true) }), 'pv-kernel');
    expect(r.status).toBe('pass');
    expect(r.summary).toContain('2.6.18-8.el5xen');
  });
  it('fails when the default entry names a missing kernel or a file that is no kernel', async () => {
    expect((await check(withChanges(good, { [K]: null }), 'pv-kernel')).status).toBe('fail');
    expect((await check(withChanges(good, { [K]: 'just text' }), 'pv-kernel')).status).toBe('fail');
  });
});
