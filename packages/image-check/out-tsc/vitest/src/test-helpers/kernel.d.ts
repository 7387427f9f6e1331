/**
 * An x86_64 kernel built with the GNU toolchain (`@xenkit/fixtures` buildElfKernel): a linux_banner
 * with `version`, and — when `pv` — the Xen notes a pv_ops kernel carries. Cached per variant, so
 * trees can embed it cheaply.
 */
export declare function miniKernel(version: string, pv: boolean): Uint8Array;
//# sourceMappingURL=kernel.d.ts.map