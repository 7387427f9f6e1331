import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient } from './client.js';
import { XenstoreServer } from './server.js';

// No Xen here, so the character-device path is exercised through a raw pseudo-terminal relayed to
// our xenstored: like /dev/xen/xenbus it is a character device with blocking reads that may return
// partial messages, read on the libuv pool and written with one write() per message.
const RELAY = `
import os, pty, tty, socket, select, sys
m, s = pty.openpty()
tty.setraw(s); tty.setraw(m)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
print(os.ttyname(s), flush=True)
while True:
    r, _, _ = select.select([m, sock, sys.stdin], [], [])
    if sys.stdin in r and not os.read(sys.stdin.fileno(), 1): break
    if m in r:
        d = os.read(m, 65536)
        if not d: break
        sock.sendall(d)
    if sock in r:
        d = sock.recv(65536)
        if not d: break
        os.write(m, d)
`;

describe('XenstoreClient over a character device', () => {
  const dir = tempDir('xenkit-xsdev-');
  const sock = join(dir.path, 'dom4.sock');
  // A 3000-byte value from a guest exceeds xenstored's default entry size (2048): raise it, as -S does.
  const server = new XenstoreServer({ quotas: { entrySize: 4096 } });
  let relay: ReturnType<typeof spawn>;
  let tty = '';
  beforeAll(async () => {
    requireTools('/usr/bin/python3');
    await server.listen(sock, 4);
    relay = spawn('/usr/bin/python3', ['-c', RELAY, sock], { stdio: ['pipe', 'pipe', 'inherit'] });
    tty = await new Promise<string>((resolve) => relay.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  });
  afterAll(async () => {
    relay.stdin?.end();
    relay.kill();
    await server.close();
    dir.cleanup();
  });

  it('reads, writes, watches and runs transactions through the device transport', async () => {
    const c = await XenstoreClient.open({ path: tty, timeoutMs: 5000 });
    expect(c.endpoint).toBe(tty);
    await c.write('data/host/x', '{"name":"version"}');
    expect(await c.read('/local/domain/4/data/host/x')).toBe('{"name":"version"}');
    const events: string[] = [];
    await c.watch('data/host', 'tok', (e) => events.push(e.path));
    await c.transaction(async (t) => {
      await c.write('data/host/y', 'x'.repeat(3000), t);
    });
    expect((await c.read('data/host/y')).length).toBe(3000);
    expect(events).toEqual(['data/host', 'data/host/y']);
    expect(await c.directory('data/host')).toEqual(['x', 'y']);
    c.close();
  });
});
