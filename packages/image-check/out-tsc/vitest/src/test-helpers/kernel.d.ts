/**
 * A minimal x86_64 ELF "kernel": one PT_LOAD holding a linux_banner, and (when `pv`) a PT_NOTE with
 * the Xen notes a pv_ops kernel carries (GUEST_OS linux, XEN_VERSION xen-3.0, LOADER generic).
 * Small enough to build per test; Xen's readnotes reads it like a real kernel.
 */
export declare function miniKernel(version: string, pv: boolean): Uint8Array;
//# sourceMappingURL=kernel.d.ts.map