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

  it('refuses a state path that is a file with E_LAB_STATE_DIR', async () => {
    const file = join(tmp.path, 'a-file');
    writeFileSync(file, 'x');
    expect((await startFails(file)).code).toBe('E_LAB_STATE_DIR');
  });
});
