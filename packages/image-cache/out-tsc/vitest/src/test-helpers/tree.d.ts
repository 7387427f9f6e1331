export declare const HOUR = 3600;
export declare const DAY = 86400;
/** One cached file the tree contains: its name, age and who uses it. */
export interface TreeFile {
    name: string;
    ageSeconds: number;
}
export interface NovaTree {
    root: string;
    instancesPath: string;
    cacheDir: string;
    /** A nova.conf pointing at this tree. */
    conf: string;
    now: number;
    /** Cache file names by role. */
    names: Record<string, string>;
    /** Instance disk paths by role. */
    disks: Record<string, string>;
    cleanup: () => void;
}
export declare const sha: (id: string) => string;
/**
 * A realistic `instances_path`: raw and qcow2 bases, a resized copy, a legacy `_sm`, swap and
 * ephemeral backing files, an unknown file, and instances whose disks are real qcow2 overlays made by
 * qemu-img. Every mtime is set relative to `now`.
 */
export declare function buildNovaTree(now?: number): NovaTree;
export declare function setAge(path: string, now: number, ageSeconds: number): void;
//# sourceMappingURL=tree.d.ts.map