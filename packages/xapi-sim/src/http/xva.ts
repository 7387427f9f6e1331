// GET /export and PUT /import: an XVA (tar of ova.xml + 1 MiB `Ref:<id>/<n>` disk chunks with
// `.checksum` files) — enough to round-trip a VM with its disks and NICs through the lab.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lab } from '../api/context.js';
import { coerceRecord } from '../api/coerce.js';
import { createVdi, destroyVdi, refreshUtilisation, vdiPath } from '../api/storage.js';
import { completeTask } from '../api/tasks.js';
import { createVm } from '../api/vm.js';
import { XapiFailure } from '../wire/failure.js';
import { isStruct, NULL_REF, type Struct, type Value } from '../wire/values.js';
import { parseValueDocument, valueToXml } from '../wire/xml.js';
import { arg, authenticate, endSession, unauthorized } from './auth.js';
import { isZero, StreamReader } from './stream.js';

const CHUNK = 1 << 20;
// ova.xml for one VM with its disks is a few tens of KiB; 16 MiB leaves room for huge other_config maps.
const MAX_OVA_XML = 16 << 20;
// A checksum member holds 40 hex digits; allow trailing whitespace, nothing like a disk chunk.
const MAX_CHECKSUM = 64;

// ustar header: 0 name(100) 100 mode(8) 108 uid(8) 116 gid(8) 124 size(12) 136 mtime(12)
// 148 chksum(8) 156 typeflag 157 linkname(100) 257 "ustar\0" 263 "00" …
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const pad512 = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

export async function exportXva(lab: Lab, hostRef: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const ctx = authenticate(lab, hostRef, req, url, 'VM export');
  if (!ctx) return unauthorized(res);
  try {
    const given = arg(req, url, 'ref') ?? arg(req, url, 'uuid') ?? '';
    const vm = lab.store.refOf('VM', given);
    if (!vm) {
      completeTask(lab, ctx.task, new XapiFailure('HANDLE_INVALID', ['VM', given]));
      res.writeHead(404, { 'task-id': ctx.task, connection: 'close' });
      return void res.end();
    }
    const rec = lab.store.require('VM', vm);
    const objects: Value[] = [{ class: 'VM', id: vm, snapshot: rec }];
    const disks: string[] = [];
    for (const vbd of rec.VBDs as string[]) {
      const b = lab.store.require('VBD', vbd);
      objects.push({ class: 'VBD', id: vbd, snapshot: b });
      if (b.VDI !== NULL_REF && b.type !== 'CD') {
        disks.push(b.VDI as string);
        objects.push({ class: 'VDI', id: b.VDI as string, snapshot: lab.store.require('VDI', b.VDI as string) });
      }
    }
    for (const vif of rec.VIFs as string[]) objects.push({ class: 'VIF', id: vif, snapshot: lab.store.require('VIF', vif) });
    const ova = Buffer.from(valueToXml({ version: { hostname: 'xenkit-lab', xapi_major: 1n, xapi_minor: 21n, export_vsn: 2n }, objects }));
    res.writeHead(200, { 'task-id': ctx.task, 'content-type': 'application/x-tar', connection: 'close' });
    const write = (b: Buffer) => new Promise<void>((ok, ko) => res.write(b, (e) => (e ? ko(e) : ok())));
    await write(Buffer.concat([tarHeader('ova.xml', ova.length), ova, pad512(ova.length)]));
    for (const vdi of disks) {
      const size = Number(lab.store.require('VDI', vdi).virtual_size as bigint);
      const file = await open(vdiPath(lab, vdi), 'r');
      try {
        const last = Math.max(0, Math.ceil(size / CHUNK) - 1);
        for (let i = 0; i <= last; i++) {
          const buf = Buffer.alloc(Math.min(CHUNK, size - i * CHUNK));
          await file.read(buf, 0, buf.length, i * CHUNK);
          // Like xapi, zero chunks are left out except the first and last, which pin the size.
          if (i !== 0 && i !== last && isZero(buf)) continue;
          const name = `${vdi.replace('OpaqueRef:', 'Ref:')}/${String(i).padStart(8, '0')}`;
          const sum = Buffer.from(createHash('sha1').update(buf).digest('hex'));
          await write(Buffer.concat([tarHeader(name, buf.length), buf, pad512(buf.length)]));
          await write(Buffer.concat([tarHeader(`${name}.checksum`, sum.length), sum, pad512(sum.length)]));
        }
      } finally {
        await file.close();
      }
    }
    await write(Buffer.alloc(1024));
    completeTask(lab, ctx.task, { value: '', void: true });
    res.end();
  } finally {
    endSession(lab, ctx);
  }
}

