import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { NovaProtocol } from './commands.js';
import { makeGuestTree } from './test-helpers/tree.js';
import { parseInterface, prefixFromNetmask, render, type NovaInterface } from './network.js';

// nova's vm-data/networking entries, rendered per stack and read back by each stack's own parser
// (ifupdown's ifquery, sh for sysconfig, PyYAML for netplan, configparser for NetworkManager keyfiles).
const ETH0: NovaInterface = {
  label: 'public',
  mac: 'AA:BB:CC:00:11:22',
  gateway: '192.0.2.1',
  gateway_v6: '2001:db8::1',
  ips: [{ ip: '192.0.2.10', netmask: '255.255.255.0', enabled: '1' }],
  ip6s: [{ ip: '2001:db8::10', netmask: 64, enabled: '1' }],
  routes: [{ route: '10.0.0.0', netmask: '255.0.0.0', gateway: '192.0.2.254' }],
  dns: ['192.0.2.53', '192.0.2.54'],
};
const ETH1: NovaInterface = { label: 'private', mac: 'aa:bb:cc:00:11:33', ips: [{ ip: '10.1.2.3', netmask: '255.255.0.0', enabled: '1' }] };

describe('resetnetwork rendering', () => {
  const dir = tempDir('xenkit-net-');
  afterAll(() => dir.cleanup());
  const file = (name: string, content: string): string => {
    const p = join(dir.path, name);
    writeFileSync(p, content);
    return p;
  };

  it('ifupdown: ifquery reads back addresses, gateways and DNS', () => {
    requireTools('ifquery');
    const [f] = render('ifupdown', [ETH0, ETH1], ['eth0', 'eth1']);
    const p = file('interfaces', f?.content ?? '');
    expect(exec('ifquery', ['-i', p, '--list']).stdout.split('\n')).toEqual(expect.arrayContaining(['eth0', 'eth1']));
    const eth0 = exec('ifquery', ['-i', p, 'eth0']).stdout;
    expect(eth0).toMatch(/address: 192\.0\.2\.10\n/);
    expect(eth0).toMatch(/netmask: 255\.255\.255\.0\n/);
    expect(eth0).toMatch(/gateway: 192\.0\.2\.1\n/);
    expect(eth0).toMatch(/dns-nameservers: 192\.0\.2\.53 192\.0\.2\.54/);
    expect(eth0).toMatch(/address: 2001:db8::10\n/);
    expect(eth0).toMatch(/up: ip route add 10\.0\.0\.0\/8 via 192\.0\.2\.254 dev eth0/);
    expect(exec('ifquery', ['-i', p, 'eth1']).stdout).toMatch(/netmask: 255\.255\.0\.0/);
  });

  it('sysconfig: ifcfg files source cleanly in sh', () => {
    const files = render('sysconfig', [ETH0, ETH1], ['eth0', 'eth1']);
    expect(files.map((f) => f.path)).toEqual(['etc/sysconfig/network-scripts/ifcfg-eth0', 'etc/sysconfig/network-scripts/ifcfg-eth1']);
    const p = file('ifcfg-eth0', files[0]?.content ?? '');
    const out = exec('sh', ['-c', '. "$1" && echo "$DEVICE $HWADDR $IPADDR/$PREFIX $GATEWAY $IPV6ADDR $DNS1 $DNS2"', 'sh', p]).stdout.trim();
    expect(out).toBe('eth0 aa:bb:cc:00:11:22 192.0.2.10/24 192.0.2.1 2001:db8::10/64 192.0.2.53 192.0.2.54');
  });

  it('netplan: YAML parses to the expected structure', () => {
    requireTools('/usr/bin/python3');
    const [f] = render('netplan', [ETH0, ETH1], ['eth0', 'eth1']);
    const p = file('netplan.yaml', f?.content ?? '');
    const json = exec('/usr/bin/python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', p]).stdout;
    const doc = JSON.parse(json) as { network: { version: number; ethernets: Record<string, Record<string, unknown>> } };
    expect(doc.network.version).toBe(2);
    expect(doc.network.ethernets.eth0).toMatchObject({
      match: { macaddress: 'aa:bb:cc:00:11:22' },
      addresses: ['192.0.2.10/24', '2001:db8::10/64'],
      routes: [{ to: 'default', via: '192.0.2.1' }, { to: '::/0', via: '2001:db8::1' }, { to: '10.0.0.0/8', via: '192.0.2.254' }],
      nameservers: { addresses: ['192.0.2.53', '192.0.2.54'] },
    });
    expect(doc.network.ethernets.eth1).toMatchObject({ addresses: ['10.1.2.3/16'] });
  });

  it('NetworkManager: keyfiles parse with configparser', () => {
    const files = render('networkmanager', [ETH0], ['eth0']);
    const p = file('eth0.nmconnection', files[0]?.content ?? '');
    const out = exec('/usr/bin/python3', ['-c', 'import sys, configparser; c = configparser.ConfigParser(); c.read(sys.argv[1]); print(c["ethernet"]["mac-address"], c["ipv4"]["method"], c["ipv4"]["address1"], c["ipv6"]["address1"])', p]).stdout.trim();
    expect(out).toBe('AA:BB:CC:00:11:22 manual 192.0.2.10/24,192.0.2.1 2001:db8::10/64,2001:db8::1');
  });

  it('refuses values that would inject into config files', () => {
    expect(() => parseInterface(JSON.stringify({ ...ETH0, gateway: '1.2.3.4\nup rm -rf /' }))).toThrow(/bad IPv4/);
    expect(() => parseInterface(JSON.stringify({ ...ETH0, mac: 'aa:bb' }))).toThrow(/mac/);
    expect(() => parseInterface(JSON.stringify({ ...ETH0, dns: ['8.8.8.8; evil'] }))).toThrow(/DNS/);
    expect(() => parseInterface('{')).toThrow(/not JSON/);
    expect(() => prefixFromNetmask('255.0.255.0')).toThrow(/contiguous/);
    expect(parseInterface(JSON.stringify(ETH0)).mac).toBe(ETH0.mac);
  });

  it('non-list ips/ip6s/routes/dns and non-object items are E_AGENT_NET_BAD, not a TypeError', async () => {
    const bad: Record<string, unknown>[] = [{ ips: {} }, { ips: 5 }, { ip6s: true }, { routes: { route: '10.0.0.0' } }, { dns: { a: 1 } }, { ips: [null] }, { routes: [7] }, { dns: [1] }];
    for (const patch of bad) {
      const json = JSON.stringify({ ...ETH0, ...patch });
      expect(() => parseInterface(json), json).toThrow(expect.objectContaining({ code: 'E_AGENT_NET_BAD' }));
    }
    const tree = makeGuestTree();
    try {
      const protocol = new NovaProtocol({ root: tree.root, readNetworking: async () => [JSON.stringify({ ...ETH0, ips: {} })] });
      const r = await protocol.handle('{"name":"resetnetwork","value":""}');
      expect(r).toEqual({ returncode: '500', message: 'networking entry field ips must be a list' });
    } finally {
      tree.cleanup();
    }
  });
});
