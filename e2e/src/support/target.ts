// Where the suite points: a real XenServer when XENKIT_E2E_URL/USER/PASSWORD are set (objects the
// suite creates are tagged and removed), otherwise a lab host started through the real CLI.
import { startLabProcess, type LabProcess } from './cli.js';
import { trustFromEnv, type Trust } from './tls.js';

export const E2E_TAG = 'xenkit-e2e';

export interface Target {
  url: string;
  user: string;
  password: string;
  /** SR uuid to create disks on (XENKIT_E2E_SR), else the pool's default SR. */
  srUuid?: string;
  real: boolean;
  /** How to verify the target's certificate: never skipped for a real host. */
  trust: Trust;
  /** Destructive operations (VM power changes) only when XENKIT_E2E_DESTRUCTIVE=1 on a real host. */
  destructive: boolean;
  close(): Promise<void>;
}

export const onRealHost = Boolean(process.env.XENKIT_E2E_URL);

export async function openTarget(): Promise<Target> {
  const env = process.env;
  if (env.XENKIT_E2E_URL) {
    if (!env.XENKIT_E2E_USER || env.XENKIT_E2E_PASSWORD === undefined) {
      throw new Error('XENKIT_E2E_URL is set: also set XENKIT_E2E_USER and XENKIT_E2E_PASSWORD');
    }
    return {
      url: env.XENKIT_E2E_URL,
      user: env.XENKIT_E2E_USER,
      password: env.XENKIT_E2E_PASSWORD,
      ...(env.XENKIT_E2E_SR ? { srUuid: env.XENKIT_E2E_SR } : {}),
      real: true,
      trust: trustFromEnv(env),
      destructive: env.XENKIT_E2E_DESTRUCTIVE === '1',
      close: async () => undefined,
    };
  }
  const lab: LabProcess = await startLabProcess(['--vms', '2']);
  return {
    url: lab.url,
    user: lab.user,
    password: lab.password,
    real: false,
    trust: { kind: 'none' },
    destructive: true,
    close: async () => {
      const code = await lab.stop();
      if (code !== 0) throw new Error(`xenkit lab exited ${code} on SIGTERM`);
    },
  };
}
