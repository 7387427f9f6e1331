export interface QemuInfo {
    'virtual-size': number;
    format: string;
    'backing-filename'?: string;
    'full-backing-filename'?: string;
    'backing-filename-format'?: string;
    'cluster-size'?: number;
}
/**
 * `qemu-img info`. Pass `format` for fixed VHDs: qemu probes VHD only by the cookie at offset 0,
 * which a fixed VHD lacks, so unforced it reports the file as raw (footer included in the size).
 */
export declare function qemuInfo(path: string, format?: string): QemuInfo;
export interface QemuMapEntry {
    start: number;
    length: number;
    data: boolean;
    zero: boolean;
}
/** `qemu-img map --output=json`, reduced to data/zero kinds and merged like xenkit's extents. */
export declare function qemuExtents(path: string, format?: string): {
    offset: number;
    length: number;
    kind: 'data' | 'zero';
}[];
export declare function mergeKinds<T extends {
    offset: number;
    length: number;
    kind: string;
}>(list: T[]): T[];
export declare function sha256File(path: string): Promise<string>;
/** Deterministic pseudo-random bytes (xorshift), so images are reproducible between runs. */
export declare function patternBytes(length: number, seed: number): Buffer;
//# sourceMappingURL=qemu.d.ts.map