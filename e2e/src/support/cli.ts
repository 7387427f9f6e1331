// Run the real xenkit CLI as a subprocess, from source (no build step needed; the same code a build ships).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { execAsync, type ExecResult } from '@xenkit/fixtures';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'apps', 'cli', 'src', 'main.ts');
const NODE_ARGS = ['--conditions=@xenkit/source', '--import', 'tsx', MAIN];

/** `xenkit ARGS` to completion. */
export function xenkit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return execAsync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, allowFailure: true, timeoutMs: 120_000 });
}

export interface LabProcess {
  child: ChildProcess;
  url: string;
  urls: string[];
  user: string;
  password: string;
  fingerprint?: string;
  /** Every host's certificate fingerprint, master first (with --tls). */
  fingerprints?: string[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `xenkit --json lab ARGS` in the background, resolved once it has printed where it listens. */
export function startLabProcess(args: string[] = []): Promise<LabProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, '--json', 'lab', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += String(c)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`xenkit lab did not start within 60 s: ${err}`));
    }, 60_000);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`xenkit lab exited ${code} before starting: ${err}`));
    });
    const onData = (c: Buffer) => {
      out += String(c);
      let data: Omit<LabProcess, 'child' | 'stop'>;
      try {
        data = JSON.parse(out) as typeof data;
      } catch {
        return; // not all of it yet
      }
      child.stdout.off('data', onData);
      clearTimeout(timer);
      resolve({
        ...data,
        child,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
  });
}
