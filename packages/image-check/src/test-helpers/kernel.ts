import { readFileSync } from 'node:fs';
import { buildElfKernel, tempDir } from '@xenkit/fixtures';

const built = new Map<string, Uint8Array>();

/**
 * An x86_64 kernel built with the GNU toolchain (`@xenkit/fixtures` buildElfKernel): a linux_banner
 * with `version`, and — when `pv` — the Xen notes a pv_ops kernel carries. Cached per variant, so
 * trees can embed it cheaply.
 */
export function miniKernel(version: string, pv: boolean): Uint8Array {
  const key = `${version}:${pv}`;
  const hit = built.get(key);
  if (hit) return hit;
  const dir = tempDir('xenkit-kernel-');
  const base = 0xffffffff80000000n;
  const notes = pv
    ? [
        { type: 6, str: 'linux' }, // GUEST_OS
        { type: 7, str: '2.6' }, // GUEST_VERSION
        { type: 5, str: 'xen-3.0' }, // XEN_VERSION
        { type: 3, num: base }, // VIRT_BASE
        { type: 4, num: base }, // PADDR_OFFSET: ld links p_paddr = p_vaddr
        { type: 1, num: 0xffffffff80200000n }, // ENTRY
        { type: 8, str: 'generic' }, // LOADER
      ]
    : [];
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(buildElfKernel(dir.path, 'vmlinux', { bits: 64, notes, banner: `Linux version ${version} (builder@example) (gcc 4.4) #1 SMP` })));
  } finally {
    dir.cleanup();
  }
  built.set(key, bytes);
  return bytes;
}
