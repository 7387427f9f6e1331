import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient } from './client.js';
import { XenstoreServer } from './server.js';

// Debian's xenstore-utils (libxenstore) and python3-pyxs, run against our server over its socket.
describe('xenstore server interop with real clients', () => {
  const dir = tempDir('xenkit-xs-');
  const sock = join(dir.path, 'dom0.sock');
  const guestSock = join(dir.path, 'dom7.sock');
  const server = new XenstoreServer();
  const env = { ...process.env, XENSTORED_PATH: sock, LC_ALL: 'C' };
  const xs = (tool: string, ...args: string[]) => execAsync(tool, args, { env });

  beforeAll(async () => {
    requireTools('xenstore-read', 'xenstore-write', 'xenstore-ls', 'xenstore-rm', 'xenstore-watch', '/usr/bin/python3');
    await server.listen(sock, 0);
    await server.listen(guestSock, 7);
  });
  afterAll(async () => {
    await server.close();
    dir.cleanup();
  });

  it('xenstore-write / -read / -ls / -rm round trip', async () => {
    await xs('xenstore-write', '/vm/test/name', 'guest-1', '/vm/test/other', 'x y z');
    expect((await xs('xenstore-read', '/vm/test/name')).stdout).toBe('guest-1\n');
    const ls = (await xs('xenstore-ls', '/vm/test')).stdout;
    expect(ls).toContain('name = "guest-1"');
    expect(ls).toContain('other = "x y z"');
    await xs('xenstore-rm', '/vm/test/name');
    const missing = await execAsync('xenstore-read', ['/vm/test/name'], { env, allowFailure: true });
    expect(missing.status).not.toBe(0);
    expect((await xs('xenstore-ls', '/vm/test')).stdout).not.toContain('name');
  });

  it('xenstore-ls -p shows permissions set with the client', async () => {
    const c = await XenstoreClient.open({ path: sock });
    await c.write('/perm/node', 'v');
    await c.setPerms('/perm/node', [{ domid: 7, perm: 'n' }, { domid: 3, perm: 'r' }]);
    expect(await c.getPerms('/perm/node')).toEqual([{ domid: 7, perm: 'n' }, { domid: 3, perm: 'r' }]);
    c.close();
    expect((await xs('xenstore-ls', '-p', '/perm')).stdout).toMatch(/node = "v"[ .]*\(n7,r3\)/);
  });

  it('xenstore-watch sees the initial fire and a change made by our client', async () => {
    const child = spawn('xenstore-watch', ['-n', '2', '/watched'], { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const c = await XenstoreClient.open({ path: sock });
    for (let i = 0; i < 100 && !out.includes('/watched'); i++) await new Promise((r) => setTimeout(r, 20));
    await c.write('/watched/child', '1');
    expect(await exited).toBe(0);
    c.close();
    expect(out.trim().split('\n')).toEqual(['/watched', '/watched/child']);
  });

  it('pyxs reads, writes, lists and runs a transaction', async () => {
    const script = `
import sys, pyxs
with pyxs.Client(unix_socket_path=sys.argv[1]) as c:
    c[b"/py/a"] = b"1"
    c.write(b"/py/b", b"two")
    print(c.read(b"/py/a").decode(), sorted(x.decode() for x in c.list(b"/py")))
    c.transaction()
    c[b"/py/c"] = b"3"
    print(c.commit())
    print(c[b"/py/c"].decode(), c.get_domain_path(5).decode())
`;
    const r = await execAsync('/usr/bin/python3', ['-c', script, sock]);
    expect(r.stdout.trim().split('\n')).toEqual(["1 ['a', 'b']", 'True', '3 /local/domain/5']);
    expect((await xs('xenstore-read', '/py/b')).stdout).toBe('two\n');
  });

  it('pyxs watch receives the initial event and a change written by xenstore-write', async () => {
    const script = `
import sys, pyxs
with pyxs.Client(unix_socket_path=sys.argv[1]) as c:
    m = c.monitor()
    m.watch(b"/pyw", b"tok")
    ev = iter(m.wait())
    print(next(ev).path.decode(), flush=True)
    print(next(ev).path.decode(), flush=True)
`;
    const child = spawn('/usr/bin/python3', ['-c', script, sock]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    for (let i = 0; i < 200 && !out.includes('/pyw'); i++) await new Promise((r) => setTimeout(r, 20));
    await xs('xenstore-write', '/pyw/x', 'y');
    expect(await exited).toBe(0);
    expect(out.trim().split('\n')).toEqual(['/pyw', '/pyw/x']);
  });

  it('a guest socket resolves relative paths to its domain and obeys permissions', async () => {
    const guest = await XenstoreClient.open({ path: guestSock });
    await guest.write('data/guest/x', 'hello');
    expect((await xs('xenstore-read', '/local/domain/7/data/guest/x')).stdout).toBe('hello\n');
    await xs('xenstore-write', '/local/domain/7/data/host/req', '{"name":"version","value":"agent"}');
    expect(await guest.read('data/host/req')).toBe('{"name":"version","value":"agent"}');
    await expect(guest.read('/vm/test/other')).rejects.toMatchObject({ errno: 'EACCES', code: 'E_XS_EACCES' });
    await expect(guest.write('/local/domain/0/evil', 'x')).rejects.toMatchObject({ errno: 'EACCES' });
    await guest.rm('data/host/req');
    await expect(guest.read('data/host/req')).rejects.toMatchObject({ errno: 'ENOENT' });
    guest.close();
  });
});
