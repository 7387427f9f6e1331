import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient } from './client.js';
import { XenstoreServer } from './server.js';
import { HEADER_SIZE, MessageReader, XsType, encodeMessage } from './wire.js';

describe('XenstoreClient against XenstoreServer', () => {
  const dir = tempDir('xenkit-xsc-');
  const sock = join(dir.path, 'xs.sock');
  const server = new XenstoreServer();
  let c: XenstoreClient;
  beforeAll(async () => {
    await server.listen(sock);
    c = await XenstoreClient.open({ path: sock });
  });
  afterAll(async () => {
    c.close();
    await server.close();
    dir.cleanup();
  });

  it('reads, writes, lists, removes', async () => {
    await c.write('/a/b/c', 'value');
    expect(await c.read('/a/b/c')).toBe('value');
    expect(await c.directory('/a/b')).toEqual(['c']);
    await c.mkdir('/a/d');
    expect(await c.directory('/a')).toEqual(['b', 'd']);
    await c.rm('/a/b');
    expect(await c.tryRead('/a/b/c')).toBeUndefined();
    await expect(c.rm('/nope/deeper')).rejects.toMatchObject({ errno: 'ENOENT' });
    await c.rm('/a/absent'); // absent child of a present parent is fine
    expect(await c.getDomainPath(3)).toBe('/local/domain/3');
  });

  it('refuses invalid paths and oversize payloads before sending', async () => {
    await expect(c.read('/a//b')).rejects.toMatchObject({ errno: 'EINVAL' });
    await expect(c.read('/a/b/')).rejects.toMatchObject({ errno: 'EINVAL' });
    await expect(c.write('/big', 'x'.repeat(5000))).rejects.toMatchObject({ code: 'E_XS_PAYLOAD_TOO_LARGE' });
    expect(await c.tryRead('/big')).toBeUndefined(); // the connection survived
  });

  it('transactions commit, abort, and conflict with EAGAIN', async () => {
    const other = await XenstoreClient.open({ path: sock });
    await c.write('/tx/x', '0');
    const t1 = await c.transactionStart();
    expect(await c.read('/tx/x', t1)).toBe('0');
    await c.write('/tx/x', '1', t1);
    expect(await other.read('/tx/x')).toBe('0'); // isolated
    await other.write('/tx/x', 'concurrent');
    await expect(c.transactionEnd(t1, true)).rejects.toMatchObject({ errno: 'EAGAIN' });
    expect(await c.read('/tx/x')).toBe('concurrent');

    const t2 = await c.transactionStart();
    await c.write('/tx/y', 'aborted', t2);
    await c.transactionEnd(t2, false);
    expect(await c.tryRead('/tx/y')).toBeUndefined();

    // Unrelated concurrent changes do not conflict; the retry helper reruns the body on EAGAIN.
    let runs = 0;
    await c.transaction(async (t) => {
      runs++;
      const v = Number(await c.read('/tx/counter', t).catch(() => '0'));
      if (runs === 1) await other.write('/tx/counter', '10');
      await other.write('/elsewhere', String(runs));
      await c.write('/tx/counter', String(v + 1), t);
    });
    expect(runs).toBe(2);
    expect(await c.read('/tx/counter')).toBe('11');
    await expect(c.read('/tx/x', 999)).rejects.toMatchObject({ errno: 'ENOENT' });
    other.close();
  });

  it('watches fire at once, on changes below, and on removal of a parent', async () => {
    const events: string[] = [];
    await c.watch('/w/node', 'tok', (e) => events.push(`${e.token}:${e.path}`));
    await c.write('/w/node/leaf', '1');
    await c.write('/w/unrelated', '1');
    await c.rm('/w');
    await c.read('/'); // a round trip so every queued event has arrived
    expect(events).toEqual(['tok:/w/node', 'tok:/w/node/leaf', 'tok:/w/node']);
    await c.unwatch('/w/node', 'tok');
    await c.write('/w/node', 'again');
    await c.read('/');
    expect(events).toHaveLength(3);
  });

  it('xenstore-write from libxenstore triggers our client watch', async () => {
    requireTools('xenstore-write');
    const seen: string[] = [];
    await c.watch('/from-tool', 't', (e) => seen.push(e.path));
    await execAsync('xenstore-write', ['/from-tool/k', 'v'], { env: { ...process.env, XENSTORED_PATH: sock } });
    await c.read('/');
    expect(seen).toEqual(['/from-tool', '/from-tool/k']);
    expect(await c.read('/from-tool/k')).toBe('v');
  });

  it('a header announcing more than 4096 bytes makes the server drop the connection', async () => {
    const { connect } = await import('node:net');
    const s = connect(sock);
    await new Promise((r) => s.once('connect', r));
    const header = Buffer.alloc(HEADER_SIZE);
    header.writeUInt32LE(XsType.READ, 0);
    header.writeUInt32LE(5000, 12);
    s.write(header);
    await new Promise((r) => s.once('close', r));
    expect(await c.read('/tx/counter')).toBe('11'); // server still serves others
  });
});

