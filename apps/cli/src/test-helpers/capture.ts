import { Writable } from 'node:stream';
import { runCli, type RunOptions } from '../run.js';

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in-process with captured stdout/stderr. */
export async function runCaptured(argv: string[], options: Partial<RunOptions> = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      stdout += String(chunk);
      cb();
    },
  });
  const err = new Writable({
    write(chunk, _enc, cb) {
      stderr += String(chunk);
      cb();
    },
  });
  const status = await runCli(argv, { stdout: out, stderr: err, env: {}, ...options });
  return { status, stdout, stderr };
}
