import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '@xenkit/core';
import { connect, type Xapi } from './index.js';
import type { TransportKind } from './rpc.js';
import { MiniDb, seedPool, startMiniXapi, type MiniXapi } from './test-helpers/mini-xapi.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The in-test server (test-helpers/mini-xapi.ts), not the lab host: what the lab serves is tested in lab.test.ts. */
async function mini(opts: Parameters<typeof startMiniXapi>[0] = {}, db = new MiniDb()): Promise<MiniXapi & { refs: Record<string, string> }> {
  const refs = db.tables.size === 0 ? seedPool(db) : {};
  const srv = await startMiniXapi(opts, db);
  cleanup.push(() => srv.close());
  return Object.assign(srv, { refs });
}

async function client(srv: MiniXapi, transport: TransportKind = 'auto', extra: Partial<Parameters<typeof connect>[0]> = {}): Promise<Xapi> {
  const c = await connect({ url: srv.url, user: 'root', password: 'secret', transport, retry: { delayMs: 20 }, timeouts: { eventWait: 1 }, ...extra });
  cleanup.push(() => c.close());
  return c;
}

/** A logger that keeps every line, to prove what never reaches a log. */
function capturingLogger(lines: string[]): Logger {
  const log = (...args: unknown[]) => lines.push(JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

describe.each(['json-rpc', 'xml-rpc'] as const)('over %s', (transport) => {
  it('logs in with version and originator and reads typed records: int64 as bigint, datetimes as Date', async () => {
    const srv = await mini();
    const c = await client(srv, transport, { originator: 'tests' });
    expect([...srv.sessions.values()].map((s) => s.originator)).toContain('tests');
    const vms = await c.VM.get_all_records();
    const web = Object.values(vms).find((v) => v.name_label === 'web')!;
    expect(web.memory_static_max).toBe(2n ** 60n + 1n);
    expect(web.VCPUs_max).toBe(2n);
    expect(web.snapshot_time).toEqual(new Date(Date.UTC(2025, 2, 19, 4, 16, 24)));
    expect(web.domain_type).toBe('pv');
    expect(srv.calls.every((call) => call.transport === (transport === 'json-rpc' ? 'json' : 'xml'))).toBe(true);
  });

  it('raises XapiError with code, params and method', async () => {
    const srv = await mini();
    const c = await client(srv, transport);
    await expect(c.VM.get_record('OpaqueRef:nope' as never)).rejects.toMatchObject({
      name: 'XapiError',
      code: 'HANDLE_INVALID',
      params: ['VM', 'OpaqueRef:nope'],
      method: 'VM.get_record',
      category: 'operation',
    });
  });

  it('returns system.listMethods unwrapped', async () => {
    const srv = await mini();
    const c = await client(srv, transport);
    expect(await c.call('system.listMethods')).toContain('event.from');
  });

  it('runs Async calls to their result through event.from, with progress, and destroys the task', async () => {
    const srv = await mini();
    const c = await client(srv, transport);
    const progress: number[] = [];
    await c.callAsync('VM.start', srv.refs.pv as never, false, false, { onProgress: (p) => progress.push(p) });
    expect(srv.db.get('VM', srv.refs.pv!).power_state).toBe('Running');
    expect(progress.at(-1)).toBe(1);
    expect(srv.db.table('task').size).toBe(0);
    expect(srv.calls.filter((x) => x.method === 'task.get_record' || x.method === 'task.get_status')).toHaveLength(0);
    const failed = c.callAsync('VM.start', srv.refs.pv as never, false, false);
    await expect(failed).rejects.toMatchObject({ code: 'VM_BAD_POWER_STATE', method: 'VM.start' });
  });
});

describe('connection', () => {
  it('auto falls back to XML-RPC when /jsonrpc answers XML', async () => {
    const srv = await mini({ noJsonRpc: true });
    const c = await client(srv, 'auto');
    expect(Object.keys(await c.host.get_all_records())).toHaveLength(1);
    expect(c.transport).toBe('xml-rpc');
  });

  it('rejects bad credentials with SESSION_AUTHENTICATION_FAILED and never logs the password', async () => {
    const srv = await mini();
    const lines: string[] = [];
    await expect(connect({ url: srv.url, user: 'root', password: 'wrong-pw', logger: capturingLogger(lines) })).rejects.toMatchObject({
      code: 'SESSION_AUTHENTICATION_FAILED',
    });
    expect(lines.join('\n')).not.toContain('wrong-pw');
  });

  it('goes to the master on HOST_IS_SLAVE (XAPI names it by address; the port is kept)', async () => {
    const master = await mini({ host: '127.0.0.2' });
    const member = await mini({ host: '127.0.0.1', port: master.port, slaveOf: '127.0.0.2' }, new MiniDb());
    const c = await client(member, 'json-rpc');
    expect(c.url).toBe(`http://127.0.0.2:${master.port}/`);
    expect(await c.VM.get_all()).toHaveLength(2);
    expect(member.calls.map((x) => x.method)).toEqual(['session.login_with_password']);
  });

  it('logs in again once on SESSION_INVALID and retries the call', async () => {
    const srv = await mini();
    const c = await client(srv, 'json-rpc');
    await c.VM.get_all();
    srv.invalidateSessions();
    expect(await c.VM.get_all()).toHaveLength(2);
    expect(srv.calls.filter((x) => x.method === 'session.login_with_password')).toHaveLength(2);
  });

  it('retries idempotent reads across a restart, but not writes', async () => {
    const srv = await mini();
    const c = await client(srv, 'xml-rpc', { retry: { attempts: 8, delayMs: 50 } });
    await c.VM.get_all();
    const restart = srv.restart(150);
    const read = c.VM.get_all();
    await restart;
    expect(await read).toHaveLength(2);
    await srv.close();
    await expect(c.VM.start(srv.refs.hvm as never, false, false)).rejects.toMatchObject({ code: 'E_XAPI_TRANSPORT' });
  });

  it('never logs passwords, session refs or session_id query strings', async () => {
    const srv = await mini({ password: 'pw-secret' });
    const lines: string[] = [];
    const c = await client(srv, 'json-rpc', { logger: capturingLogger(lines), password: 'pw-secret' });
    srv.invalidateSessions();
    await c.VM.get_all().catch(() => undefined);
    await c.exportVdi({ vdi: srv.refs.vdi!, file: '/dev/null' });
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(all).not.toContain('pw-secret');
    expect(all).not.toMatch(/OpaqueRef:[0-9a-f-]{36}.*session|session_id=OpaqueRef/);
    for (const ref of srv.sessions.keys()) expect(all).not.toContain(ref);
  });

  it('fails over to another pool member when the master stops answering', async () => {
    const db = new MiniDb();
    seedPool(db);
    for (const [ref] of db.table('host')) db.table('host').delete(ref);
    db.add('host', { name_label: 'a', address: '127.0.0.2' });
    db.add('host', { name_label: 'b', address: '127.0.0.3' });
    const a = await startMiniXapi({ host: '127.0.0.2' }, db);
    cleanup.push(() => a.close());
    const b = await startMiniXapi({ host: '127.0.0.3', port: a.port }, db);
    cleanup.push(() => b.close());
    const c = await client(a, 'json-rpc', { retry: { attempts: 4, delayMs: 10 } });
    await a.close();
    expect(await c.VM.get_all()).toHaveLength(2);
    expect(c.url).toBe(`http://127.0.0.3:${a.port}/`);
  });

  it('cancels the task when a callAsync is aborted, and destroys it', async () => {
    const srv = await mini();
    const c = await client(srv, 'json-rpc');
    let task = '';
    srv.handlers.set('Async.VM.clean_shutdown', () => {
      task = srv.db.add('task', { status: 'pending', progress: 0.1, result: '', error_info: [] });
      return task;
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(c.callAsync('VM.clean_shutdown', srv.refs.hvm as never, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_XAPI_ABORTED' });
    expect(srv.calls.map((x) => x.method)).toContain('task.cancel');
    expect(srv.db.table('task').has(task)).toBe(false);
  });
});