export async function importXva(lab: Lab, hostRef: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.headers['transfer-encoding'] !== undefined) {
    res.writeHead(404, { connection: 'close' });
    return void res.end();
  }
  const ctx = authenticate(lab, hostRef, req, url, 'VM import');
  if (!ctx) return unauthorized(res);
  res.writeHead(200, { 'task-id': ctx.task, connection: 'close' });
  res.flushHeaders();
  try {
    const srArg = arg(req, url, 'sr_id');
    const sr = srArg && lab.store.get('SR', srArg) ? srArg : (lab.store.require('pool', lab.poolRef).default_SR as string);
    if (!lab.store.get('SR', sr)) throw new XapiFailure('DEFAULT_SR_NOT_FOUND', [sr]);
    const vm = await readXva(lab, new StreamReader(req), sr);
    completeTask(lab, ctx.task, { value: [vm], void: false });
  } catch (e) {
    completeTask(lab, ctx.task, e instanceof XapiFailure ? e : new XapiFailure('IMPORT_ERROR', [(e as Error).message]));
  } finally {
    endSession(lab, ctx);
    res.end();
  }
}

/** A disk chunk held until its `.checksum` member confirms it (or the next member shows it has none). */
interface PendingChunk {
  name: string;
  vdi: string;
  offset: number;
  data: Buffer;
}

const importError = (why: string) => new XapiFailure('IMPORT_ERROR', [why]);

async function readXva(lab: Lab, reader: StreamReader, sr: string): Promise<string> {
  const vdiMap = new Map<string, string>();
  const created: Array<[string, string]> = [];
  let vm: string | undefined;
  let pending: PendingChunk | undefined;
  const flush = async () => {
    if (pending) await writeChunk(lab, pending);
    pending = undefined;
  };
  try {
    for (;;) {
      const h = await reader.read(512);
      if (h.length < 512) throw importError('truncated tar stream');
      if (isZero(h)) break;
      const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
      if (!Number.isSafeInteger(size) || size < 0) throw importError(`bad tar size for ${name}`);
      const m = /^(Ref:[^/]+)\/(\d{8})(\.checksum)?$/.exec(name);
      if (pending && !(m?.[3] && name === `${pending.name}.checksum`)) await flush();
      if (name === 'ova.xml') {
        if (vm !== undefined) throw importError('the archive has a second ova.xml');
        if (size > MAX_OVA_XML) throw importError(`ova.xml is ${size} bytes, more than the ${MAX_OVA_XML} allowed`);
        vm = createFromOva(lab, parseValueDocument((await readExact(reader, size, name)).toString('utf8')), sr, vdiMap, created);
      } else if (m?.[3] && pending) {
        if (size > MAX_CHECKSUM) throw importError(`${name} is ${size} bytes; a SHA-1 checksum is 40`);
        const want = (await readExact(reader, size, name)).toString('latin1').trim().toLowerCase();
        const got = createHash('sha1').update(pending.data).digest('hex');
        if (want !== got) throw importError(`checksum mismatch for ${pending.name}: archive says ${want}, data is ${got}`);
        await flush();
      } else if (m && !m[3] && vdiMap.has(`OpaqueRef:${(m[1] as string).slice(4)}`)) {
        const vdi = vdiMap.get(`OpaqueRef:${(m[1] as string).slice(4)}`) as string;
        if (size > CHUNK) throw importError(`${name} is ${size} bytes; disk chunks are at most ${CHUNK}`);
        const offset = Number(m[2]) * CHUNK;
        const virtualSize = Number(lab.store.require('VDI', vdi).virtual_size as bigint);
        if (offset + size > virtualSize) throw importError(`${name} ends at byte ${offset + size}, beyond the disk's virtual size ${virtualSize}`);
        pending = { name, vdi, offset, data: await readExact(reader, size, name) };
      } else {
        if (m?.[3] && size > MAX_CHECKSUM) throw importError(`${name} is ${size} bytes; a SHA-1 checksum is 40`);
        await reader.skip(size);
      }
      await reader.skip((512 - (size % 512)) % 512);
    }
    await flush();
    if (!vm) throw importError('no ova.xml in the archive');
    return vm;
  } catch (e) {
    rollback(lab, created);
    throw e;
  }
}

