import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../index.js';
import { caller, jsonCall, login } from '../test-helpers/rpc.js';

let lab: RunningLab;
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 0, vms: 1, maxSessionsPerOriginator: 3, finishedTaskTtlMs: 150 });
});
afterAll(() => lab.close());

async function loginAs(originator: string): Promise<string> {
  const r = await jsonCall(lab.url, 'session.login_with_password', ['root', 'xenkit', '1.0', originator]);
  return r.result as string;
}

async function alive(session: string): Promise<boolean> {
  const r = await jsonCall(lab.url, 'pool.get_all', [session]);
  if (r.error) expect((r.error as { message: string }).message).toBe('SESSION_INVALID');
  return r.error === undefined;
}

describe('xapi resource limits', () => {
  it('keeps at most N sessions per originator, destroying the oldest', async () => {
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await loginAs('limits-test'));
    const other = await loginAs('someone-else');
    expect(await Promise.all(mine.map(alive))).toEqual([false, false, true, true, true]);
    expect(await alive(other)).toBe(true);
    // Without an originator the limit applies per user name.
    const anon = [];
    for (let i = 0; i < 4; i++) anon.push(await login(lab.url));
    expect(await Promise.all(anon.map(alive))).toEqual([false, true, true, true]);
    expect(await alive(other)).toBe(true);
  });

  it('destroys finished HTTP-transfer tasks after the TTL, keeping pending ones', async () => {
    const session = await loginAs('tasks-test');
    const x = caller(lab.url, session);
    const [sr] = await x.call<string[]>('SR.get_all');
    const vdi = await x.call<string>('VDI.create', { SR: sr, name_label: 'small', virtual_size: 1 << 20, type: 'user' });
    const r = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${vdi}&format=raw`);
    await r.arrayBuffer();
    const finished = r.headers.get('task-id') as string;
    expect(await x.call('task.get_status', finished)).toBe('success');
    const pending = await x.call<string>('task.create', 'held', '');
    await new Promise((ok) => setTimeout(ok, 200));
    await x.call('task.create', 'trigger', '');
    expect(await x.fail('task.get_status', finished)).toEqual(['HANDLE_INVALID', 'task', finished]);
    expect(await x.call('task.get_status', pending)).toBe('pending');
  });
});
