import { randomUUID } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient, XenstoreServer } from '@xenkit/xenstore';
import { NovaProtocol } from './commands.js';
import { DH_PRIME } from './crypto.js';
import { NovaRequestLoop, readNetworking } from './xenstore-loop.js';
import { expectNovaSetsPassword, novaCall } from './test-helpers/nova-host.js';
import { genKey, makeGuestTree } from './test-helpers/tree.js';

// nova's host side, played with Debian's xenstore-write/-read against our xenstored; the agent is
// connected through the guest's socket (domain 7) and sees only its own subtree.
describe('nova agent protocol end to end over xenstore', () => {
  const dir = tempDir('xenkit-nova-');
  const dom0 = join(dir.path, 'dom0.sock');
  const dom7 = join(dir.path, 'dom7.sock');
  const server = new XenstoreServer();
  const env = { ...process.env, XENSTORED_PATH: dom0, LC_ALL: 'C' };
  const tree = makeGuestTree();
  let client: XenstoreClient;
  let loop: NovaRequestLoop;

  const call = (name: string, value: unknown, raw?: string) => novaCall(env, '/local/domain/7', name, value, raw);

  beforeAll(async () => {
    requireTools('xenstore-write', 'xenstore-read', 'openssl', 'chpasswd', 'ssh-keygen');
    await server.listen(dom0, 0);
    await server.listen(dom7, 7);
    client = await XenstoreClient.open({ path: dom7 });
    const protocol = new NovaProtocol({ root: tree.root, readNetworking: () => readNetworking(client) });
    loop = new NovaRequestLoop(client, protocol, { pollMs: 0 });
    await loop.start();
  });
  afterAll(async () => {
    loop.stop();
    client.close();
    await server.close();
    tree.cleanup();
    dir.cleanup();
  });

  it('answers version and features with string return codes', async () => {
    expect(await call('version', 'agent')).toEqual({ returncode: '0', message: expect.stringMatching(/\d+\.\d+/) });
    const f = await call('features', '');
    expect(f.returncode).toBe('0');
    expect(f.message.split(',')).toEqual(expect.arrayContaining(['keyinit', 'password', 'injectfile', 'file_inject', 'resetnetwork']));
  });

  for (const md of ['md5', 'sha256'] as const) {
    it(`keyinit then a password encrypted by openssl enc -md ${md} sets root's shadow hash`, async () => {
      await expectNovaSetsPassword(call, tree.root, md);
    });
  }

  it('password with a wrong key fails with "500" and leaves shadow alone', async () => {
    const before = readFileSync(join(tree.root, 'etc/shadow'), 'utf8');
    const enc = exec('openssl', ['enc', '-aes-128-cbc', '-a', '-A', '-nosalt', '-md', 'md5', '-pass', 'pass:12345'], { input: 'x\n' }).stdout.trim();
    expect((await call('password', enc)).returncode).toBe('500');
    expect(readFileSync(join(tree.root, 'etc/shadow'), 'utf8')).toBe(before);
  });

  it('injects authorized_keys in both nova forms, merging with what is there', async () => {
    const existing = genKey('user-added');
    const novaKey = genKey('Generated-by-Nova');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await call('file_inject', { b64_path: b64('/root/.ssh/authorized_keys'), b64_file: b64(`${existing}\n`) });
    const r = await call('injectfile', b64(`/root/.ssh/authorized_keys,${novaKey}\n${existing}\n`));
    expect(r.returncode).toBe('0');
    const path = join(tree.root, 'root/.ssh/authorized_keys');
    expect(readFileSync(path, 'utf8')).toBe(`${existing}\n${novaKey}\n`);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(tree.root, 'root/.ssh')).mode & 0o777).toBe(0o700);
    // A key for bob lands in bob's home, owned by bob.
    await call('file_inject', { b64_path: b64('/home/bob/.ssh/authorized_keys'), b64_file: b64(novaKey) });
    const bobs = lstatSync(join(tree.root, 'home/bob/.ssh/authorized_keys'));
    expect([bobs.uid, bobs.gid, bobs.mode & 0o777]).toEqual([1000, 1000, 0o600]);
    // Plain files go where nova says.
    expect((await call('file_inject', { b64_path: b64('/etc/motd.d/hello'), b64_file: b64('hi\n') })).returncode).toBe('0');
    expect(readFileSync(join(tree.root, 'etc/motd.d/hello'), 'utf8')).toBe('hi\n');
    // A file inside bob's tree is written as bob.
    expect((await call('file_inject', { b64_path: b64('/home/bob/notes/todo'), b64_file: b64('x') })).returncode).toBe('0');
    expect(lstatSync(join(tree.root, 'home/bob/notes/todo')).uid).toBe(1000);
  });

  it('resetnetwork renders vm-data/networking for the detected stack', async () => {
    exec('mkdir', ['-p', join(tree.root, 'etc/netplan')]);
    const entry = { label: 'public', mac: 'AA:BB:CC:00:11:22', gateway: '192.0.2.1', ips: [{ ip: '192.0.2.10', netmask: '255.255.255.0', enabled: '1', gateway: '192.0.2.1' }], dns: ['192.0.2.53'] };
    await execAsync('xenstore-write', ['/local/domain/7/vm-data/networking/aabbcc001122', JSON.stringify(entry)], { env });
    expect(await call('resetnetwork', '')).toEqual({ returncode: '0', message: '' });
    const yaml = readFileSync(join(tree.root, 'etc/netplan/60-xenkit-agent.yaml'), 'utf8');
    expect(yaml).toContain('macaddress: "aa:bb:cc:00:11:22"');
    expect(yaml).toContain('"192.0.2.10/24"');
    expect(yaml).toContain('via: "192.0.2.1"');
  });

  it('refuses agentupdate, answers unknown commands 404 and malformed requests 500', async () => {
    expect((await call('agentupdate', 'http://example.invalid/a.tgz,abc')).returncode).toBe('500');
    expect((await call('kmsactivate', {})).returncode).toBe('404');
    expect((await call('', '', '{not json')).returncode).toBe('500');
    expect((await call('', '', '{"value":"x"}')).returncode).toBe('500');
  });

  it('rejects degenerate DH values', async () => {
    for (const bad of ['0', '1', (DH_PRIME - 1n).toString(), DH_PRIME.toString(), (DH_PRIME + 5n).toString(), '-3', '12ab', '9'.repeat(60)]) {
      const r = await call('keyinit', bad);
      expect(r.returncode, bad).toBe('500');
    }
  });

  it('refuses ../ in injected paths', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const r = await call('file_inject', { b64_path: b64('/root/../etc/shadow'), b64_file: b64('pwned') });
    expect(r.returncode).toBe('500');
    expect(readFileSync(join(tree.root, 'etc/shadow'), 'utf8')).not.toContain('pwned');
    expect((await call('injectfile', b64('relative/path,x'))).returncode).toBe('500');
  });

  it('a request over 4096 bytes never reaches the agent; the connection and agent survive', async () => {
    const id = randomUUID();
    const r = await execAsync('xenstore-write', [`/local/domain/7/data/host/${id}`, JSON.stringify({ name: 'version', value: 'x'.repeat(5000) })], { env, allowFailure: true });
    expect(r.status).not.toBe(0);
    expect((await call('version', 'agent')).returncode).toBe('0');
  });
});