async function readExact(reader: StreamReader, size: number, name: string): Promise<Buffer> {
  const b = await reader.read(size);
  if (b.length < size) throw importError(`truncated tar stream inside ${name}`);
  return b;
}

async function writeChunk(lab: Lab, c: PendingChunk): Promise<void> {
  const file = await open(vdiPath(lab, c.vdi), 'r+');
  try {
    await file.write(c.data, 0, c.data.length, c.offset);
  } finally {
    await file.close();
  }
  refreshUtilisation(lab, c.vdi);
}

/** A failed import leaves nothing behind, as with xapi: objects go newest first, VDI files with them. */
function rollback(lab: Lab, created: Array<[string, string]>): void {
  for (const [cls, ref] of created.reverse()) {
    if (!lab.store.get(cls, ref)) continue;
    if (cls === 'VDI') destroyVdi(lab, ref);
    else lab.store.destroy(cls, ref);
  }
}

function createFromOva(lab: Lab, ova: Value, sr: string, vdiMap: Map<string, string>, created: Array<[string, string]>): string {
  const objects = (isStruct(ova) && Array.isArray(ova.objects) ? ova.objects : []) as Struct[];
  const of = (cls: string) => objects.filter((o) => o.class === cls);
  for (const o of of('VDI')) {
    const s = o.snapshot as Struct;
    const vdi = createVdi(lab, { name_label: s.name_label as string, name_description: s.name_description as string, SR: sr, virtual_size: BigInt(s.virtual_size as string), type: (s.type as string) || 'user' });
    created.push(['VDI', vdi]);
    vdiMap.set(o.id as string, vdi);
  }
  const vmObj = of('VM')[0];
  if (!vmObj) throw new XapiFailure('IMPORT_ERROR', ['ova.xml has no VM']);
  const s = { ...(vmObj.snapshot as Struct) };
  for (const k of ['uuid', 'VBDs', 'VIFs', 'metrics', 'guest_metrics', 'resident_on', 'snapshots', 'consoles', 'power_state', 'domid']) delete s[k];
  // ova.xml carries int64 as untyped strings; the VM record's types restore them.
  const vm = createVm(lab, coerceRecord(s, 'VM'));
  created.push(['VM_metrics', lab.store.require('VM', vm).metrics as string], ['VM', vm]);
  const network = [...lab.store.table('network').keys()][0] ?? NULL_REF;
  for (const o of of('VBD')) {
    const b = o.snapshot as Struct;
    const vbd = lab.store.create('VBD', { VM: vm, VDI: vdiMap.get(b.VDI as string) ?? NULL_REF, userdevice: b.userdevice as string, bootable: b.bootable === true, mode: b.mode as string, type: b.type as string, empty: !vdiMap.has(b.VDI as string) });
    created.push(['VBD', vbd]);
  }
  for (const o of of('VIF')) {
    const v = o.snapshot as Struct;
    const net = lab.store.get('network', v.network as string) ? (v.network as string) : network;
    const vif = lab.store.create('VIF', { VM: vm, network: net, device: v.device as string, MAC: v.MAC as string, MTU: BigInt(v.MTU as string) });
    created.push(['VIF', vif]);
  }
  return vm;
}
