import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isFile, parseShellVars, readTextLenient as readText } from '../text.js';

/** What libguestfs's `linux_root_tests` learn about a Linux root; "unknown" fields are left out. */
export interface DistroInfo {
  distro?: string;
  /** virt-inspector's product_name: from the file that decided (Debian's is /etc/debian_version's text). */
  productName?: string;
  /** os-release PRETTY_NAME, for people. */
  prettyName?: string;
  /** libosinfo short id as virt-inspector derives it ("debian12", "ubuntu22.04"), when known. */
  osinfo?: string;
  majorVersion: number;
  minorVersion: number;
  /** The file the answer came from. */
  source?: string;
  packageFormat?: string;
  packageManagement?: string;
}

// os-release ID → virt-inspector distro name.
const OS_RELEASE_IDS: Record<string, string> = {
  alpine: 'alpinelinux',
  altlinux: 'altlinux',
  arch: 'archlinux',
  centos: 'centos',
  circle: 'circle',
  debian: 'debian',
  fedora: 'fedora',
  frugalware: 'frugalware',
  gentoo: 'gentoo',
  kali: 'kalilinux',
  mageia: 'mageia',
  opensuse: 'opensuse',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  ol: 'oraclelinux',
  rhel: 'rhel',
  rocky: 'rocky',
  almalinux: 'almalinux',
  sles: 'sles',
  ubuntu: 'ubuntu',
  void: 'voidlinux',
};

function parseVersion(v: string | undefined): { major: number; minor: number } | null {
  const m = /^(\d+)(?:\.(\d+))?/.exec(v ?? '');
  if (!m) return null;
  return { major: Number(m[1]), minor: m[2] === undefined ? 0 : Number(m[2]) };
}

async function fromOsRelease(fs: ReadOnlyFileSystem): Promise<DistroInfo | null> {
  const text = await readText(fs, '/etc/os-release');
  if (text === null) return null;
  const vars = parseShellVars(text);
  const id = vars.get('ID');
  const distro = id ? OS_RELEASE_IDS[id.toLowerCase()] : undefined;
  const productName = vars.get('PRETTY_NAME');
  const version = parseVersion(vars.get('VERSION_ID'));
  // libguestfs falls through unless it has a distro, a name and a version; Debian's and CentOS's
  // VERSION_ID carries only the major number, so the later files give the minor.
  if (!distro || !productName || !version) return null;
  const hasMinor = /^\d+\.\d+/.test(vars.get('VERSION_ID') ?? '');
  if ((distro === 'debian' || distro === 'centos') && !hasMinor) return null;
  return { distro, productName, majorVersion: version.major, minorVersion: version.minor, source: '/etc/os-release' };
}

async function fromLsbRelease(fs: ReadOnlyFileSystem): Promise<DistroInfo | null> {
  const text = await readText(fs, '/etc/lsb-release');
  if (text === null) return null;
  const vars = parseShellVars(text);
  const id = vars.get('DISTRIB_ID')?.toLowerCase();
  const version = parseVersion(vars.get('DISTRIB_RELEASE'));
  const known: Record<string, string> = { ubuntu: 'ubuntu', linuxmint: 'linuxmint', 'mandrivalinux': 'mandriva', 'corel': 'corel' };
  const distro = id ? known[id] : undefined;
  if (!distro || !version) return null;
  return {
    distro,
    productName: vars.get('DISTRIB_DESCRIPTION'),
    majorVersion: version.major,
    minorVersion: version.minor,
    source: '/etc/lsb-release',
  };
}

// Release files tried in libguestfs's order; derivatives before /etc/redhat-release.
const RELEASE_FILES: { path: string; rules: { re: RegExp; distro: string }[] }[] = [
  { path: '/etc/oracle-release', rules: [{ re: /Oracle Linux.*release (\d+)(?:\.(\d+))?/, distro: 'oraclelinux' }] },
  { path: '/etc/centos-release', rules: [{ re: /CentOS.*release (\d+)(?:\.(\d+))?/, distro: 'centos' }] },
  { path: '/etc/rocky-release', rules: [{ re: /Rocky Linux.*release (\d+)(?:\.(\d+))?/, distro: 'rocky' }] },
  { path: '/etc/altlinux-release', rules: [{ re: /ALT.*?(\d+)(?:\.(\d+))?/, distro: 'altlinux' }] },
  {
    path: '/etc/redhat-release',
    rules: [
      { re: /Fedora release (\d+)(?:\.(\d+))?/, distro: 'fedora' },
      { re: /Red Hat.*release (\d+)(?:.*Update (\d+))?/, distro: 'rhel' },
      { re: /CentOS.*release (\d+)(?:\.(\d+))?/, distro: 'centos' },
      { re: /Scientific Linux.*release (\d+)(?:\.(\d+))?/, distro: 'scientificlinux' },
      { re: /release (\d+)(?:\.(\d+))?/, distro: 'redhat-based' },
    ],
  },
  { path: '/etc/debian_version', rules: [{ re: /^(\d+)(?:\.(\d+))?/, distro: 'debian' }] },
  { path: '/etc/SuSE-release', rules: [{ re: /VERSION = (\d+)(?:[\s\S]*PATCHLEVEL = (\d+))?/, distro: 'sles' }] },
  { path: '/etc/cirros/version', rules: [{ re: /^(\d+)(?:\.(\d+))?/, distro: 'cirros' }] },
  { path: '/etc/alpine-release', rules: [{ re: /^(\d+)(?:\.(\d+))?/, distro: 'alpinelinux' }] },
  { path: '/etc/arch-release', rules: [{ re: /^/, distro: 'archlinux' }] },
  { path: '/etc/gentoo-release', rules: [{ re: /(\d+)?(?:\.(\d+))?/, distro: 'gentoo' }] },
];

