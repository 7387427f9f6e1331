// The client against the lab host (packages/xapi-sim), a wire-faithful XAPI written independently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '@xenkit/xapi-sim';
import type { Logger } from '@xenkit/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource } from '@xenkit/disk';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { connect, isXapiError, type EventRecord, type VMRecord } from './index.js';

let pool: RunningLab;
beforeAll(async () => {
  pool = await startLab({ hosts: 2, vms: 2, authFailureDelayMs: 0 });
});
afterAll(() => pool.close());

describe('against the lab host', () => {
  it('reads the same typed records over JSON-RPC and XML-RPC', async () => {
    const json = await connect({ url: pool.url, user: pool.user, password: pool.password, transport: 'json-rpc' });
    const xml = await connect({ url: pool.url, user: pool.user, password: pool.password, transport: 'xml-rpc' });
    try {
      const a = await json.VM.get_all_records();
      const b = await xml.VM.get_all_records();
      expect(Object.keys(a).length).toBeGreaterThan(2);
      expect(b).toEqual(a);
      const vm = Object.values(a).find((v: VMRecord) => v.name_label === 'lab-vm-1')!;
      expect(typeof vm.memory_static_max).toBe('bigint');
      expect(vm.memory_static_max).toBeGreaterThan(0n);
      expect(await xml.call('system.listMethods')).toContain('VM.start');
    } finally {
      await json.close();
      await xml.close();
    }
  });

  it('follows HOST_IS_SLAVE from a pool member to the master', async () => {
    const member = pool.urls[1]!;
    const c = await connect({ url: member, user: pool.user, password: pool.password });
    try {
      expect(c.url).toBe(new URL(pool.url).href);
      expect(Object.keys(await c.host.get_all_records())).toHaveLength(2);
    } finally {
      await c.close();
    }
  });

  it('runs an Async call through its task and maps a failing one to XapiError', async () => {
    const c = await connect({ url: pool.url, user: pool.user, password: pool.password, timeouts: { eventWait: 2 } });
    try {
      const [vm] = await c.VM.get_by_name_label('lab-vm-1');
      const state = await c.VM.get_power_state(vm!);
      if (state !== 'Halted') await c.callAsync('VM.hard_shutdown', vm!);
      const progress: number[] = [];
      await c.callAsync('VM.start', vm!, false, false, { onProgress: (p) => progress.push(p) });
      expect(await c.VM.get_power_state(vm!)).toBe('Running');
      const again = await c.callAsync('VM.start', vm!, false, false).catch((e: unknown) => e);
      expect(isXapiError(again, 'VM_BAD_POWER_STATE')).toBe(true);
      await c.callAsync('VM.hard_shutdown', vm!);
      const clone = await c.callAsync('VM.clone', vm!, 'lab-vm-1 copy');
      expect(String(clone)).toMatch(/^OpaqueRef:/);
      expect(await c.VM.get_name_label(clone as never)).toBe('lab-vm-1 copy');
    } finally {
      await c.close();
    }
  });

  it('streams events and resumes from its token in a new stream', async () => {
    const c = await connect({ url: pool.url, user: pool.user, password: pool.password, timeouts: { eventWait: 1 } });
    try {
      const ac = new AbortController();
      const first = c.events({ classes: ['vm'], token: 'now', signal: ac.signal });
      const [vm] = await c.VM.get_by_name_label('lab-vm-2');
      const it = first[Symbol.asyncIterator]();
      const pending = it.next();
      await new Promise((r) => setTimeout(r, 100));
      await c.VM.set_name_description(vm!, 'first');
      expect((await pending).value).toMatchObject({ class: 'vm', operation: 'mod', ref: vm });
      const token = first.token;
      ac.abort();
      await c.VM.set_name_description(vm!, 'while away');
      const ac2 = new AbortController();
      const again = c.events({ classes: ['vm'], token, signal: ac2.signal })[Symbol.asyncIterator]();
      const next = (await again.next()).value;
      expect(next).toMatchObject({ operation: 'mod', ref: vm, snapshot: { name_description: 'while away' } });
      ac2.abort();
    } finally {
      await c.close();
    }
  });

  it('over HTTPS with a pinned fingerprint: calls and VDI transfers, and refuses a wrong pin', async () => {
    requireTools('openssl');
    const secure = await startLab({ tls: true, vms: 0, authFailureDelayMs: 0 });
    const dir = tempDir();
    try {
      await expect(connect({ url: secure.url, user: secure.user, password: secure.password, retry: { attempts: 1 } })).rejects.toMatchObject({
        code: 'E_XAPI_TLS',
      });
      const c = await connect({ url: secure.url, user: secure.user, password: secure.password, tls: { fingerprint: secure.fingerprint! } });
      try {
        const [sr] = await c.SR.get_by_name_label('Local storage');
        const image = Buffer.alloc(1 << 20);
        image.fill(0x61, 4096, 9000);
        const vdi = await c.VDI.create({ SR: sr!, name_label: 'tls', virtual_size: BigInt(image.length), type: 'user', sharable: false, read_only: false, other_config: {} });
        await c.importVdi({ vdi, source: new BufferSource(image) });
        const out = join(dir.path, 'out.raw');
        await c.exportVdi({ vdi, file: out });
        expect(readFileSync(out).equals(image)).toBe(true);
      } finally {
        await c.close();
      }
    } finally {
      dir.cleanup();
      await secure.close();
    }
  });

  it('logs in again when its session is logged out from another connection mid-run', async () => {
    const c = await connect({ url: pool.url, user: pool.user, password: pool.password, transport: 'json-rpc' });
    try {
      const before = await c.VM.get_all();
      const ref = await c.connection.sessionRef();
      const other = await fetch(`${pool.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'session.logout', params: [ref], id: 1 }),
      });
      expect(await other.json()).toMatchObject({ result: '' });
      const stale = await fetch(`${pool.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_all', params: [ref], id: 2 }),
      });
      expect(JSON.stringify(await stale.json())).toContain('SESSION_INVALID');
      expect(await c.VM.get_all()).toEqual(before);
      expect(await c.connection.sessionRef()).not.toBe(ref);
    } finally {
      await c.close();
    }
  });

  it('follows the 302 an import gets to the member whose local SR holds the VDI', async () => {
    const redirects: string[] = [];
    const note = (_o: unknown, msg?: string) => void (msg?.endsWith('redirected') && redirects.push(msg));
    const logger: Logger = { trace: note, debug: note, info: note, warn: note, error: note, child: () => logger };
    const c = await connect({ url: pool.url, user: pool.user, password: pool.password, timeouts: { eventWait: 1 }, logger });
    const dir = tempDir();
    try {
      const [thePool] = await c.pool.get_all();
      const masterHost = await c.pool.get_master(thePool!);
      expect(await c.host.get_address(masterHost)).toBe(new URL(pool.url).hostname);
      let memberSr: string | undefined;
      for (const [ref, sr] of Object.entries(await c.SR.get_all_records())) {
        if (sr.shared || sr.PBDs.length !== 1) continue;
        if ((await c.PBD.get_host(sr.PBDs[0]!)) !== masterHost) memberSr = ref;
      }
      expect(memberSr).toBeDefined();
      const image = Buffer.alloc(1 << 20);
      image.fill(0x33, 65536, 70000);
      const vdi = await c.VDI.create({ SR: memberSr as never, name_label: 'moved', virtual_size: BigInt(image.length), type: 'user', sharable: false, read_only: false, other_config: {} });
      await c.importVdi({ vdi, source: new BufferSource(image) });
      const out = join(dir.path, 'back.raw');
      await c.exportVdi({ vdi, file: out });
      expect(readFileSync(out).equals(image)).toBe(true);
      expect(redirects).toEqual(['/import_raw_vdi redirected', '/export_raw_vdi redirected']);
    } finally {
      dir.cleanup();
      await c.close();
    }
  });
});

