import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exec, requireTools } from '@xenkit/fixtures';

/** Per-machine cache (never committed): a fresh clone of a machine that already fetched it reuses it. */
export const FIXTURE_CACHE = resolve(import.meta.dirname, '../../../../node_modules/.cache/xenkit-fixtures');
const DIR = join(FIXTURE_CACHE, 'debian-cloud-kernel');

export interface DebianKernel {
  /** The package the kernel came from, e.g. linux-image-6.1.0-56-cloud-amd64. */
  package: string;
  vmlinuz: string;
  config: string;
  systemMap: string;
  /** The bzImage's ELF payload, unwrapped by the real codec tool. */
  vmlinux: string;
  /** The payload's compression tool name as the bzImage carries it. */
  codec: string;
}

function findPackage(): string {
  const depends = (): string | undefined => {
    const r = exec('apt-cache', ['depends', 'linux-image-cloud-amd64'], { allowFailure: true });
    return /Depends:\s*(linux-image-[0-9][^\s]*-cloud-amd64)/.exec(r.stdout)?.[1];
  };
  let pkg = depends();
  if (!pkg) {
    exec('apt-get', ['update'], { timeoutMs: 300_000 });
    pkg = depends();
  }
  if (!pkg) throw new Error('apt-cache depends linux-image-cloud-amd64 names no linux-image-*-cloud-amd64 package');
  return pkg;
}

/** Payload slice of a bzImage, computed independently of the code under test (boot.rst offsets). */
export function bzPayload(file: Uint8Array): { start: number; length: number } {
  const v = new DataView(file.buffer, file.byteOffset, file.length);
  const start = ((file[0x1f1] as number) + 1) * 512 + v.getUint32(0x248, true);
  return { start, length: v.getUint32(0x24c, true) };
}

const TOOL_FOR: Record<string, [string, string[]]> = {
  '1f8b': ['gzip', ['-dc']],
  '425a': ['bzip2', ['-dc']],
  fd37: ['xz', ['-dc']],
  '28b5': ['zstd', ['-dc']],
  '5d00': ['lzma', ['-dc']],
  '894c': ['lzop', ['-dc']],
  '0221': ['lz4', ['-dc']],
};

/** Download (once per machine) and unpack Debian's current cloud kernel; unwrap its ELF with the real tool. */
export function ensureDebianKernel(): DebianKernel {
  const meta = join(DIR, 'meta.json');
  if (existsSync(meta)) {
    const cached = JSON.parse(readFileSync(meta, 'utf8')) as DebianKernel;
    if (existsSync(cached.vmlinuz) && existsSync(cached.vmlinux)) return cached;
  }
  requireTools('apt-get', 'apt-cache', 'dpkg-deb', 'lz4', 'gzip', 'xz', 'zstd', 'bzip2', 'lzma', 'lzop');
  const pkg = findPackage();
  const work = `${DIR}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  exec('apt-get', ['download', pkg], { cwd: work, timeoutMs: 300_000 });
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
  exec('dpkg-deb', ['-x', join(work, deb), join(work, 'root')]);
  rmSync(join(work, deb));
  rmSync(DIR, { recursive: true, force: true });
  renameSync(work, DIR);
  const boot = join(DIR, 'root', 'boot');
  const pick = (prefix: string): string => {
    const f = readdirSync(boot).find((n) => n.startsWith(prefix));
    if (!f) throw new Error(`${pkg} has no /boot/${prefix}*`);
    return join(boot, f);
  };
  const vmlinuz = pick('vmlinuz-');
  const file = readFileSync(vmlinuz);
  const { start, length } = bzPayload(file);
  // Linux appends the uncompressed size (scripts/Makefile.lib size_append); the codec tools reject it.
  const payload = file.subarray(start, start + length - 4);
  const magic = payload.subarray(0, 2).toString('hex');
  const tool = TOOL_FOR[magic];
  if (!tool) throw new Error(`${vmlinuz}: payload magic ${magic} matches no codec tool`);
  const payloadPath = join(DIR, 'payload');
  writeFileSync(payloadPath, payload);
  const vmlinux = join(DIR, 'vmlinux');
  // The tools write to stdout; go through a shell so a 50 MB ELF is not held in a pipe buffer in this process.
  exec('sh', ['-c', `${tool[0]} ${tool[1].join(' ')} < "$1" > "$2"`, 'sh', payloadPath, vmlinux]);
  rmSync(payloadPath);
  const result: DebianKernel = {
    package: pkg, vmlinuz, config: pick('config-'), systemMap: pick('System.map-'), vmlinux, codec: tool[0],
  };
  writeFileSync(meta, JSON.stringify(result, null, 2));
  return result;
}