async function fromReleaseFiles(fs: ReadOnlyFileSystem): Promise<DistroInfo | null> {
  for (const { path, rules } of RELEASE_FILES) {
    const text = await readText(fs, path);
    if (text === null) continue;
    const first = text.split('\n')[0]?.trim() ?? '';
    for (const { re, distro } of rules) {
      const m = re.exec(text);
      if (!m) continue;
      return {
        distro,
        ...(first ? { productName: first } : {}),
        majorVersion: m[1] ? Number(m[1]) : 0,
        minorVersion: m[2] ? Number(m[2]) : 0,
        source: path,
      };
    }
  }
  return null;
}

/**
 * Distro and version the way libguestfs's inspection finds them: os-release first (when complete),
 * then lsb-release, then each distro's own release file. When os-release names the distro but lacks a
 * minor version, its product name is kept and the release file supplies the numbers.
 */
export async function detectDistro(fs: ReadOnlyFileSystem): Promise<DistroInfo> {
  const info = (await fromOsRelease(fs)) ?? (await fromLsbRelease(fs)) ?? (await fromReleaseFiles(fs));
  const base: DistroInfo = info ?? { majorVersion: 0, minorVersion: 0 };
  const osr = await readText(fs, '/etc/os-release');
  const pretty = osr ? parseShellVars(osr).get('PRETTY_NAME') : undefined;
  if (pretty) base.prettyName = pretty;
  const osinfo = osinfoId(base);
  if (osinfo) base.osinfo = osinfo;
  Object.assign(base, await packaging(fs, base.distro));
  return base;
}

/** libguestfs's libosinfo id rule (daemon/inspect_osinfo.ml) for the distros it is sure of. */
function osinfoId(d: DistroInfo): string | undefined {
  const { majorVersion: ma, minorVersion: mi } = d;
  switch (d.distro) {
    case 'debian':
      return ma >= 4 ? `debian${ma}` : undefined;
    case 'ubuntu':
      return `ubuntu${ma}.${String(mi).padStart(2, '0')}`;
    case 'fedora':
    case 'mageia':
      return `${d.distro}${ma}`;
    case 'centos':
      return ma < 7 ? `centos${ma}.${mi}` : ma === 7 ? 'centos7.0' : `centos${ma}`;
    case 'rhel':
      return `rhel${ma}.${mi}`;
    case 'alpinelinux':
      return `alpinelinux${ma}.${mi}`;
    default:
      return undefined;
  }
}

async function packaging(fs: ReadOnlyFileSystem, distro: string | undefined): Promise<Partial<DistroInfo>> {
  const has = (p: string) => isFile(fs, p);
  switch (distro) {
    case 'debian':
    case 'ubuntu':
    case 'linuxmint':
    case 'kalilinux':
      return { packageFormat: 'deb', packageManagement: 'apt' };
    case 'alpinelinux':
      return { packageFormat: 'apk', packageManagement: 'apk' };
    case 'archlinux':
      return { packageFormat: 'pacman', packageManagement: 'pacman' };
    case 'opensuse':
    case 'sles':
      return { packageFormat: 'rpm', packageManagement: 'zypper' };
    case 'gentoo':
      return { packageFormat: 'ebuild', packageManagement: 'portage' };
    case 'voidlinux':
      return { packageFormat: 'xbps', packageManagement: 'xbps' };
    case undefined:
      break;
    default:
      if (['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'oraclelinux', 'scientificlinux', 'redhat-based', 'mageia', 'altlinux'].includes(distro)) {
        const manager = (await has('/usr/bin/dnf')) || (await has('/usr/bin/dnf-3')) ? 'dnf' : (await has('/usr/bin/yum')) ? 'yum' : undefined;
        return { packageFormat: 'rpm', ...(manager ? { packageManagement: manager } : {}) };
      }
  }
  if (await has('/var/lib/dpkg/status')) return { packageFormat: 'deb', packageManagement: 'apt' };
  if (await has('/lib/apk/db/installed')) return { packageFormat: 'apk', packageManagement: 'apk' };
  return {};
}
