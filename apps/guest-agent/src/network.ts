import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { InputError } from '@xenkit/core';
import { HostTreeFileSystem } from '@xenkit/disk';

/** One interface as nova writes it to `vm-data/networking/<mac without colons>`. */
export interface NovaInterface {
  label?: string;
  mac: string;
  gateway?: string;
  gateway_v6?: string;
  broadcast?: string;
  ips?: Array<{ ip: string; netmask: string; enabled?: string; gateway?: string }>;
  ip6s?: Array<{ ip: string; netmask: string | number; enabled?: string; gateway?: string }>;
  routes?: Array<{ route: string; netmask: string; gateway: string }>;
  dns?: string[];
}

export type NetworkStack = 'netplan' | 'networkmanager' | 'sysconfig' | 'ifupdown';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function v4(s: unknown): string {
  if (typeof s !== 'string' || !IPV4.test(s) || s.split('.').some((o) => Number(o) > 255)) throw new InputError('E_AGENT_NET_BAD', `bad IPv4 address ${JSON.stringify(s)}`);
  return s;
}

function v6(s: unknown): string {
  if (typeof s !== 'string' || !IPV6.test(s) || !s.includes(':')) throw new InputError('E_AGENT_NET_BAD', `bad IPv6 address ${JSON.stringify(s)}`);
  return s;
}

export function prefixFromNetmask(mask: string): number {
  const bits = v4(mask).split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  if (!/^1*0*$/.test(bits)) throw new InputError('E_AGENT_NET_BAD', `netmask ${mask} is not contiguous`);
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}

