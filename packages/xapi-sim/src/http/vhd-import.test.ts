// Importing a differencing VHD onto a VDI holding its parent: only the sectors the child's bitmaps
// mark may change. The expected disk is what libvhdi (pyvhdi) reads from the child over the parent.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVhd, exec, requireTools, sectorBitmap, tempDir } from '@xenkit/fixtures';
import { startLab, type RunningLab } from '../index.js';
import { caller, login } from '../test-helpers/rpc.js';

const MiB = 1024 * 1024;
const PY = '/usr/bin/python3'; // Debian's python with python3-libvhdi
const PYVHDI = `
import pyvhdi, sys
c = pyvhdi.file(); c.open(sys.argv[1])
p = pyvhdi.file(); p.open(sys.argv[2]); c.set_parent(p)
with open(sys.argv[3], 'wb') as out:
    out.write(c.read_buffer_at_offset(c.get_media_size(), 0))
`;

let lab: RunningLab;
let session: string;
let x: ReturnType<typeof caller>;
const tmp = tempDir('xenkit-lab-vhddiff-');
const p = (n: string) => join(tmp.path, n);
beforeAll(async () => {
  requireTools('qemu-img', 'qemu-io', PY);
  lab = await startLab({ authFailureDelayMs: 0, vms: 0 });
  session = await login(lab.url);
  x = caller(lab.url, session);
});
afterAll(async () => {
  await lab.close();
  tmp.cleanup();
});

describe('PUT /import_raw_vdi format=vhd, differencing', () => {
  it('writes only the sectors the bitmaps mark, keeping the parent data in the VDI', async () => {
    // The parent: a qemu-made VHD with data in both 2 MiB blocks.
    exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', p('parent.vhd'), '4M']);
    exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x5a 0 3M', '-c', 'write -P 0x6b 3M 1M', p('parent.vhd')]);
    exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', p('parent.vhd'), p('parent.raw')]);
    const parentFile = readFileSync(p('parent.vhd'));
    const pfoot = parentFile.subarray(parentFile.length - 512);
    const size = Number(pfoot.readBigUInt64BE(48));
    // The child stores a full block of 0xc3 but marks only some sectors; the rest must not land.
    // Runs end on a bitmap byte boundary: libvhdi 20210425 extends a run to the end of its byte.
    const child = buildVhd({
      size,
      uuid: randomBytes(16),
      parent: { uuid: Buffer.from(pfoot.subarray(68, 84)), name: 'parent.vhd', locators: [] },
      blocks: [
        { index: 0, bitmap: sectorBitmap([[1, 8], [100, 296]]), data: Buffer.alloc(2 * MiB, 0xc3) },
        { index: 1, bitmap: sectorBitmap([]), data: Buffer.alloc(2 * MiB, 0xd4) },
      ],
    });
    writeFileSync(p('child.vhd'), child);
    exec(PY, ['-c', PYVHDI, p('child.vhd'), p('parent.vhd'), p('merged.raw')]);
    const expected = readFileSync(p('merged.raw'));

    const [sr] = await x.call<string[]>('SR.get_all');
    const vdi = await x.call<string>('VDI.create', { SR: sr, name_label: 'base', virtual_size: size, type: 'user' });
    const base = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}&format=raw`, { method: 'PUT', body: readFileSync(p('parent.raw')) });
    expect(base.status).toBe(200);
    await base.arrayBuffer();
    const put = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}&format=vhd`, { method: 'PUT', body: child });
    expect(put.status).toBe(200);
    await put.arrayBuffer();
    const task = put.headers.get('task-id') as string;
    let status = 'pending';
    for (let i = 0; i < 200 && status === 'pending'; i++) {
      status = await x.call<string>('task.get_status', task);
      if (status === 'pending') await new Promise((ok) => setTimeout(ok, 20));
    }
    expect(status, JSON.stringify(await x.call('task.get_error_info', task))).toBe('success');
    const r = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${vdi}&format=raw`);
    const got = Buffer.from(await r.arrayBuffer());
    expect(got.length).toBe(expected.length);
    // Sanity of the expectation itself: sector 1 is the child's, sector 0 and block 1 the parent's.
    expect([expected[0], expected[512], expected[3 * MiB]]).toEqual([0x5a, 0xc3, 0x6b]);
    const diff = got.findIndex((b, i) => b !== expected[i]);
    expect(diff, `first difference at byte ${diff}: ${got[diff]} vs ${expected[diff]}`).toBe(-1);
  });

  it('fails the task with VDI_IO_ERROR for a VHD whose BAT points past its end, leaving the VDI as it was', async () => {
    const [sr] = await x.call<string[]>('SR.get_all');
    const size = 4 * MiB;
    const vdi = await x.call<string>('VDI.create', { SR: sr, name_label: 'victim', virtual_size: size, type: 'user' });
    const before = Buffer.alloc(size, 0x11);
    await (await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}`, { method: 'PUT', body: before })).arrayBuffer();
    exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', p('bad.vhd'), '4M']);
    exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x22 0 4M', p('bad.vhd')]);
    const bad = readFileSync(p('bad.vhd'));
    const batAt = Number(bad.readBigUInt64BE(512 + 16));
    bad.writeUInt32BE(0x7fffff00, batAt + 4); // block 1 far beyond EOF
    const put = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}&format=vhd`, { method: 'PUT', body: bad });
    await put.arrayBuffer();
    const task = put.headers.get('task-id') as string;
    let rec = await x.call<{ status: string; error_info: string[] }>('task.get_record', task);
    for (let i = 0; i < 200 && rec.status === 'pending'; i++) {
      await new Promise((ok) => setTimeout(ok, 20));
      rec = await x.call('task.get_record', task);
    }
    expect(rec.status).toBe('failure');
    expect(rec.error_info[0]).toBe('VDI_IO_ERROR');
    const r = await fetch(`${lab.url}/export_raw_vdi?session_id=${session}&vdi=${vdi}&format=raw`);
    expect(Buffer.from(await r.arrayBuffer()).equals(before)).toBe(true);
  });
});