describe('XenstoreClient connection loss', () => {
  it('a throwing watch handler does not break the client; losing xenstored fails requests and fires onClose', async () => {
    const dir = tempDir('xenkit-xsl-');
    const sock = join(dir.path, 'xs.sock');
    const server = new XenstoreServer();
    await server.listen(sock);
    const c = await XenstoreClient.open({ path: sock });
    await c.watch('/boom', 't', () => {
      throw new Error('handler bug');
    });
    await c.write('/boom/x', '1');
    expect(await c.read('/boom/x')).toBe('1');
    const closed = new Promise<Error>((r) => c.onClose(r));
    await server.close();
    expect((await closed).message).toMatch(/closed/);
    await expect(c.read('/boom/x')).rejects.toMatchObject({ code: 'E_XS_CLOSED' });
    dir.cleanup();
  });
});

describe('XenstoreClient reply handling', () => {
  it('takes the next reply as the answer even when req_id is not echoed (old xenbus kernels)', async () => {
    const dir = tempDir('xenkit-xsr-');
    const path = join(dir.path, 'odd.sock');
    const srv = createServer((s) => {
      const reader = new MessageReader();
      s.on('data', (d) => {
        for (const m of reader.push(d)) {
          s.write(encodeMessage({ type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: Buffer.from('/x\0stray\0') }));
          s.write(encodeMessage({ type: m.type, reqId: 0, txId: 0, payload: Buffer.from('answer') }));
        }
      });
    });
    await new Promise<void>((r) => srv.listen(path, r));
    const c = await XenstoreClient.open({ path, timeoutMs: 2000 });
    expect(await c.read('/x')).toBe('answer');
    c.close();
    await new Promise((r) => srv.close(r));
    dir.cleanup();
  });
});

/** A xenstored stand-in that answers READ with the path's name, late for `/slow`; ids echoed or zeroed. */
async function lateServer(echoIds: boolean): Promise<{ path: string; connections: () => number; watchesSet: () => number; stop: () => Promise<void> }> {
  const dir = tempDir('xenkit-xslate-');
  const path = join(dir.path, 'late.sock');
  let connections = 0;
  let watchesSet = 0;
  const sockets = new Set<import('node:net').Socket>();
  const srv = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    const reader = new MessageReader();
    s.on('data', (d) => {
      for (const m of reader.push(d)) {
        if (m.type === XsType.WATCH) watchesSet++;
        const asked = m.payload.subarray(0, m.payload.indexOf(0)).toString();
        const answer = (): void => {
          if (!s.destroyed) s.write(encodeMessage({ type: m.type, reqId: echoIds ? m.reqId : 0, txId: 0, payload: Buffer.from(`value of ${asked}`) }));
        };
        if (asked === '/slow') setTimeout(answer, 400);
        else answer();
      }
    });
  });
  await new Promise<void>((r) => srv.listen(path, r));
  return {
    path,
    connections: () => connections,
    watchesSet: () => watchesSet,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
      dir.cleanup();
    },
  };
}

describe('XenstoreClient after a timeout', () => {
  it('drops the late reply by req_id when the server echoes ids', async () => {
    const srv = await lateServer(true);
    const c = await XenstoreClient.open({ path: srv.path, timeoutMs: 150 });
    expect(await c.read('/warm')).toBe('value of /warm'); // proves the server echoes ids
    await expect(c.read('/slow')).rejects.toMatchObject({ code: 'E_XS_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 350)); // the late reply to /slow arrives now
    expect(await c.read('/b')).toBe('value of /b');
    // The late reply crossing a request in flight is dropped as well.
    await expect(c.read('/slow')).rejects.toMatchObject({ code: 'E_XS_TIMEOUT' });
    const slowReplyDue = c.read('/c');
    expect(await slowReplyDue).toBe('value of /c');
    expect(srv.connections()).toBe(1);
    c.close();
    await srv.stop();
  });

  it('reconnects instead of misdelivering when the server does not echo ids (old xenbus)', async () => {
    const srv = await lateServer(false);
    const c = await XenstoreClient.open({ path: srv.path, timeoutMs: 150 });
    await c.watch('/w', 'tok', () => undefined);
    await expect(c.read('/slow')).rejects.toMatchObject({ code: 'E_XS_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 350));
    expect(await c.read('/b')).toBe('value of /b');
    expect(srv.connections()).toBe(2);
    expect(srv.watchesSet()).toBe(2); // the watch was set again on the new connection
    c.close();
    await srv.stop();
  });
});
