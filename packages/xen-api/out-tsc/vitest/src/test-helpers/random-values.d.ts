/** Seeded random value trees for differential tests of the codecs. */
export type Rng = () => number;
export declare function rng(seed: number): Rng;
export declare function randomString(r: Rng, max?: number): string;
/** Values both XML-RPC implementations represent the same way (ints within int32, second-precision dates). */
export declare function randomTree(r: Rng, depth: number): unknown;
//# sourceMappingURL=random-values.d.ts.map