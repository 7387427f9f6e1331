import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { exec, requireTools } from '@xenkit/fixtures';
import type { Logger } from '@xenkit/core';
import { NovaProtocol } from './commands.js';
import { DiffieHellman } from './crypto.js';
import { genKey, makeGuestTree } from './test-helpers/tree.js';

describe('agent logs', () => {
  it('never carry the password, the DH values or key material', async () => {
    requireTools('openssl', 'chpasswd', 'ssh-keygen');
    let out = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
    const logger = pino({ level: 'trace' }, sink) as unknown as Logger;
    const tree = makeGuestTree();
    try {
      const p = new NovaProtocol({ root: tree.root, logger });
      const host = new DiffieHellman();
      const k = await p.handle(JSON.stringify({ name: 'keyinit', value: host.publicKey.toString() }));
      const shared = host.computeShared(BigInt(k.message));
      const password = 'Very-Secret-Pa55';
      const enc = exec('openssl', ['enc', '-aes-128-cbc', '-a', '-A', '-nosalt', '-md', 'sha256', '-pass', `pass:${shared}`], { input: `${password}\n` }).stdout.trim();
      expect((await p.handle(JSON.stringify({ name: 'password', value: enc }))).returncode).toBe('0');
      const key = genKey('logged?');
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      await p.handle(JSON.stringify({ name: 'file_inject', value: { b64_path: b64('/root/.ssh/authorized_keys'), b64_file: b64(key) } }));
      await p.handle(JSON.stringify({ name: 'password', value: 'AAAAAAAAAAAAAAAAAAAAAA==' }));
      expect(out).toContain('password changed');
      for (const secret of [password, shared, enc, key.split(' ')[1] as string, host.publicKey.toString(), k.message]) {
        expect(out.includes(secret), `log leaks ${secret.slice(0, 12)}…`).toBe(false);
      }
    } finally {
      tree.cleanup();
    }
  });
});
