import { type RunOptions } from '../run.js';
export interface Captured {
    status: number;
    stdout: string;
    stderr: string;
}
/** Run the CLI in-process with captured stdout/stderr. */
export declare function runCaptured(argv: string[], options?: Partial<RunOptions>): Promise<Captured>;
//# sourceMappingURL=capture.d.ts.map