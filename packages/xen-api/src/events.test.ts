import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { connect, parseJsonLossless, type EventRecord, type Xapi } from './index.js';
import { Fail, MiniDb, seedPool, startMiniXapi, type MiniXapi } from './test-helpers/mini-xapi.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(): Promise<{ mini: MiniXapi; c: Xapi; refs: Record<string, string> }> {
  const db = new MiniDb();
  const refs = seedPool(db);
  const mini = await startMiniXapi({}, db);
  cleanup.push(() => mini.close());
  const c = await connect({ url: mini.url, password: 'secret', transport: 'xml-rpc', retry: { attempts: 3, delayMs: 20 }, timeouts: { eventWait: 0.3 } });
  cleanup.push(() => c.close());
  return { mini, c, refs };
}

async function take(it: AsyncIterator<EventRecord>, n: number, pred: (e: EventRecord) => boolean = () => true): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    if (pred(r.value)) out.push(r.value);
  }
  return out;
}

describe('events', () => {
  it('starts with every object as add, then follows changes, filtered by class, typed', async () => {
    const { mini, c, refs } = await setup();
    const ac = new AbortController();
    const stream = c.events({ classes: ['vm'], signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    const initial = await take(it, 2);
    expect(initial.map((e) => e.operation)).toEqual(['add', 'add']);
    expect(initial.every((e) => e.class === 'vm')).toBe(true);
    mini.db.set('VM', refs.pv!, { power_state: 'Running' });
    mini.db.set('SR', refs.sr!, { name_label: 'ignored' });
    const [mod] = await take(it, 1);
    expect(mod).toMatchObject({ class: 'vm', operation: 'mod', ref: refs.pv, snapshot: { power_state: 'Running' } });
    expect(typeof mod!.id).toBe('bigint');
    expect((mod!.snapshot as { memory_static_max: unknown }).memory_static_max).toBe(2n ** 60n + 1n);
    expect(stream.token).toMatch(/^\d{20},\d{20}$/);
    ac.abort();
    expect((await it.next()).done).toBe(true);
  });

  it('keeps its token across a host restart and a lost session', async () => {
    const { mini, c, refs } = await setup();
    const ac = new AbortController();
    const it = c.events({ classes: ['vm'], token: 'now', signal: ac.signal })[Symbol.asyncIterator]();
    const first = take(it, 1);
    await new Promise((r) => setTimeout(r, 50));
    mini.db.set('VM', refs.pv!, { name_label: 'one' });
    expect((await first)[0]).toMatchObject({ operation: 'mod', snapshot: { name_label: 'one' } });
    const next = take(it, 1);
    await mini.restart(400); // connection refused for a while, then every session is gone
    mini.db.set('VM', refs.hvm!, { name_label: 'two' });
    // resumed from the old token: the change made while away arrives, without a replay of every VM
    expect((await next)[0]).toMatchObject({ operation: 'mod', ref: refs.hvm, snapshot: { name_label: 'two' } });
    expect(mini.calls.filter((x) => x.method === 'session.login_with_password').length).toBe(2);
    ac.abort();
  });

  it('refetches everything when the token is refused (EVENTS_LOST)', async () => {
    const { mini, c } = await setup();
    const reasons: string[] = [];
    const ac = new AbortController();
    const it = c.events({ classes: ['vm'], token: `${'9'.repeat(20)},${'0'.repeat(20)}`, signal: ac.signal, onResync: (r) => reasons.push(r) })[
      Symbol.asyncIterator
    ]();
    const events = await take(it, 2);
    expect(reasons).toEqual(['EVENTS_LOST']);
    expect(events.map((e) => e.operation)).toEqual(['add', 'add']);
    expect(mini.calls.filter((x) => x.method === 'event.from').length).toBeGreaterThanOrEqual(2);
    ac.abort();
  });

  it('maps a failed task to XapiError and a vanished one to E_XAPI_TASK', async () => {
    const { mini, c, refs } = await setup();
    mini.handlers.set('Async.VM.clean_reboot', () => {
      const task = mini.db.add('task', { status: 'pending', progress: 0, result: '', error_info: [] });
      setTimeout(() => {
        mini.db.table('task').delete(task);
        mini.db.touch('task', 'del', task);
      }, 30);
      return task;
    });
    await expect(c.callAsync('VM.clean_reboot', refs.pv as never)).rejects.toMatchObject({ code: 'E_XAPI_TASK' });
    mini.handlers.set('VM.clone', () => {
      throw new Fail(['SR_FULL', '10', '5']);
    });
    await expect(c.callAsync('VM.clone', refs.pv as never, 'copy')).rejects.toMatchObject({ code: 'SR_FULL', params: ['10', '5'] });
  });
});

describe('TLS', () => {
  it('verifies by default, pins a SHA-256 fingerprint, and accepts anything only when insecure', async () => {
    requireTools('openssl');
    const dir = tempDir();
    cleanup.push(dir.cleanup);
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=xs1.lab']);
    const fp = exec('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).stdout.trim().split('=')[1]!;
    const mini = await startMiniXapi({}, new MiniDb());
    cleanup.push(() => mini.close());
    // a TLS front that forwards to the mini server's handler
    const tls = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      const body: Buffer[] = [];
      req.on('data', (d: Buffer) => body.push(d));
      req.on('end', async () => {
        const r = await fetch(`${mini.url}${req.url}`, { method: req.method, headers: { 'content-type': String(req.headers['content-type']) }, body: Buffer.concat(body) });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' }).end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => tls.close(r)));
    tls.on('connection', (s) => cleanup.push(() => s.destroy()));
    const url = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
    const base = { url, password: 'secret', retry: { attempts: 1 } };
    await expect(connect(base)).rejects.toMatchObject({ code: 'E_XAPI_TLS' });
    await expect(connect({ ...base, tls: { fingerprint: 'AA'.repeat(32) } })).rejects.toMatchObject({ code: 'E_XAPI_TLS' });
    const pinned = await connect({ ...base, tls: { fingerprint: fp } });
    await pinned.close();
    const insecure = await connect({ ...base, tls: { insecure: true } });
    await insecure.close();
    expect(mini.sessions.size).toBe(1); // only the internal one: both logged out
  });
});

describe('JSON-RPC numbers', () => {
  it('keeps int64 beyond 2^53 exact and leaves strings alone', () => {
    const text = '{"result":{"a":9223372036854775807,"b":"x:12345678901234567890","c":1.5,"d":[-18446744073709551615,3]},"id":1}';
    expect(parseJsonLossless(text)).toEqual({ result: { a: '9223372036854775807', b: 'x:12345678901234567890', c: 1.5, d: ['-18446744073709551615', 3] }, id: 1 });
  });
});
