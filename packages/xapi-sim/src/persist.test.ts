import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@xenkit/core';
import { tempDir } from '@xenkit/fixtures';
import { startLab } from './index.js';
import { caller, login } from './test-helpers/rpc.js';

const tmp = tempDir('xenkit-lab-persist-');
afterAll(() => tmp.cleanup());

let n = 0;
/** A state directory holding a real db.json written by a lab, with a VM renamed so reload is visible. */
async function savedState(): Promise<string> {
  const dir = join(tmp.path, `s${n++}`);
  const lab = await startLab({ stateDir: dir, vms: 1, authFailureDelayMs: 0 });
  const x = caller(lab.url, await login(lab.url));
  const [vm] = await x.call<string[]>('VM.get_by_name_label', 'lab-vm-1');
  await x.call('VM.set_name_label', vm, 'kept');
  await lab.close();
  return dir;
}

async function startFails(dir: string): Promise<InputError> {
  const e = await startLab({ stateDir: dir, authFailureDelayMs: 0 }).then(
    async (lab) => {
      await lab.close();
      throw new Error('lab started on damaged state');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  // A damaged state directory is the user's input (exit 2), not a failed operation.
  expect((e as InputError).category).toBe('input');
  return e as InputError;
}

describe('--state DIR', () => {
  it('reloads what it saved, and saves atomically (no .tmp left)', async () => {
    const dir = await savedState();
    const lab = await startLab({ stateDir: dir, authFailureDelayMs: 0 });
    const x = caller(lab.url, await login(lab.url));
    expect(await x.call<string[]>('VM.get_by_name_label', 'kept')).toHaveLength(1);
    await lab.close();
    expect(() => readFileSync(join(dir, 'db.json.tmp'))).toThrow();
  });

  it('refuses a truncated db.json with E_LAB_STATE_UNREADABLE', async () => {
    const dir = await savedState();
    const text = readFileSync(join(dir, 'db.json'), 'utf8');
    writeFileSync(join(dir, 'db.json'), text.slice(0, Math.floor(text.length / 2)));
    const e = await startFails(dir);
    expect(e.code).toBe('E_LAB_STATE_UNREADABLE');
    expect(e.message).toContain(join(dir, 'db.json'));
  });

  it('refuses garbage and foreign JSON with E_LAB_STATE_FORMAT', async () => {
    const dir = await savedState();
    writeFileSync(join(dir, 'db.json'), '[1,2,3]');
    expect((await startFails(dir)).code).toBe('E_LAB_STATE_FORMAT');
    writeFileSync(join(dir, 'db.json'), JSON.stringify({ format: 'xenkit-lab-state/1', meta: { masterRef: 'x', poolRef: 'y' }, tables: 7 }));
    expect((await startFails(dir)).code).toBe('E_LAB_STATE_FORMAT');
  });

  it('refuses unknown classes, bad references, wrong field types and bad integers with E_LAB_STATE_CORRUPT', async () => {
    const dir = await savedState();
    const good = JSON.parse(readFileSync(join(dir, 'db.json'), 'utf8')) as { tables: Record<string, Record<string, Record<string, unknown>>> };
    const damaged: Array<[string, (d: typeof good) => void]> = [
      ['unknown class', (d) => (d.tables.Nonsense = {})],
      ['not an OpaqueRef', (d) => (d.tables.VM = { 'not-a-ref': {} })],
      ['wrong type', (d) => Object.values(d.tables.VM ?? {}).forEach((r) => (r.name_label = { $i: '7' }))],
      ['bad integer', (d) => Object.values(d.tables.VM ?? {}).forEach((r) => (r.memory_static_max = { $i: '12x' }))],
      ['master host', (d) => (d.tables.host = {})],
      ['unknown class "__proto__"', (d) => Object.defineProperty(d.tables, '__proto__', { value: {}, enumerable: true })],
    ];
    for (const [why, damage] of damaged) {
      const doc = structuredClone(good);
      damage(doc);
      writeFileSync(join(dir, 'db.json'), JSON.stringify(doc));
      const e = await startFails(dir);
      expect([why, e.code]).toEqual([why, 'E_LAB_STATE_CORRUPT']);
      expect(e.message).toContain(why.replace(/^unknown class .*/, 'unknown class'));
    }
  });

  it('keeps the event generation: a token taken before a restart reads exactly the changes after it', async () => {
    const dir = join(tmp.path, `s${n++}`);
    const first = await startLab({ stateDir: dir, vms: 2, authFailureDelayMs: 0 });
    const a = caller(first.url, await login(first.url));
    const [vm1] = await a.call<string[]>('VM.get_by_name_label', 'lab-vm-1');
    const [vm2] = await a.call<string[]>('VM.get_by_name_label', 'lab-vm-2');
    const { token } = await a.call<{ token: string }>('event.from', ['VM'], '', 0);
    await a.call('VM.set_name_label', vm1, 'before-restart');
    const port = Number(new URL(first.url).port);
    await first.close();
    // Let fetch's keep-alive pool see the closed sockets, so it does not send on one to the old lab.
    await new Promise((r) => setTimeout(r, 100));

    const second = await startLab({ stateDir: dir, port, authFailureDelayMs: 0 });
    try {
      expect(second.url).toBe(first.url);
      const b = caller(second.url, await login(second.url));
      // Tokens never go backwards across a restart.
      const current = await b.call<{ token: string }>('event.from', ['VM'], '', 0);
      expect(current.token > token).toBe(true);
      await b.call('VM.set_name_label', vm2, 'after-restart');
      const started = Date.now();
      const batch = await b.call<{ events: Array<{ ref: string; operation: string; snapshot: { name_label: string } }>; token: string }>('event.from', ['VM'], token, 30);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(batch.events.map((e) => [e.ref, e.operation, e.snapshot.name_label])).toEqual([
        [vm1, 'mod', 'before-restart'],
        [vm2, 'mod', 'after-restart'],
      ]);
      expect(batch.token > current.token).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('refuses a damaged event counter or change log with E_LAB_STATE_CORRUPT', async () => {
    const dir = await savedState();
    const good = JSON.parse(readFileSync(join(dir, 'db.json'), 'utf8')) as { events: { generation: number; logStart: number; changes: unknown[][] } };
    expect(good.events.changes.length).toBeGreaterThan(0);
    const damaged: Array<(d: typeof good) => void> = [
      (d) => (d.events.generation = -1),
      (d) => (d.events.logStart = d.events.generation + 1),
      (d) => d.events.changes.reverse().push([1, 'VM', 'OpaqueRef:x', 'mod']),
      (d) => (d.events.changes = [[d.events.generation, 'VM', 'OpaqueRef:x', 'explode']]),
      (d) => (d.events.changes = [[d.events.generation, 'Nonsense', 'OpaqueRef:x', 'mod']]),
    ];
    for (const damage of damaged) {
      const doc = structuredClone(good);
      damage(doc);
      writeFileSync(join(dir, 'db.json'), JSON.stringify(doc));
      expect((await startFails(dir)).code).toBe('E_LAB_STATE_CORRUPT');
    }
  });

  it('refuses a state path that is a file with E_LAB_STATE_DIR', async () => {
    const file = join(tmp.path, 'a-file');
    writeFileSync(file, 'x');
    expect((await startFails(file)).code).toBe('E_LAB_STATE_DIR');
  });
});
