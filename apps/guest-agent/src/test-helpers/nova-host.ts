import { randomBytes, randomUUID } from 'node:crypto';
import { exec, execAsync } from '@xenkit/fixtures';

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