describe('reply housekeeping', () => {
  async function withLoop(options: { maxReplies?: number; pollMs?: number; replyTtlMs?: number }, body: (client: XenstoreClient, loop: NovaRequestLoop) => Promise<void>): Promise<void> {
    const dir = tempDir('xenkit-nova-bound-');
    const server = new XenstoreServer();
    const tree = makeGuestTree();
    await server.listen(join(dir.path, 'd0.sock'), 0);
    await server.listen(join(dir.path, 'd6.sock'), 6);
    const client = await XenstoreClient.open({ path: join(dir.path, 'd6.sock') });
    const loop = new NovaRequestLoop(client, new NovaProtocol({ root: tree.root }), { pollMs: 0, ...options });
    try {
      await loop.start();
      await body(client, loop);
    } finally {
      loop.stop();
      client.close();
      await server.close();
      tree.cleanup();
      dir.cleanup();
    }
  }
  it('expires its own old replies from data/guest (dom0 never removes them)', async () => {
    await withLoop({ pollMs: 50, replyTtlMs: 100 }, async (client, loop) => {
      await client.write('data/host/old', '{"name":"version","value":"agent"}');
      for (let i = 0; i < 100 && (await client.tryRead('data/guest/old')) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await client.tryRead('data/guest/old')).toContain('"returncode":"0"');
      await new Promise((r) => setTimeout(r, 300));
      await loop.idle();
      expect(await client.tryRead('data/guest/old')).toBeUndefined();
    });
  });

  const settle = async (client: XenstoreClient, loop: NovaRequestLoop, path: string): Promise<void> => {
    for (let i = 0; i < 200 && (await client.tryRead(path)) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await loop.idle();
  };

  it('removes a request whose id is invalid instead of re-reading it on every scan', async () => {
    await withLoop({}, async (client, loop) => {
      const longId = 'x'.repeat(129);
      await client.write(`data/host/${longId}`, '{"name":"version","value":"agent"}');
      await client.write('data/host/ok', '{"name":"version","value":"agent"}');
      await settle(client, loop, 'data/guest/ok');
      expect(await client.directory('data/host')).toEqual([]);
      expect(await client.tryRead(`data/guest/${longId}`)).toBeUndefined();
      expect(loop.handled).toBe(1);
    });
  });

  it('bounds the reply map: past maxReplies the oldest reply is expired', async () => {
    await withLoop({ maxReplies: 2 }, async (client, loop) => {
      for (const id of ['r1', 'r2', 'r3']) {
        await client.write(`data/host/${id}`, '{"name":"version","value":"agent"}');
        await settle(client, loop, `data/guest/${id}`);
      }
      expect((await client.directory('data/guest')).sort()).toEqual(['r2', 'r3']);
      await client.write('data/host/r4', '{"name":"version","value":"agent"}');
      await settle(client, loop, 'data/guest/r4');
      expect((await client.directory('data/guest')).sort()).toEqual(['r3', 'r4']);
    });
  });
});
