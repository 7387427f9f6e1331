import { spawn } from 'node:child_process';
import { OperationError } from '@xenkit/core';

function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new OperationError('E_AGENT_PASSWORD_TOOL', `cannot run ${cmd}: ${e.message}`, { details: { cmd } })));
    child.on('close', (status) => {
      // Never echo the tool's stdin; its stderr names the user at most.
      if (status === 0) resolve(out);
      else reject(new OperationError('E_AGENT_PASSWORD_TOOL', `${cmd} exited ${status}: ${err.trim().slice(0, 200)}`, { details: { cmd, status } }));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Sets a user's password. The password only ever travels on a pipe (never argv or the environment,
 * which other users can read from /proc). On a live guest `chpasswd` hashes it through PAM; in an
 * image tree (--root) PAM's modules are not inside the tree, so `openssl passwd -6 -stdin` hashes it
 * and `chpasswd -e -R ROOT` stores the hash.
 */
export async function setPassword(root: string, user: string, password: string): Promise<void> {
  if (/[\u0000-\u001f\u007f]/.test(password) || password.length === 0) {
    throw new OperationError('E_AGENT_PASSWORD_INVALID', 'the password is empty or contains control characters');
  }
  if (!/^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(user)) throw new OperationError('E_AGENT_PASSWORD_INVALID', `bad user name ${user}`);
  if (root === '/') {
    await run('chpasswd', [], `${user}:${password}\n`);
    return;
  }
  const hash = (await run('openssl', ['passwd', '-6', '-stdin'], `${password}\n`)).trim();
  if (!hash.startsWith('$6$')) throw new OperationError('E_AGENT_PASSWORD_TOOL', 'openssl passwd did not return a SHA-512 crypt hash');
  await run('chpasswd', ['-e', '-R', root], `${user}:${hash}\n`);
}
