/** Files (path → contents) and symlinks (path → target) of a guest root, written at test time. */
export interface TreeSpec {
    files: Record<string, string | Uint8Array>;
    links: Record<string, string>;
}
export declare const ROOT_UUID = "6d2231e4-0975-4f35-a94f-56738c1a8150";
declare const GRUB_CFG: (args: string, extra?: string) => string;
declare const CONSOLE = "console=tty0 console=ttyS0,115200n8";
/**
 * A Debian 12 cloud image as the guide wants it: cloud-init with growpart/resizefs/ssh, sshd enabled,
 * no firewall, no MAC rules, grub2 passing the serial console. Tests start from it and break one thing.
 */
export declare function goodDebian(): TreeSpec;
export { GRUB_CFG, CONSOLE };
/** Write a tree under `dir`. */
export declare function writeTree(dir: string, spec: TreeSpec): string;
/** A copy of a spec with changes: `null` removes a file or link. */
export declare function withChanges(base: TreeSpec, files?: Record<string, string | Uint8Array | null>, links?: Record<string, string | null>): TreeSpec;
//# sourceMappingURL=trees.d.ts.map