import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { exec, execAsync } from '@xenkit/fixtures';
import { DH_PRIME } from '../crypto.js';

export interface NovaReply {
  returncode: string;
  message: string;
}

/**
 * nova's host side played with Debian's xenstore-write/-read (XENSTORED_PATH in `env`): writes one
 * request under `${domainPath}/data/host/<uuid>`, waits for the reply at data/guest, and checks the
 * agent removed the request — whatever xenstored is serving.
 */
export async function novaCall(env: NodeJS.ProcessEnv, domainPath: string, name: string, value: unknown, raw?: string): Promise<NovaReply> {
  const id = randomUUID();
  const body = raw ?? JSON.stringify({ name, value });
  await execAsync('xenstore-write', [`${domainPath}/data/host/${id}`, body], { env });
  for (let i = 0; i < 400; i++) {
    const r = await execAsync('xenstore-read', [`${domainPath}/data/guest/${id}`], { env, allowFailure: true });
    if (r.status === 0) {
      const gone = await execAsync('xenstore-read', [`${domainPath}/data/host/${id}`], { env, allowFailure: true });
      if (gone.status === 0) throw new Error(`request ${id} was answered but not removed`);
      try {
        return JSON.parse(r.stdout) as NovaReply;
      } catch {
        throw new Error(`reply is not JSON: ${r.stdout}`);
      }
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`no reply to ${name}`);
}

/** nova's SimpleDH in Python (an independent implementation of the host's arithmetic). */
export function novaDh(): { secret: string; pub: string; shared: (agentPub: string) => string } {
  const secret = BigInt(`0x${randomBytes(10).toString('hex')}`).toString();
  const py = (expr: string, ...args: string[]) => exec('/usr/bin/python3', ['-c', `import sys; p = 2**107 - 1; print(${expr})`, ...args]).stdout.trim();
  return { secret, pub: py('pow(5, int(sys.argv[1]), p)', secret), shared: (agentPub) => py('pow(int(sys.argv[2]), int(sys.argv[1]), p)', secret, agentPub) };
}

/** The password as nova's host encrypts it: `openssl enc -aes-128-cbc -md MD` with the DH secret. */
export function novaEncrypt(password: string, shared: string, md: 'md5' | 'sha256'): string {
  return exec('openssl', ['enc', '-aes-128-cbc', '-a', '-A', '-nosalt', '-md', md, '-pass', `pass:${shared}`], { input: `${password}\n` }).stdout.trim();
}

export type NovaCaller = (name: string, value: unknown, raw?: string) => Promise<NovaReply>;

/**
 * nova's set_admin_password: keyinit, then the password encrypted with `-md MD`; asserts the agent's
 * public value is in range and that root's new shadow hash is the password's (checked by openssl).
 */
export async function expectNovaSetsPassword(call: NovaCaller, root: string, md: 'md5' | 'sha256'): Promise<void> {
  const dh = novaDh();
  const k = await call('keyinit', dh.pub);
  expect(k.returncode).toBe('D0');
  expect(BigInt(k.message) > 1n && BigInt(k.message) < DH_PRIME - 1n).toBe(true);
  const password = `pw-${md}-${randomBytes(4).toString('hex')}`;
  expect(await call('password', novaEncrypt(password, dh.shared(k.message), md))).toEqual({ returncode: '0', message: '' });
  const hash = readFileSync(join(root, 'etc/shadow'), 'utf8').split('\n').find((l) => l.startsWith('root:'))?.split(':')[1] ?? '';
  expect(hash).toMatch(/^\$6\$/);
  expect(exec('openssl', ['passwd', '-6', '-salt', hash.split('$')[2] ?? '', '-stdin'], { input: `${password}\n` }).stdout.trim()).toBe(hash);
}
