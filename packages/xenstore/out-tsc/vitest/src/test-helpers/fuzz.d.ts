/** A small seeded PRNG (LCG) so a failing run can be replayed from its seed. */
export declare function prng(seed: number): () => number;
/**
 * Throws random, mostly well-formed messages (random type, tx id, NUL-separated path-ish words or
 * raw bytes) at a server through a dom0 socket and a guest socket, then checks that the server still
 * answers a real client. Returns how many messages were sent.
 */
export declare function fuzzServer(dir: string, seed: number, deadline: number): Promise<number>;
//# sourceMappingURL=fuzz.d.ts.map