describe('against a lab host that restarts (same port, same state directory)', () => {
  it('keeps following events across the restart', async () => {
    const dir = tempDir();
    let lab = await startLab({ stateDir: dir.path, vms: 1, authFailureDelayMs: 0 });
    const port = Number(new URL(lab.url).port);
    const c = await connect({ url: lab.url, user: lab.user, password: lab.password, retry: { attempts: 8, delayMs: 50 }, timeouts: { eventWait: 1 } });
    const ac = new AbortController();
    try {
      const [vm] = await c.VM.get_by_name_label('lab-vm-1');
      const resyncs: string[] = [];
      const it = c.events({ classes: ['vm'], token: 'now', signal: ac.signal, onResync: (r) => resyncs.push(r) })[Symbol.asyncIterator]();
      const wanted = async (description: string): Promise<EventRecord> => {
        for (;;) {
          const r = await it.next();
          if (r.done) throw new Error('the event stream ended');
          const snap = r.value.snapshot as { name_description?: string } | undefined;
          if (r.value.ref === vm && snap?.name_description === description) return r.value;
        }
      };
      const first = wanted('before');
      await new Promise((r) => setTimeout(r, 100));
      await c.VM.set_name_description(vm!, 'before');
      await first;
      const second = wanted('after restart');
      await lab.close();
      lab = await startLab({ stateDir: dir.path, port, vms: 1, authFailureDelayMs: 0 });
      await c.VM.set_name_description(vm!, 'after restart');
      expect((await second).ref).toBe(vm);
      // the lab keeps its event counter in db.json, as XAPI keeps it in its database: the old token stays valid
      expect(resyncs).toEqual([]);
    } finally {
      ac.abort();
      await c.close();
      await lab.close();
      dir.cleanup();
    }
  });
});
