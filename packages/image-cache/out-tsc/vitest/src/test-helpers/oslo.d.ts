export type OsloResult = {
    instancesPath: string;
    subdirectoryName: string;
    removeUnusedBaseImages: boolean;
    originalMinimumAgeSeconds: number;
    resizedMinimumAgeSeconds: number;
    managerInterval: number;
    preallocateImages: string;
} | {
    error: string;
    message: string;
};
/** Resolve nova.conf files with the real oslo.config (Debian's python3-oslo.config under /usr/bin/python3). */
export declare function osloResolve(files: string[]): OsloResult;
/** Resolve each file on its own, in one python process (for differential fuzzing). */
export declare function osloResolveEach(files: string[]): OsloResult[];
//# sourceMappingURL=oslo.d.ts.map