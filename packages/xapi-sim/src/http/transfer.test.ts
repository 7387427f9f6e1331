import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { startLab, type RunningLab } from '../index.js';
import { caller, login } from '../test-helpers/rpc.js';

const MiB = 1024 * 1024;
let lab: RunningLab;
let session: string;
let x: ReturnType<typeof caller>;
const tmp = tempDir('xenkit-lab-transfer-');
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 10, vms: 1, hosts: 2 });
  session = await login(lab.url);
  x = caller(lab.url, session);
});
afterAll(async () => {
  await lab.close();
  tmp.cleanup();
});

/** 8 MiB with data in a few scattered places, so sparse handling matters. */
function pattern(size = 8 * MiB): Buffer {
  const b = Buffer.alloc(size);
  for (const at of [0, Math.floor(size / 3) + 512, size - 4096]) b.write(`xenkit lab block at ${at}`, at);
  return b;
}

async function newVdi(srIndex = 0, size = 8 * MiB): Promise<{ ref: string; uuid: string }> {
  const srs = await x.call<string[]>('SR.get_all');
  const ref = await x.call<string>('VDI.create', { SR: srs[srIndex], name_label: 't', virtual_size: size, type: 'user' });
  return { ref, uuid: await x.call<string>('VDI.get_uuid', ref) };
}

