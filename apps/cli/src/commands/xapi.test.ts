import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { startLab, type RunningLab } from '@xenkit/xapi-sim';
import { runCaptured } from '../test-helpers/capture.js';

let lab: RunningLab;
let dir: { path: string; cleanup: () => void };
let env: Record<string, string>;

beforeAll(async () => {
  lab = await startLab({ vms: 2, authFailureDelayMs: 0 });
  dir = tempDir();
  env = { XENKIT_URL: lab.url, XENKIT_USER: lab.user, XENKIT_PASSWORD: lab.password };
});
afterAll(async () => {
  await lab.close();
  dir.cleanup();
});

const xapi = (argv: string[], e: Record<string, string> = env) => runCaptured(['xapi', ...argv], { env: e });

describe('xenkit xapi (against the lab host)', () => {
  it('lists VMs with power state, PV/HVM, bootloader and args; --json has the same rows', async () => {
    const human = await xapi(['vms']);
    expect(human.status).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^NAME\s+POWER\s+TYPE\s+BOOTLOADER\s+PV_ARGS\s+UUID/);
    const json = await xapi(['vms', '--json']);
    const rows = JSON.parse(json.stdout) as Array<{ name_label: string; power_state: string; domain_type: string; uuid: string }>;
    expect(rows.map((r) => r.name_label)).toEqual(['lab-vm-1', 'lab-vm-2']);
    for (const r of rows) {
      expect(['Halted', 'Running', 'Paused', 'Suspended']).toContain(r.power_state);
      expect(['PV', 'HVM', 'PVH', 'PV-in-PVH']).toContain(r.domain_type);
      expect(human.stdout).toContain(r.uuid);
    }
  });

  it('lists hosts, SRs and VDIs, and shows one VM by name or uuid', async () => {
    const hosts = JSON.parse((await xapi(['hosts', '--json'])).stdout) as Array<{ api_version: string }>;
    expect(hosts).toHaveLength(1);
    expect(hosts[0]!.api_version).toMatch(/^\d+\.\d+$/);
    const srs = JSON.parse((await xapi(['srs', '--json'])).stdout) as Array<{ name_label: string; physical_size: number }>;
    expect(srs.map((s) => s.name_label)).toContain('Local storage');
    const vdis = JSON.parse((await xapi(['vdis', '--json', '--sr', 'Local storage'])).stdout) as Array<{ name_label: string; virtual_size: number }>;
    expect(vdis.find((v) => v.name_label === 'lab-vm-1 disk')?.virtual_size).toBe(2 ** 30);
    const byName = JSON.parse((await xapi(['vm', 'show', 'lab-vm-1', '--json'])).stdout) as { uuid: string; ref: string };
    const byUuid = JSON.parse((await xapi(['vm', 'show', byName.uuid, '--json'])).stdout) as { ref: string };
    expect(byUuid.ref).toBe(byName.ref);
    const missing = await xapi(['vm', 'show', 'no-such-vm']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^E_XAPI_NOT_FOUND: /);
  });

  it('imports a sparse raw image into a new VDI and exports it back identical', async () => {
    requireTools('truncate', 'dd');
    const image = join(dir.path, 'disk.raw');
    exec('truncate', ['-s', '16M', image]);
    writeFileSync(join(dir.path, 'data'), Buffer.alloc(300_000, 0x42));
    exec('dd', [`if=${join(dir.path, 'data')}`, `of=${image}`, 'bs=4096', 'seek=1000', 'conv=notrunc', 'status=none']);
    const imported = await xapi(['vdi', 'import', image, '--sr', 'Local storage', '--name', 'uploaded', '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    const result = JSON.parse(imported.stdout) as { uuid: string; virtual_size: number; sent: number };
    expect(result.virtual_size).toBe(16 * 2 ** 20);
    expect(result.sent).toBeLessThan(400_000);
    const out = join(dir.path, 'back.raw');
    const exported = await xapi(['vdi', 'export', result.uuid, out]);
    expect(exported.status).toBe(0);
    expect(exported.stdout).toMatch(/^exported VDI /);
    expect(readFileSync(out).equals(readFileSync(image))).toBe(true);
  });

  it('uploads a VHD made by qemu-img as VHD, and a qcow2 as its data only', async () => {
    requireTools('qemu-img', 'truncate', 'dd');
    const raw = join(dir.path, 'for-vhd.raw');
    exec('truncate', ['-s', '8M', raw]);
    writeFileSync(join(dir.path, 'data2'), Buffer.alloc(70_000, 0x37));
    exec('dd', [`if=${join(dir.path, 'data2')}`, `of=${raw}`, 'bs=4096', 'seek=300', 'conv=notrunc', 'status=none']);
    const vhd = join(dir.path, 'disk.vhd');
    exec('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', raw, vhd]);
    const imported = await xapi(['vdi', 'import', vhd, '--sr', 'Local storage', '--json']);
    expect(imported.status).toBe(0);
    const result = JSON.parse(imported.stdout) as { uuid: string; format: string; virtual_size: number };
    expect(result).toMatchObject({ format: 'vhd', virtual_size: 8 * 2 ** 20 });
    const out = join(dir.path, 'vhd-back.raw');
    expect((await xapi(['vdi', 'export', result.uuid, out])).status).toBe(0);
    expect(readFileSync(out).equals(readFileSync(raw))).toBe(true);
    const qcow = join(dir.path, 'disk.qcow2');
    exec('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
    const q = await xapi(['vdi', 'import', qcow, '--sr', 'Local storage', '--json']);
    expect(q.status).toBe(0);
    const qr = JSON.parse(q.stdout) as { uuid: string; format: string; virtual_size: number; sent: number };
    expect(qr).toMatchObject({ format: 'raw', virtual_size: 8 * 2 ** 20 });
    expect(qr.sent).toBeLessThan(200_000);
    const qout = join(dir.path, 'qcow-back.raw');
    expect((await xapi(['vdi', 'export', qr.uuid, qout])).status).toBe(0);
    expect(readFileSync(qout).equals(readFileSync(raw))).toBe(true);
    const broken = join(dir.path, 'broken.qcow2');
    writeFileSync(broken, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(600, 0xff)]));
    const refused = await xapi(['vdi', 'import', broken, '--sr', 'Local storage']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^E_[A-Z0-9_]+: .*broken\.qcow2/);
  });

  it('calls any method with JSON arguments and prints plain JSON', async () => {
    const vms = JSON.parse((await xapi(['vms', '--json'])).stdout) as Array<{ uuid: string }>;
    const ref = JSON.parse((await xapi(['call', 'VM.get_by_uuid', vms[0]!.uuid, '--json'])).stdout) as string;
    expect(ref).toMatch(/^OpaqueRef:/);
    const rec = JSON.parse((await xapi(['call', 'VM.get_record', ref, '--json'])).stdout) as { memory_static_max: number; uuid: string };
    expect(rec.uuid).toBe(vms[0]!.uuid);
    expect(typeof rec.memory_static_max).toBe('number');
    const bad = await xapi(['call', 'VM.get_record', 'OpaqueRef:nope']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^HANDLE_INVALID: /);
  });

  it('prints events as JSON lines', async () => {
    const r = await xapi(['events', '--class', 'vm', '--since', '', '--max', '2']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { class: string; operation: string });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.class === 'vm' && l.operation === 'add')).toBe(true);
  });

  it('passes name labels that look like JSON (2024, true, null) as strings; JSON only when it starts with { [ or "', async () => {
    const vms = JSON.parse((await xapi(['vms', '--json'])).stdout) as Array<{ uuid: string }>;
    const ref = JSON.parse((await xapi(['call', 'VM.get_by_uuid', vms[0]!.uuid, '--json'])).stdout) as string;
    for (const label of ['2024', 'true', 'null']) {
      const set = await xapi(['call', 'VM.set_name_label', ref, label]);
      expect(set.status, set.stderr).toBe(0);
      expect(JSON.parse((await xapi(['call', 'VM.get_name_label', ref, '--json'])).stdout)).toBe(label);
    }
    const quoted = await xapi(['call', 'VM.set_name_label', ref, '"lab-vm-1"']);
    expect(quoted.status, quoted.stderr).toBe(0);
    expect(JSON.parse((await xapi(['call', 'VM.get_name_label', ref, '--json'])).stdout)).toBe('lab-vm-1');
    const flags = await xapi(['call', '--json-args', 'VM.get_name_label', JSON.stringify(ref), '--json']);
    expect(JSON.parse(flags.stdout)).toBe('lab-vm-1');
    const broken = await xapi(['call', 'VM.set_name_label', ref, '{oops']);
    expect(broken.status).toBe(2);
  });

  it('refuses a --max that is not a positive whole number (exit 2)', async () => {
    for (const max of ['abc', '0', '-1', '1.5']) {
      const r = await xapi(['events', '--max', max]);
      expect(r.status, max).toBe(2);
      expect(r.stderr).toMatch(/^E_USAGE: --max/);
    }
  });

  it('ends events on Ctrl-C with exit 0 after printing what arrived', async () => {
    const run = xapi(['events', '--class', 'vm', '--since', '']);
    await new Promise((r) => setTimeout(r, 1500));
    process.emit('SIGINT');
    const r = await run;
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { class: string });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.class === 'vm')).toBe(true);
  });

  it('ends on Ctrl-C with exit 0 even while the first event.from is still waiting', async () => {
    // A host that logs in but never answers event.from: the interrupt lands inside the call.
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += String(c)));
      req.on('end', () => {
        const { method, id } = JSON.parse(body) as { method: string; id: number };
        if (method === 'event.from') return; // hangs until the client gives up
        const result = method === 'session.login_with_password' ? 'OpaqueRef:11111111-2222-3333-4444-555555555555' : method === 'host.get_all_records' ? {} : '';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', result, id }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const run = xapi(['events', '--transport', 'json-rpc'], { XENKIT_URL: url, XENKIT_PASSWORD: 'pw' });
      await new Promise((r) => setTimeout(r, 700));
      process.emit('SIGINT');
      const r = await run;
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('reads the password from --password-file, and says what is missing', async () => {
    const pw = join(dir.path, 'pw');
    writeFileSync(pw, `${lab.password}\n`);
    const ok = await xapi(['hosts', '--url', lab.url, '--password-file', pw], {});
    expect(ok.status).toBe(0);
    const noPassword = await xapi(['hosts', '--url', lab.url], {});
    expect(noPassword.status).toBe(2);
    expect(noPassword.stderr).toMatch(/^E_XAPI_NO_PASSWORD: /);
    const wrong = await xapi(['hosts'], { ...env, XENKIT_PASSWORD: 'wrong-password' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^SESSION_AUTHENTICATION_FAILED: /);
    expect(wrong.stderr).not.toContain('wrong-password');
  });
});

describe('xenkit xapi without a host: the embedded lab', () => {
  it('starts the lab in-process over a persistent state directory, so successive commands see one pool', async () => {
    const state = join(dir.path, 'embedded-lab');
    const first = await xapi(['vms', '--json'], { XENKIT_LAB_STATE: state });
    expect(first.status).toBe(0);
    const vms = JSON.parse(first.stdout) as Array<{ uuid: string; name_label: string }>;
    expect(vms.length).toBeGreaterThan(0);
    const second = await xapi(['vms', '--json'], { XENKIT_LAB_STATE: state });
    expect(second.status).toBe(0);
    expect((JSON.parse(second.stdout) as Array<{ uuid: string }>).map((v) => v.uuid)).toEqual(vms.map((v) => v.uuid));
    expect(existsSync(join(state, 'db.json'))).toBe(true);
  });
});

describe('xenkit xapi --fingerprint (against a TLS lab pool)', () => {
  let tlsLab: RunningLab;
  beforeAll(async () => {
    tlsLab = await startLab({ tls: true, hosts: 2, vms: 1, authFailureDelayMs: 0 });
  });
  afterAll(() => tlsLab.close());

  it('takes --fingerprint more than once, any listed one trusted, through HOST_IS_SLAVE', async () => {
    const base = { XENKIT_USER: tlsLab.user, XENKIT_PASSWORD: tlsLab.password };
    const another = 'AB'.repeat(32);
    // Each host has its own certificate: the member's pin opens it, the master's pin the one it redirects to.
    const pins = [tlsLab.fingerprints![1]!, another, tlsLab.fingerprint!].flatMap((f) => ['--fingerprint', f]);
    const r = await xapi(['hosts', '--json', '--url', tlsLab.urls[1]!, ...pins], base);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(2);
    const wrong = await xapi(['hosts', '--url', tlsLab.url, '--fingerprint', another], base);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^E_XAPI_TLS: /);
  });

  it('refuses --fingerprint with an http:// URL (exit 2) instead of sending the password in clear', async () => {
    const r = await xapi(['hosts', '--fingerprint', tlsLab.fingerprint!]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_XAPI_CONFIG: /);
  });
});
