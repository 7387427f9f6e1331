// Real XenAPI clients against the target: the lab host started by the CLI, or a real XenServer
// (XENKIT_E2E_URL …). Everything created is tagged xenkit-e2e and removed afterwards.
// `xenkit xapi …` command tests slot in beside this file using support/cli.ts and support/target.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools } from '@xenkit/fixtures';
import { createClient } from 'xen-api';
import { E2E_TAG, openTarget, type Target } from './support/target.js';

interface Xapi {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  call(method: string, ...args: unknown[]): Promise<unknown>;
  callAsync(method: string, ...args: unknown[]): Promise<unknown>;
  getAllRecords(type: string): Promise<Record<string, Record<string, unknown>>>;
  putResource(body: Buffer, path: string, opts: { query: Record<string, string> }): Promise<unknown>;
  getResource(path: string, opts: { query: Record<string, string> }): Promise<{ body: AsyncIterable<Buffer> }>;
  pool: { default_SR: string };
}

let target: Target;
let xapi: Xapi;
beforeAll(async () => {
  target = await openTarget();
  xapi = createClient({ url: target.url, auth: { user: target.user, password: target.password }, allowUnauthorized: true, watchEvents: ['task', 'VDI'] }) as unknown as Xapi;
  await xapi.connect();
});
afterAll(async () => {
  if (xapi) {
    // Remove everything this suite created, even after a failure half-way.
    for (const vdi of Object.values(await xapi.getAllRecords('VDI'))) {
      if ((vdi.tags as string[]).includes(E2E_TAG)) await xapi.call('VDI.destroy', vdi.$ref);
    }
    await xapi.disconnect();
  }
  await target?.close();
});

async function sr(): Promise<string> {
  return target.srUuid ? ((await xapi.call('SR.get_by_uuid', target.srUuid)) as string) : xapi.pool.default_SR;
}

describe('npm xen-api client', () => {
  it('imports and exports a raw VDI through /import_raw_vdi and /export_raw_vdi', async () => {
    const size = 4 * 1024 * 1024;
    const vdi = (await xapi.call('VDI.create', {
      name_label: 'xenkit e2e scratch', SR: await sr(), virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {}, tags: [E2E_TAG],
    })) as string;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.write(`xenkit-e2e block ${i / 4096}`, i);
    expect(await xapi.putResource(data, '/import_raw_vdi/', { query: { format: 'raw', vdi } })).toBe(vdi);
    const res = await xapi.getResource('/export_raw_vdi/', { query: { format: 'raw', vdi } });
    const parts: Buffer[] = [];
    for await (const c of res.body) parts.push(c);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('runs an Async VDI.clone as a task and resolves to the new VDI', async () => {
    const vdi = (await xapi.call('VDI.create', {
      name_label: 'xenkit e2e clone source', SR: await sr(), virtual_size: 1024 * 1024, type: 'user', sharable: false, read_only: false, other_config: {}, tags: [E2E_TAG],
    })) as string;
    const clone = (await xapi.callAsync('VDI.clone', vdi, {})) as string;
    expect(clone).toMatch(/^OpaqueRef:/);
    expect(await xapi.call('VDI.get_tags', clone)).toContain(E2E_TAG);
  });
});

describe("Debian's python3-os-xenapi", () => {
  it('logs in and lists VMs', async () => {
    requireTools('/usr/bin/python3');
    const script = [
      'import sys, json',
      'from os_xenapi.client import XenAPI',
      's = XenAPI.Session(sys.argv[1])',
      's.xenapi.login_with_password(sys.argv[2], sys.argv[3], "2.21", "xenkit-e2e")',
      'print(json.dumps({"vms": len(s.xenapi.VM.get_all_records())}))',
      's.xenapi.session.logout()',
    ].join('\n');
    const r = await execAsync('/usr/bin/python3', ['-c', script, target.url, target.user, target.password], { timeoutMs: 60_000 });
    expect((JSON.parse(r.stdout) as { vms: number }).vms).toBeGreaterThan(0);
  });
});