async function exportRaw(vdi: string): Promise<Buffer> {
  const r = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${vdi}&format=raw`);
  expect(r.status).toBe(200);
  expect(r.headers.get('task-id')).toMatch(/^OpaqueRef:/);
  return Buffer.from(await r.arrayBuffer());
}

async function taskResult(task: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const rec = await x.call<Record<string, unknown>>('task.get_record', task);
    if (rec.status !== 'pending') return rec;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('task still pending');
}

describe('/import_raw_vdi and /export_raw_vdi', () => {
  it('imports raw with curl and HTTP Basic auth (by VDI uuid), refusing bad credentials', async () => {
    requireTools('curl');
    const data = pattern();
    const file = join(tmp.path, 'in.raw');
    writeFileSync(file, data);
    const { ref, uuid } = await newVdi();
    const host = new URL(lab.url).host;
    const bad = await execAsync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, `http://root:wrong@${host}/import_raw_vdi?vdi=${uuid}`]);
    expect(bad.stdout).toBe('401');
    const ok = await execAsync('curl', ['-sS', '-D', '-', '-T', file, `http://root:xenkit@${host}/import_raw_vdi?vdi=${uuid}&format=raw`]);
    const task = /task-id: (OpaqueRef:\S+)/i.exec(ok.stdout)?.[1] as string;
    expect((await taskResult(task)).result).toBe(`<value>${ref}</value>`);
    expect((await exportRaw(ref)).equals(data)).toBe(true);
    expect(await x.call<number>('VDI.get_physical_utilisation', ref)).toBeLessThan(data.length);
  });

  it('round-trips VHD made and read by qemu-img', async () => {
    requireTools('qemu-img');
    const data = pattern();
    writeFileSync(join(tmp.path, 'src.raw'), data);
    exec('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', join(tmp.path, 'src.raw'), join(tmp.path, 'src.vhd')]);
    const vhd = readFileSync(join(tmp.path, 'src.vhd'));
    const { ref } = await newVdi();
    const task = await x.call<string>('task.create', 'vhd import', '');
    const r = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${ref}&format=vhd&task_id=${task}`, { method: 'PUT', body: vhd });
    expect(r.status).toBe(200);
    expect(r.headers.get('task-id')).toBe(task);
    expect((await taskResult(task)).status).toBe('success');
    expect((await exportRaw(ref)).equals(data)).toBe(true);

    const out = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${ref}&format=vhd`);
    expect(out.headers.get('content-type')).toBe('application/vhd');
    writeFileSync(join(tmp.path, 'out.vhd'), Buffer.from(await out.arrayBuffer()));
    const info = JSON.parse(exec('qemu-img', ['info', '--output=json', join(tmp.path, 'out.vhd')]).stdout) as { format: string; 'virtual-size': number };
    expect(info).toMatchObject({ format: 'vpc', 'virtual-size': 8 * MiB });
    exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', join(tmp.path, 'out.vhd'), join(tmp.path, 'back.raw')]);
    expect(readFileSync(join(tmp.path, 'back.raw')).equals(data)).toBe(true);
  });

  it('exports a differential VHD against base= (only changed blocks), readable by qemu-img', async () => {
    requireTools('qemu-img');
    const { ref } = await newVdi();
    // The 200 comes before the body is consumed (as in xapi): the task says when the import is done.
    const put = async (body: Buffer) => {
      const r = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${ref}`, { method: 'PUT', body });
      expect((await taskResult(r.headers.get('task-id') as string)).status).toBe('success');
    };
    await put(pattern());
    const snap = await x.call<string>('VDI.snapshot', ref, {});
    const changed = pattern();
    changed.write('changed after the snapshot', 5 * MiB);
    await put(changed);
    const r = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${ref}&format=vhd&base=${snap}`);
    const delta = Buffer.from(await r.arrayBuffer());
    // footer copy + dynamic header + one BAT sector + one 2 MiB block (with its bitmap) + footer
    expect(delta.length).toBe(512 + 1024 + 512 + 512 + 2 * MiB + 512);
    writeFileSync(join(tmp.path, 'delta.vhd'), delta);
    exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', join(tmp.path, 'delta.vhd'), join(tmp.path, 'delta.raw')]);
    const back = readFileSync(join(tmp.path, 'delta.raw'));
    expect(back.subarray(4 * MiB, 6 * MiB).equals(changed.subarray(4 * MiB, 6 * MiB))).toBe(true);
    expect(back.subarray(0, 4 * MiB).every((b) => b === 0)).toBe(true);
    const missing = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${ref}&format=vhd&base=OpaqueRef:gone`);
    expect(missing.status).toBe(404);
  });

  it("accepts xapi's chunked raw framing", async () => {
    const { ref } = await newVdi();
    const frame = (offset: number, payload: Buffer) => {
      const h = Buffer.alloc(12);
      h.writeBigUInt64LE(BigInt(offset), 0);
      h.writeUInt32LE(payload.length, 8);
      return Buffer.concat([h, payload]);
    };
    const body = Buffer.concat([frame(MiB, Buffer.from('first')), frame(5 * MiB, Buffer.from('second')), Buffer.alloc(12)]);
    const r = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${ref}&chunked=true`, { method: 'PUT', body });
    expect(r.status).toBe(200);
    expect((await taskResult(r.headers.get('task-id') as string)).status).toBe('success');
    const back = await exportRaw(ref);
    expect(back.toString('latin1', MiB, MiB + 5)).toBe('first');
    expect(back.toString('latin1', 5 * MiB, 5 * MiB + 6)).toBe('second');
  });

  it('refuses chunked transfer encoding (404) and a missing Content-Length (411)', async () => {
    const { ref } = await newVdi();
    const { hostname, port } = new URL(lab.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ hostname, port, method: 'PUT', path: `/import_raw_vdi?session_id=${session}&vdi=${ref}`, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode as number);
      });
      req.on('error', reject);
      req.end('abc');
    });
    expect(status).toBe(404);
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), hostname, () => sock.end(`PUT /import_raw_vdi?session_id=${session}&vdi=${ref} HTTP/1.0\r\n\r\n`));
      let text = '';
      sock.on('data', (c) => (text += String(c)));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 411/);
  });

  it('fails the task with VDI_IO_ERROR when the upload is cut short', async () => {
    const { ref } = await newVdi();
    const { hostname, port } = new URL(lab.url);
    const task = await x.call<string>('task.create', 'cut', '');
    await new Promise<void>((resolve) => {
      const sock = connect(Number(port), hostname, () => {
        sock.write(`PUT /import_raw_vdi?session_id=${session}&vdi=${ref}&task_id=${task} HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
        sock.end(Buffer.alloc(1000, 1));
      });
      sock.on('close', () => resolve());
      sock.resume();
    });
    expect(await taskResult(task)).toMatchObject({ status: 'failure', error_info: ['VDI_IO_ERROR', 'Device I/O errors'] });
  });

  it('redirects (302) to the host that sees a local SR; curl -L follows it', async () => {
    requireTools('curl');
    const { ref, uuid } = await newVdi(1, MiB);
    const file = join(tmp.path, 'small.raw');
    writeFileSync(file, pattern(MiB));
    const first = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${uuid}`, { redirect: 'manual' });
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe(`${lab.urls[1]}/export_raw_vdi?session_id=${session}&vdi=${uuid}`);
    await execAsync('curl', ['-sSfL', '-T', file, `${lab.url}/import_raw_vdi?session_id=${session}&vdi=${ref}`]);
    const back = await fetch(`${lab.urls[1]}/export_raw_vdi?session_id=${session}&vdi=${ref}`);
    expect(Buffer.from(await back.arrayBuffer()).equals(pattern(MiB))).toBe(true);
  });
});

describe('/export and /import (XVA)', () => {
  it('round-trips a VM with its disk; tar reads the archive', async () => {
    requireTools('curl', 'tar');
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
    const vm = await x.call<string>('VM.clone', tpl, 'exported');
    const vmUuid = await x.call<string>('VM.get_uuid', vm);
    const { ref: vdi } = await newVdi(0, 4 * MiB);
    await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk' });
    const data = pattern(2 * MiB);
    const put = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}`, { method: 'PUT', body: data });
    expect((await taskResult(put.headers.get('task-id') as string)).status).toBe('success');
    const xva = join(tmp.path, 'vm.xva');
    const host = new URL(lab.url).host;
    await execAsync('curl', ['-sSf', '-o', xva, `http://root:xenkit@${host}/export?uuid=${vmUuid}`]);
    const listing = exec('tar', ['-tf', xva]).stdout.split('\n');
    expect(listing[0]).toBe('ova.xml');
    expect(listing).toContain(`${vdi.replace('OpaqueRef:', 'Ref:')}/00000000`);

    const task = await x.call<string>('task.create', 'import', '');
    await execAsync('curl', ['-sSf', '-T', xva, `${lab.url}/import?session_id=${session}&task_id=${task}`]);
    const result = (await taskResult(task)).result as string;
    const imported = /OpaqueRef:[0-9a-f-]{36}/.exec(result)?.[0] as string;
    expect(imported).not.toBe(vm);
    expect(await x.call('VM.get_name_label', imported)).toBe('exported');
    const [newVbd] = await x.call<string[]>('VM.get_VBDs', imported);
    const copyVdi = await x.call<string>('VBD.get_VDI', newVbd);
    expect(await x.call('VDI.get_virtual_size', copyVdi)).toBe(await x.call('VDI.get_virtual_size', vdi));
    expect((await exportRaw(copyVdi)).subarray(0, data.length).equals(data)).toBe(true);
  });
});
