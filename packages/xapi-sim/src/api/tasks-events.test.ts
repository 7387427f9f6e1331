import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../index.js';
import { caller, login } from '../test-helpers/rpc.js';

let lab: RunningLab;
let x: ReturnType<typeof caller>;
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 10, vms: 1, taskDelayMs: 150, eventBatchDelayMs: 5 });
  x = caller(lab.url, await login(lab.url));
});
afterAll(() => lab.close());

type Batch = { events: { id: string; class: string; operation: string; ref: string; snapshot?: Record<string, unknown> }[]; token: string; valid_ref_counts: Record<string, number> };

describe('tasks', () => {
  it('go pending → success with the result as an XML-RPC value string', async () => {
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
    const task = await x.call<string>('Async.VM.clone', tpl, 'async clone');
    expect(await x.call('task.get_status', task)).toBe('pending');
    expect(await x.call('task.get_name_label', task)).toBe('Async.VM.clone');
    let status = 'pending';
    while (status === 'pending') {
      await new Promise((r) => setTimeout(r, 20));
      status = await x.call<string>('task.get_status', task);
    }
    const rec = await x.call<Record<string, unknown>>('task.get_record', task);
    expect(rec).toMatchObject({ status: 'success', progress: 1, error_info: [] });
    expect(rec.result).toMatch(/^<value>OpaqueRef:[0-9a-f-]{36}<\/value>$/);
    expect(rec.finished).not.toBe('19700101T00:00:00Z');
    await x.call('task.destroy', task);
    expect(await x.fail('task.get_status', task)).toEqual(['HANDLE_INVALID', 'task', task]);
  });

  it('fail with error_info, and can be cancelled while pending', async () => {
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
    const failing = await x.call<string>('Async.VM.start', tpl, false, false);
    const cancelled = await x.call<string>('Async.VM.clone', tpl, 'never');
    await x.call('task.cancel', cancelled);
    await new Promise((r) => setTimeout(r, 300));
    expect(await x.call('task.get_status', failing)).toBe('failure');
    expect(await x.call('task.get_error_info', failing)).toEqual(['VM_IS_TEMPLATE', tpl]);
    expect(await x.call('task.get_status', cancelled)).toBe('cancelled');
    expect(await x.call('VM.get_by_name_label', 'never')).toEqual([]);
    expect(await x.fail('task.cancel', cancelled)).toEqual(expect.arrayContaining(['OPERATION_NOT_ALLOWED']));
  });

  it('reject Async on accessors the way xapi does', async () => {
    expect(await x.fail('Async.VM.get_record', 'OpaqueRef:x')).toEqual(['Fault', 'No async mode for this operation (rpc: Async.VM.get_record)']);
    expect(await x.fail('Async.VM.nope')).toEqual(['MESSAGE_METHOD_UNKNOWN', 'Async.VM.nope']);
  });
});

describe('event.from', () => {
  it('returns every object for an empty token, then add/mod/del with snapshots', async () => {
    const all = await x.call<Batch>('event.from', ['vm'], '', 1.0);
    expect(all.events.every((e) => e.class === 'vm' && e.operation === 'add' && e.snapshot)).toBe(true);
    expect(all.events.length).toBe(all.valid_ref_counts.vm);
    expect(all.token).toMatch(/^\d{20},\d{20}$/);
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Other install media');
    const vm = await x.call<string>('VM.clone', tpl, 'evented');
    const added = await x.call<Batch>('event.from', ['vm'], all.token, 1.0);
    expect(added.events.map((e) => [e.operation, e.ref])).toEqual([['add', vm]]);
    await x.call('VM.set_name_label', vm, 'renamed');
    const modded = await x.call<Batch>('event.from', [`vm/${vm}`], added.token, 1.0);
    expect(modded.events).toMatchObject([{ operation: 'mod', ref: vm, snapshot: { name_label: 'renamed' } }]);
    await x.call('VM.destroy', vm);
    const deleted = await x.call<Batch>('event.from', ['vm'], modded.token, 1.0);
    expect(deleted.events.map((e) => [e.operation, e.ref, e.snapshot])).toEqual([['del', vm, undefined]]);
  });

  it('blocks until a change or the timeout, and filters by class/ref', async () => {
    const { token } = await x.call<Batch>('event.from', ['pool'], '', 0);
    const t0 = Date.now();
    const empty = await x.call<Batch>('event.from', ['pool'], token, 0.3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(empty.events).toEqual([]);
    const pool = (await x.call<string[]>('pool.get_all'))[0] as string;
    const host = (await x.call<string[]>('host.get_all'))[0] as string;
    const waiting = x.call<Batch>('event.from', [`pool/${pool}`], token, 10);
    await new Promise((r) => setTimeout(r, 100));
    await x.call('event.inject', 'host', host);
    const injected = await x.call<string>('event.inject', 'pool', pool);
    const t1 = Date.now();
    const woke = await waiting;
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(woke.events.map((e) => e.ref)).toEqual([pool]);
    // Tokens are zero-padded so that they compare as strings.
    expect(woke.token >= injected).toBe(true);
    expect(await x.fail('event.from', ['vm'], 'garbage', 0)).toEqual(['EVENT_FROM_TOKEN_PARSE_FAILURE', 'garbage']);
    expect(await x.fail('event.inject', 'VM', 'OpaqueRef:gone')).toEqual(['HANDLE_INVALID', 'VM', 'OpaqueRef:gone']);
  });

  it('ends a waiting event.from with SESSION_INVALID when its session logs out', async () => {
    const other = caller(lab.url, await login(lab.url));
    const { token } = await other.call<Batch>('event.from', ['pool'], '', 0);
    const waiting = other.fail('event.from', ['pool'], token, 10);
    await new Promise((r) => setTimeout(r, 100));
    await other.call('session.logout');
    const host = (await x.call<string[]>('host.get_all'))[0] as string;
    await x.call('event.inject', 'host', host);
    expect((await waiting)[0]).toBe('SESSION_INVALID');
  });

  it('delivers task progress to watchers', async () => {
    const { token } = await x.call<Batch>('event.from', ['task'], '', 0);
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
    const task = await x.call<string>('Async.VM.clone', tpl, 'watched');
    let t = token;
    let status = 'pending';
    for (let i = 0; i < 20 && status === 'pending'; i++) {
      const b = await x.call<Batch>('event.from', ['task'], t, 5);
      t = b.token;
      const ev = b.events.find((e) => e.ref === task);
      if (ev?.snapshot) status = ev.snapshot.status as string;
    }
    expect(status).toBe('success');
  });
});
