// Hostile XVA archives, built with GNU tar from a real export: each must fail the import task with
// IMPORT_ERROR and leave no VM, VDI or grown file behind.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { startLab, type RunningLab } from '../index.js';
import { caller, login } from '../test-helpers/rpc.js';

const MiB = 1024 * 1024;
let lab: RunningLab;
let session: string;
let x: ReturnType<typeof caller>;
let src: { dir: string; chunk: string; vdiRef: string };
const tmp = tempDir('xenkit-lab-xva-');

beforeAll(async () => {
  requireTools('tar');
  lab = await startLab({ authFailureDelayMs: 10, vms: 0 });
  session = await login(lab.url);
  x = caller(lab.url, session);
  const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
  const vm = await x.call<string>('VM.clone', tpl, 'xva-source');
  const [sr] = await x.call<string[]>('SR.get_all');
  const vdi = await x.call<string>('VDI.create', { SR: sr, name_label: 'd', virtual_size: MiB, type: 'user' });
  await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk' });
  const data = Buffer.alloc(MiB, 0x5a);
  const put = await fetch(`${lab.url}/import_raw_vdi?session_id=${session}&vdi=${vdi}`, { method: 'PUT', body: data });
  expect(put.status).toBe(200);
  const r = await fetch(`${lab.url}/export?session_id=${session}&ref=${vm}`);
  const dir = join(tmp.path, 'src');
  writeFileSync(`${dir}.xva`, Buffer.from(await r.arrayBuffer()));
  exec('mkdir', ['-p', dir]);
  exec('tar', ['-xf', `${dir}.xva`, '-C', dir]);
  const ref = readdirSync(dir).find((n) => n.startsWith('Ref:')) as string;
  src = { dir, chunk: `${ref}/00000000`, vdiRef: `OpaqueRef:${ref.slice(4)}` };
});
afterAll(async () => {
  await lab.close();
  tmp.cleanup();
});

let seq = 0;
/** Pack `members` (paths under dir, in this order) with GNU tar. */
function pack(dir: string, members: string[]): Buffer {
  const out = join(tmp.path, `t${seq++}.xva`);
  exec('tar', ['--format=ustar', '-cf', out, '-C', dir, ...members]);
  return readFileSync(out);
}

/** A copy of the exported tree to damage. */
function tree(): string {
  const dir = join(tmp.path, `d${seq++}`);
  exec('cp', ['-r', src.dir, dir]);
  return dir;
}

async function importXva(body: Buffer): Promise<{ status: string; error: string[]; result: string }> {
  const task = await x.call<string>('task.create', 'import', '');
  const r = await fetch(`${lab.url}/import?session_id=${session}&task_id=${task}`, { method: 'PUT', body });
  await r.arrayBuffer();
  for (let i = 0; i < 200; i++) {
    const rec = await x.call<{ status: string; error_info: string[]; result: string }>('task.get_record', task);
    if (rec.status !== 'pending') return { status: rec.status, error: rec.error_info, result: rec.result };
    await new Promise((ok) => setTimeout(ok, 20));
  }
  throw new Error('import task still pending');
}

async function counts() {
  return {
    VM: (await x.call<string[]>('VM.get_all')).length,
    VDI: (await x.call<string[]>('VDI.get_all')).length,
    VBD: (await x.call<string[]>('VBD.get_all')).length,
    VIF: (await x.call<string[]>('VIF.get_all')).length,
  };
}

async function expectRefused(body: Buffer, why: RegExp): Promise<void> {
  const before = await counts();
  const r = await importXva(body);
  expect(r.status).toBe('failure');
  expect(r.error[0]).toBe('IMPORT_ERROR');
  expect(r.error[1]).toMatch(why);
  expect(await counts()).toEqual(before);
  // No VDI file of the failed import survives (each lives as <uuid> under the lab's vdis dir).
  const vdiFiles = readdirSync(join(lab.stateDir, 'vdis'));
  expect(vdiFiles.length).toBe(before.VDI);
}

describe('PUT /import refuses hostile XVA archives', () => {
  it('imports the untouched archive (control)', async () => {
    const body = pack(src.dir, ['ova.xml', src.chunk, `${src.chunk}.checksum`]);
    const r = await importXva(body);
    expect(r.status).toBe('success');
  });

  it('refuses a chunk beyond the virtual size without growing the file', async () => {
    const dir = tree();
    const far = src.chunk.replace(/00000000$/, '00002000');
    exec('cp', [join(dir, src.chunk), join(dir, far)]);
    exec('cp', [join(dir, `${src.chunk}.checksum`), join(dir, `${far}.checksum`)]);
    await expectRefused(pack(dir, ['ova.xml', src.chunk, `${src.chunk}.checksum`, far, `${far}.checksum`]), /beyond the disk's virtual size/);
    const dir2 = join(lab.stateDir, 'vdis');
    for (const f of readdirSync(dir2)) expect(statSync(join(dir2, f)).size).toBeLessThanOrEqual(64 * MiB);
  });

  it('refuses oversized chunk and checksum members', async () => {
    const dir = tree();
    writeFileSync(join(dir, src.chunk), Buffer.alloc(MiB + 512, 1));
    await expectRefused(pack(dir, ['ova.xml', src.chunk]), /disk chunks are at most/);
    const dir2 = tree();
    writeFileSync(join(dir2, `${src.chunk}.checksum`), 'f'.repeat(4096));
    await expectRefused(pack(dir2, ['ova.xml', src.chunk, `${src.chunk}.checksum`]), /a SHA-1 checksum is 40/);
  });

  it('verifies each chunk against its .checksum and rolls back', async () => {
    const dir = tree();
    writeFileSync(join(dir, `${src.chunk}.checksum`), '0'.repeat(40));
    await expectRefused(pack(dir, ['ova.xml', src.chunk, `${src.chunk}.checksum`]), /checksum mismatch/);
  });

  it('refuses a second ova.xml', async () => {
    const dir = tree();
    exec('mkdir', [join(dir, 'again')]);
    exec('cp', [join(dir, 'ova.xml'), join(dir, 'again', 'ova.xml')]);
    const first = pack(dir, ['ova.xml', src.chunk, `${src.chunk}.checksum`]);
    // Append a second member literally named ova.xml after the first archive's members.
    const second = pack(join(dir, 'again'), ['ova.xml']);
    const body = Buffer.concat([first.subarray(0, endOfMembers(first)), second]);
    await expectRefused(body, /second ova.xml/);
  });

  it('fails a truncated archive and leaves nothing behind', async () => {
    const body = pack(src.dir, ['ova.xml', src.chunk, `${src.chunk}.checksum`]);
    await expectRefused(body.subarray(0, 512 * 4 + MiB / 2), /truncated/);
  });
});

/** Offset of the two zero blocks that end a tar archive. */
function endOfMembers(tar: Buffer): number {
  let off = 0;
  while (off + 512 <= tar.length && tar.subarray(off, off + 512).some((b) => b !== 0)) {
    const size = parseInt(tar.toString('latin1', off + 124, off + 136).replace(/\0.*$/s, '').trim() || '0', 8);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return off;
}
