import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, startOxenstored, type RealXenstored } from '@xenkit/fixtures';
import { XenstoreClient } from '@xenkit/xenstore';
import { NovaProtocol } from './commands.js';
import { NovaRequestLoop, readNetworking } from './xenstore-loop.js';
import { expectNovaSetsPassword, novaCall, novaEncrypt } from './test-helpers/nova-host.js';
import { genKey, makeGuestTree } from './test-helpers/tree.js';

// The same host side as nova.test.ts, against Xen's real oxenstored instead of our server. Without a
// hypervisor no guest domain can be introduced, so the agent connects over the socket as domain 0 and
// its relative data/host and data/guest paths land in /local/domain/0 — oxenstored resolves them.
describe('nova agent protocol end to end over Xen\'s oxenstored', () => {
  let real: RealXenstored;
  let env: NodeJS.ProcessEnv;
  let client: XenstoreClient;
  let loop: NovaRequestLoop;
  const tree = makeGuestTree();
  const call = (name: string, value: unknown, raw?: string) => novaCall(env, '/local/domain/0', name, value, raw);

  beforeAll(async () => {
    requireTools('xenstore-write', 'xenstore-read', 'openssl', 'chpasswd', 'ssh-keygen', '/usr/bin/python3');
    real = await startOxenstored();
    env = { ...process.env, XENSTORED_PATH: real.socket, LC_ALL: 'C' };
    client = await XenstoreClient.open({ path: real.socket, timeoutMs: 5000 });
    loop = new NovaRequestLoop(client, new NovaProtocol({ root: tree.root, readNetworking: () => readNetworking(client) }), { pollMs: 0 });
    await loop.start();
  }, 60_000);
  afterAll(async () => {
    loop?.stop();
    client?.close();
    await real?.stop();
    tree.cleanup();
  });

  it('the agent really talks to oxenstored: version answered, request removed', async () => {
    expect(await call('version', 'agent')).toEqual({ returncode: '0', message: expect.stringMatching(/\d+\.\d+/) });
    expect(await client.getDomainPath(0)).toBe('/local/domain/0');
  });

  for (const md of ['md5', 'sha256'] as const) {
    it(`keyinit then a password encrypted by openssl enc -md ${md} sets root's shadow hash`, async () => {
      await expectNovaSetsPassword(call, tree.root, md);
    });
  }

  it('a password under a key the agent never agreed fails with "500"', async () => {
    const before = readFileSync(join(tree.root, 'etc/shadow'), 'utf8');
    expect((await call('password', novaEncrypt('x', '12345', 'md5'))).returncode).toBe('500');
    expect(readFileSync(join(tree.root, 'etc/shadow'), 'utf8')).toBe(before);
  });

  it('injectfile of authorized_keys merges with what is there', async () => {
    const existing = genKey('user-added');
    const novaKey = genKey('Generated-by-Nova');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect((await call('file_inject', { b64_path: b64('/root/.ssh/authorized_keys'), b64_file: b64(`${existing}\n`) })).returncode).toBe('0');
    expect((await call('injectfile', b64(`/root/.ssh/authorized_keys,${novaKey}\n${existing}\n`))).returncode).toBe('0');
    const path = join(tree.root, 'root/.ssh/authorized_keys');
    expect(readFileSync(path, 'utf8')).toBe(`${existing}\n${novaKey}\n`);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(tree.root, 'root/.ssh')).mode & 0o777).toBe(0o700);
  });

  it('malformed and unknown requests get nova\'s codes; a request over 4096 bytes never gets through', async () => {
    expect((await call('kmsactivate', {})).returncode).toBe('404');
    expect((await call('', '', '{not json')).returncode).toBe('500');
    const big = exec('xenstore-write', ['/local/domain/0/data/host/big', JSON.stringify({ name: 'version', value: 'x'.repeat(5000) })], { env, allowFailure: true });
    expect(big.status).not.toBe(0);
    expect((await call('version', 'agent')).returncode).toBe('0');
  });
});
