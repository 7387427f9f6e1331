import { readFileSync } from 'node:fs';
import { buildElfKernel, tempDir } from '@xenkit/fixtures';

const built = new Map<string, Uint8Array>();
let dir: string | undefined;

/**
 * An x86_64 kernel built with the GNU toolchain (`@xenkit/fixtures` buildElfKernel): a linux_banner
 * with `version`, and — when `pv` — the Xen notes a pv_ops kernel carries. Cached per variant, so
 * trees can embed it cheaply; the build directory goes when the process exits.
 */
export function miniKernel(version: string, pv: boolean): Uint8Array {
  const key = `${version}:${pv}`;
  const hit = built.get(key);
  if (hit) return hit;
  if (!dir) {
    const t = tempDir('xenkit-kernels-');
    dir = t.path;
    process.once('exit', t.cleanup);
  }
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
  const path = buildElfKernel(dir, `k${built.size}`, { bits: 64, notes, banner: `Linux version ${version} (builder@example) (gcc 4.4) #1 SMP` });
  const bytes = new Uint8Array(readFileSync(path));
  built.set(key, bytes);
  return bytes;
}
