/** mulberry32: a small seeded PRNG, so a failing iteration can be replayed from its seed. */
export declare function rng(seed: number): () => number;
/** One fuzz iteration over every text parser, and the SQLite/rpm readers when a database seed is given. */
export declare function fuzzOnce(seed: number, sqliteSeed?: Uint8Array): void;
//# sourceMappingURL=fuzz.d.ts.map