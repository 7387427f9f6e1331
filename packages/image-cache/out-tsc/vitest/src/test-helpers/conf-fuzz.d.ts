/** A nova.conf-like text: mostly well-formed, with the mistakes people actually make mixed in. */
export declare function generateConf(seed: number): string;
type Outcome = {
    error: true;
} | {
    error: false;
    values: Record<string, unknown>;
};
export interface FuzzMismatch {
    seed: number;
    conf: string;
    ours: Outcome;
    oslo: Outcome;
}
/** Generate `count` confs from `firstSeed`, resolve each with oslo.config and with us; return disagreements. */
export declare function fuzzAgainstOslo(dir: string, firstSeed: number, count: number): Promise<FuzzMismatch[]>;
export {};
//# sourceMappingURL=conf-fuzz.d.ts.map