import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isDir, isFile, isUnreadable, linkTarget, readTextLenient as readText, parseShellVars } from '../text.js';

/**
 * libguestfs's test for a Linux root: `/etc` is a directory, `/bin` is a directory or a symlink to
 * usr/bin, and `/etc/fstab` or `/etc/hosts` is a file.
 */
export async function isLinuxRoot(fs: ReadOnlyFileSystem): Promise<boolean> {
  if (!(await isDir(fs, '/etc'))) return false;
  const bin = await linkTarget(fs, '/bin');
  const binOk = bin === null ? await isDir(fs, '/bin') : bin.replace(/^\/+/, '').replace(/\/+$/, '') === 'usr/bin';
  if (!binOk) return false;
  return (await isFile(fs, '/etc/fstab')) || (await isFile(fs, '/etc/hosts'));
}

/** libguestfs's test for a boot filesystem holding a grub config. */
export async function isGrubBoot(fs: ReadOnlyFileSystem): Promise<boolean> {
  for (const p of ['/grub/menu.lst', '/grub/grub.conf', '/grub2/grub.cfg', '/grub/grub.cfg']) {
    if (await isFile(fs, p)) return true;
  }
  return false;
}

const ELF_MACHINES: Record<number, string> = {
  0x03: 'i386',
  0x3e: 'x86_64',
  0xb7: 'aarch64',
  0x28: 'arm',
  0x08: 'mips',
  0x14: 'ppc',
  0x15: 'ppc64',
  0x16: 's390x',
  0xf3: 'riscv64',
  0x2b: 'sparc64',
};

/** Architecture from an ELF header, in virt-inspector's names. */
export function elfArchitecture(header: Uint8Array): string | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  const is64 = header[4] === 2;
  const little = header[5] === 1;
  const dv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const machine = dv.getUint16(18, little); // e_machine at 0x12
  const name = ELF_MACHINES[machine];
  if (name === 'ppc64' && little) return 'ppc64le';
  if (name === 'ppc' && is64) return 'ppc64';
  if (name === 'mips' && is64) return 'mips64';
  return name;
}

async function readHead(fs: ReadOnlyFileSystem, path: string, length: number): Promise<Uint8Array> {
  const file = await fs.openFile(path);
  try {
    return await file.read(0, length);
  } finally {
    await file.close();
  }
}

/** The first of libguestfs's probe binaries that exists, and its ELF architecture. */
export async function detectArch(fs: ReadOnlyFileSystem): Promise<{ arch?: string; from?: string }> {
  for (const p of ['/bin/bash', '/bin/ls', '/bin/echo', '/bin/rm', '/bin/sh', '/usr/bin/bash']) {
    // Only the ELF header is needed: a real /bin/bash is over a megabyte.
    const head = await readHead(fs, p, 64).catch((e: unknown) => {
      if (isUnreadable(e)) return null;
      throw e;
    });
    if (!head) continue;
    const arch = elfArchitecture(head);
    if (arch) return { arch, from: p };
  }
  return {};
}

/** Hostname as libguestfs reads it: /etc/HOSTNAME, /etc/hostname, then sysconfig/network. */
export async function detectHostname(fs: ReadOnlyFileSystem): Promise<string | undefined> {
  for (const p of ['/etc/HOSTNAME', '/etc/hostname']) {
    const t = await readText(fs, p);
    const name = t?.split('\n').map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith('#'));
    if (name) return name;
  }
  const net = await readText(fs, '/etc/sysconfig/network');
  return net ? parseShellVars(net).get('HOSTNAME') || undefined : undefined;
}
