/** `blkid -p -o export` on a byte range of an image (the real tool's verdict for a volume). */
export declare function blkidAt(image: string, offset: number, size?: number): Record<string, string>;
/** parted's view, as nova reads it: `parted --script --machine IMG 'unit s' print` → number → fs type. */
export declare function partedFsTypes(image: string): Map<number, string>;
//# sourceMappingURL=tools.d.ts.map