/** Validates one entry; every value ends up in config files, so nothing unchecked goes through. */
export function parseInterface(json: string): NovaInterface {
  let raw: NovaInterface;
  try {
    raw = JSON.parse(json) as NovaInterface;
  } catch {
    throw new InputError('E_AGENT_NET_BAD', 'vm-data/networking entry is not JSON');
  }
  if (!raw || typeof raw !== 'object' || typeof raw.mac !== 'string' || !MAC.test(raw.mac)) throw new InputError('E_AGENT_NET_BAD', 'networking entry lacks a valid mac');
  if (raw.gateway) v4(raw.gateway);
  if (raw.gateway_v6) v6(raw.gateway_v6);
  // Shapes first: a string or object where nova sends a list would otherwise surface as a TypeError.
  for (const key of ['ips', 'ip6s', 'routes', 'dns'] as const) {
    const list: unknown = raw[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new InputError('E_AGENT_NET_BAD', `networking entry field ${key} must be a list`);
    if (list.length > 256) throw new InputError('E_AGENT_NET_BAD', `networking entry field ${key} has ${list.length} items (at most 256)`);
    const want = key === 'dns' ? 'string' : 'object';
    if (list.some((x: unknown) => typeof x !== want || x === null)) throw new InputError('E_AGENT_NET_BAD', `networking entry field ${key} must hold ${want === 'string' ? 'strings' : 'objects'}`);
  }
  for (const ip of raw.ips ?? []) (v4(ip.ip), prefixFromNetmask(ip.netmask));
  for (const ip of raw.ip6s ?? []) {
    v6(ip.ip);
    if (!/^\d{1,3}$/.test(String(ip.netmask))) throw new InputError('E_AGENT_NET_BAD', 'bad IPv6 prefix length');
  }
  for (const r of raw.routes ?? []) (v4(r.route), prefixFromNetmask(r.netmask), v4(r.gateway));
  for (const d of raw.dns ?? []) if (!IPV4.test(d) && !IPV6.test(d)) throw new InputError('E_AGENT_NET_BAD', `bad DNS server ${JSON.stringify(d)}`);
  return raw;
}

/**
 * The image's network stack, by what its tree contains; netplan wins since it drives the others.
 * Probed through a tree view so a link in the image resolves inside ROOT, never on the host.
 */
export async function detectStack(root: string): Promise<NetworkStack> {
  const fs = await HostTreeFileSystem.open(root);
  const has = (p: string) => fs.exists(p).catch(() => false);
  try {
    if ((await has('/etc/netplan')) || (await has('/usr/sbin/netplan'))) return 'netplan';
    if (await has('/etc/sysconfig/network-scripts')) return 'sysconfig';
    if (await has('/etc/network/interfaces')) return 'ifupdown';
    if (await has('/etc/NetworkManager')) return 'networkmanager';
    return 'ifupdown';
  } finally {
    await fs.close();
  }
}

/**
 * Interface names by MAC: the live kernel's on a running guest (sysfs, never part of a --root tree),
 * eth0… in nova's order in a tree.
 */
export function interfaceNames(root: string, ifaces: readonly NovaInterface[]): string[] {
  const byMac = new Map<string, string>();
  if (root === '/' && existsSync('/sys/class/net')) {
    for (const name of readdirSync('/sys/class/net')) {
      try {
        byMac.set(readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim().toLowerCase(), name);
      } catch {
        // interfaces vanish; skip
      }
    }
  }
  return ifaces.map((f, i) => byMac.get(f.mac.toLowerCase()) ?? `eth${i}`);
}

export interface RenderedFile {
  path: string;
  content: string;
}

export function render(stack: NetworkStack, ifaces: readonly NovaInterface[], names: readonly string[]): RenderedFile[] {
  const addrs = (f: NovaInterface): string[] => [
    ...(f.ips ?? []).filter((i) => i.enabled !== '0').map((i) => `${i.ip}/${prefixFromNetmask(i.netmask)}`),
    ...(f.ip6s ?? []).filter((i) => i.enabled !== '0').map((i) => `${i.ip}/${i.netmask}`),
  ];
  const header = '# Written by xenkit-agent from xenstore vm-data/networking (nova resetnetwork).';
  switch (stack) {
    case 'netplan': {
      const lines = [header, 'network:', '  version: 2', '  ethernets:'];
      ifaces.forEach((f, i) => {
        lines.push(`    ${names[i]}:`, `      match:`, `        macaddress: "${f.mac.toLowerCase()}"`, `      set-name: ${names[i]}`);
        lines.push(`      addresses: [${addrs(f).map((a) => `"${a}"`).join(', ')}]`);
        const routes = [
          ...(f.gateway ? [`{to: default, via: "${f.gateway}"}`] : []),
          ...(f.gateway_v6 ? [`{to: "::/0", via: "${f.gateway_v6}"}`] : []),
          ...(f.routes ?? []).map((r) => `{to: "${r.route}/${prefixFromNetmask(r.netmask)}", via: "${r.gateway}"}`),
        ];
        if (routes.length) lines.push(`      routes: [${routes.join(', ')}]`);
        if (f.dns?.length) lines.push(`      nameservers: {addresses: [${f.dns.map((d) => `"${d}"`).join(', ')}]}`);
      });
      return [{ path: 'etc/netplan/60-xenkit-agent.yaml', content: `${lines.join('\n')}\n` }];
    }
    case 'ifupdown': {
      const lines = [header, ''];
      ifaces.forEach((f, i) => {
        const v4s = (f.ips ?? []).filter((x) => x.enabled !== '0');
        v4s.forEach((ip, n) => {
          lines.push(n === 0 ? `auto ${names[i]}` : '', `iface ${names[i]} inet static`, `    address ${ip.ip}/${prefixFromNetmask(ip.netmask)}`);
          if (n === 0 && f.gateway) lines.push(`    gateway ${f.gateway}`);
          if (n === 0 && f.dns?.length) lines.push(`    dns-nameservers ${f.dns.join(' ')}`);
          if (n === 0) for (const r of f.routes ?? []) lines.push(`    up ip route add ${r.route}/${prefixFromNetmask(r.netmask)} via ${r.gateway} dev ${names[i]}`);
        });
        for (const ip of f.ip6s ?? []) {
          lines.push(`iface ${names[i]} inet6 static`, `    address ${ip.ip}/${ip.netmask}`);
          if (f.gateway_v6) lines.push(`    gateway ${f.gateway_v6}`);
        }
        lines.push('');
      });
      return [{ path: 'etc/network/interfaces.d/60-xenkit-agent', content: `${lines.filter((l, k, a) => l !== '' || a[k - 1] !== '').join('\n')}\n` }];
    }
    case 'sysconfig':
      return ifaces.map((f, i) => {
        const lines = [header, `DEVICE=${names[i]}`, `HWADDR=${f.mac.toLowerCase()}`, 'BOOTPROTO=none', 'ONBOOT=yes'];
        (f.ips ?? []).filter((x) => x.enabled !== '0').forEach((ip, n) => {
          const s = n === 0 ? '' : String(n);
          lines.push(`IPADDR${s}=${ip.ip}`, `PREFIX${s}=${prefixFromNetmask(ip.netmask)}`);
        });
        if (f.gateway) lines.push(`GATEWAY=${f.gateway}`);
        if (f.ip6s?.length) lines.push('IPV6INIT=yes', `IPV6ADDR=${f.ip6s.map((x) => `${x.ip}/${x.netmask}`).join(' ')}`);
        if (f.gateway_v6) lines.push(`IPV6_DEFAULTGW=${f.gateway_v6}`);
        (f.dns ?? []).slice(0, 3).forEach((d, n) => lines.push(`DNS${n + 1}=${d}`));
        return { path: `etc/sysconfig/network-scripts/ifcfg-${names[i]}`, content: `${lines.join('\n')}\n` };
      });
    case 'networkmanager':
      return ifaces.map((f, i) => {
        const v4a = (f.ips ?? []).filter((x) => x.enabled !== '0');
        const lines = [header, '[connection]', `id=xenkit-${names[i]}`, 'type=ethernet', `interface-name=${names[i]}`, '', '[ethernet]', `mac-address=${f.mac.toUpperCase()}`, '', '[ipv4]', `method=${v4a.length ? 'manual' : 'disabled'}`];
        v4a.forEach((ip, n) => lines.push(`address${n + 1}=${ip.ip}/${prefixFromNetmask(ip.netmask)}${n === 0 && f.gateway ? `,${f.gateway}` : ''}`));
        if (f.dns?.length) lines.push(`dns=${f.dns.filter((d) => IPV4.test(d)).join(';')};`);
        lines.push('', '[ipv6]', `method=${f.ip6s?.length ? 'manual' : 'ignore'}`);
        (f.ip6s ?? []).forEach((ip, n) => lines.push(`address${n + 1}=${ip.ip}/${ip.netmask}${n === 0 && f.gateway_v6 ? `,${f.gateway_v6}` : ''}`));
        return { path: `etc/NetworkManager/system-connections/xenkit-${names[i]}.nmconnection`, content: `${lines.join('\n')}\n` };
      });
  }
  return [];
}

/** Commands that make a live guest pick up the written configuration (best effort, in order). */
export function applyCommands(stack: NetworkStack, names: readonly string[]): string[][] {
  switch (stack) {
    case 'netplan':
      return [['netplan', 'apply']];
    case 'networkmanager':
      return [['nmcli', 'connection', 'reload'], ...names.map((n) => ['nmcli', 'connection', 'up', 'id', `xenkit-${n}`])];
    case 'sysconfig':
      return names.flatMap((n) => [['ifdown', n], ['ifup', n]]);
    case 'ifupdown':
      return names.flatMap((n) => [['ifdown', '--force', n], ['ifup', n]]);
  }
  return [];
}
