// PUT /import_raw_vdi and GET /export_raw_vdi: raw, vhd and xapi's own "chunked" raw framing
// ({offset u64 LE, length u32 LE} + data, ending with an all-zero header), task-id response header,
// 302 to the host that sees a local SR, HTTP chunked transfer encoding refused.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import type { Lab } from '../api/context.js';
import { createVdi, refreshUtilisation, vdiPath } from '../api/storage.js';
import { completeTask, setProgress } from '../api/tasks.js';
import { XapiFailure } from '../wire/failure.js';
import { arg, authenticate, endSession, redirect, redirectHost, unauthorized, type HttpContext } from './auth.js';
import { isZero, StreamReader } from './stream.js';
import { applyVhd, planVhd, writeVhd } from './vhd.js';

const CHUNK_HEADER = 12;

function failTask(lab: Lab, ctx: HttpContext, code: string, ...params: string[]): void {
  completeTask(lab, ctx.task, new XapiFailure(code, params));
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html', connection: 'close', ...headers });
  res.end(`<html><body><h1>HTTP ${status}</h1>${text.replace(/[<>&]/g, ' ')}</body></html>`);
}

const secure = (req: IncomingMessage) => req.socket instanceof TLSSocket;

export async function importRawVdi(lab: Lab, hostRef: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.headers['transfer-encoding'] !== undefined) {
    plain(res, 404, `Cannot handle encoding: ${req.headers['transfer-encoding']}`);
    return;
  }
  const ctx = authenticate(lab, hostRef, req, url, 'VDI import');
  if (!ctx) return unauthorized(res);
  try {
    await importInto(lab, hostRef, ctx, req, res, url);
  } finally {
    endSession(lab, ctx);
  }
}

async function importInto(lab: Lab, hostRef: string, ctx: HttpContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined) {
    failTask(lab, ctx, 'INTERNAL_ERROR', 'Content-Length required');
    return plain(res, 411, 'Content-Length required', { 'task-id': ctx.task });
  }
  const length = Number(lengthHeader);
  const format = arg(req, url, 'format') ?? 'raw';
  const chunked = arg(req, url, 'chunked') === 'true';
  if (format !== 'raw' && format !== 'vhd') {
    failTask(lab, ctx, 'INTERNAL_ERROR', `Unknown format ${format}`);
    return plain(res, 404, `Unknown format ${format}`, { 'task-id': ctx.task });
  }
  if (chunked && format !== 'raw') {
    failTask(lab, ctx, 'INTERNAL_ERROR', 'Cannot handle chunked VHD');
    return plain(res, 400, 'Cannot handle chunked VHD', { 'task-id': ctx.task });
  }
  const given = arg(req, url, 'vdi');
  let vdi = given === undefined ? undefined : lab.store.refOf('VDI', given);
  const sr = arg(req, url, 'sr_id') ?? (arg(req, url, 'sr_uuid') && lab.store.byUuid('SR', arg(req, url, 'sr_uuid') as string));
  if (vdi === undefined && given === undefined && sr && lab.store.get('SR', sr) && format === 'raw' && !chunked) {
    vdi = createVdi(lab, { SR: sr, name_label: 'Imported VDI', virtual_size: BigInt(length), type: 'user' });
  }
  if (vdi === undefined) {
    failTask(lab, ctx, 'VDI_MISSING', sr ?? '', given ?? '');
    return plain(res, 404, 'VDI not found', { 'task-id': ctx.task });
  }
  const target = redirectHost(lab, hostRef, lab.store.require('VDI', vdi).SR as string);
  if (target) return redirect(lab, res, req, target, secure(req));
  res.writeHead(200, { 'task-id': ctx.task, 'content-type': 'application/octet-stream', connection: 'close' });
  res.flushHeaders();
  const size = lab.store.require('VDI', vdi).virtual_size as bigint;
  const reader = new StreamReader(req);
  const file = await open(vdiPath(lab, vdi), 'r+');
  try {
    if (format === 'vhd') await importVhd(lab, reader, length, file, size);
    else if (chunked) await importChunked(reader, file, size);
    else await importRaw(lab, ctx, reader, length, file, size);
    if (reader.consumed < length) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
    completeTask(lab, ctx.task, { value: vdi, void: false });
  } catch (e) {
    completeTask(lab, ctx.task, e instanceof XapiFailure ? e : new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']));
    lab.logger.warn({ err: (e as Error).message }, 'lab: VDI import failed');
  } finally {
    await file.close();
    refreshUtilisation(lab, vdi);
    res.end();
  }
}

async function importRaw(lab: Lab, ctx: HttpContext, reader: StreamReader, length: number, file: import('node:fs/promises').FileHandle, size: bigint): Promise<void> {
  if (BigInt(length) > size) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
  let offset = 0;
  let lastProgress = 0;
  for (;;) {
    const b = await reader.some(4 << 20);
    if (b.length === 0) break;
    if (!isZero(b)) await file.write(b, 0, b.length, offset);
    offset += b.length;
    if (offset - lastProgress > 64 << 20) {
      lastProgress = offset;
      setProgress(lab, ctx.task, offset / length);
    }
  }
}

async function importChunked(reader: StreamReader, file: import('node:fs/promises').FileHandle, size: bigint): Promise<void> {
  for (;;) {
    const h = await reader.read(CHUNK_HEADER);
    if (h.length < CHUNK_HEADER) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
    const offset = h.readBigUInt64LE(0);
    const len = h.readUInt32LE(8);
    if (offset === 0n && len === 0) return;
    if (offset + BigInt(len) > size) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
    let at = Number(offset);
    let left = len;
    while (left > 0) {
      const b = await reader.some(Math.min(left, 4 << 20));
      if (b.length === 0) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
      await file.write(b, 0, b.length, at);
      at += b.length;
      left -= b.length;
    }
  }
}

/** VHD blocks may come in any order, so the upload is spooled to a scratch file first. */
async function importVhd(lab: Lab, reader: StreamReader, length: number, file: import('node:fs/promises').FileHandle, size: bigint): Promise<void> {
  const scratch = join(lab.vdiDir, `.upload-${randomUUID()}.vhd`);
  const spool = await open(scratch, 'w+');
  try {
    // A VHD of a disk holds at most the data, a bitmap per 2 MiB block and its metadata: refuse to
    // spool more than that, whatever Content-Length claims.
    const limit = Number(size) + Number(size) / 4096 + 64 * 1024 * 1024;
    let offset = 0;
    for (;;) {
      const b = await reader.some(4 << 20);
      if (b.length === 0) break;
      if (offset + b.length > limit) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
      await spool.write(b, 0, b.length, offset);
      offset += b.length;
    }
    if (offset < length) throw new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']);
    try {
      await applyVhd(scratch, spool, offset, file, size);
    } catch (e) {
      throw new XapiFailure('VDI_IO_ERROR', [(e as Error).message]);
    }
  } finally {
    await spool.close();
    await rm(scratch, { force: true });
  }
}

export async function exportRawVdi(lab: Lab, hostRef: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const ctx = authenticate(lab, hostRef, req, url, 'VDI export');
  if (!ctx) return unauthorized(res);
  try {
    const format = arg(req, url, 'format') ?? 'raw';
    const given = arg(req, url, 'vdi') ?? '';
    const vdi = lab.store.refOf('VDI', given);
    if (vdi === undefined) {
      failTask(lab, ctx, 'HANDLE_INVALID', 'VDI', given);
      return plain(res, 404, 'VDI not found', { 'task-id': ctx.task });
    }
    if (format !== 'raw' && format !== 'vhd') {
      failTask(lab, ctx, 'INTERNAL_ERROR', `Unknown format ${format}`);
      return plain(res, 404, `Unknown format ${format}`, { 'task-id': ctx.task });
    }
    const rec = lab.store.require('VDI', vdi);
    const target = redirectHost(lab, hostRef, rec.SR as string);
    if (target) return redirect(lab, res, req, target, secure(req));
    const size = rec.virtual_size as bigint;
    const file = await open(vdiPath(lab, vdi), 'r');
    const write = (b: Buffer) =>
      new Promise<void>((resolve, reject) => (res.write(b, (e) => (e ? reject(e) : resolve()))));
    try {
      const headers = {
        'task-id': ctx.task,
        'content-type': format === 'vhd' ? 'application/vhd' : 'application/octet-stream',
        'content-disposition': `attachment; filename="${rec.uuid as string}.${format}"`,
        connection: 'close',
      };
      if (format === 'vhd') {
        const baseArg = arg(req, url, 'base');
        const baseRef = baseArg === undefined ? undefined : lab.store.refOf('VDI', baseArg);
        if (baseArg !== undefined && baseRef === undefined) throw new XapiFailure('HANDLE_INVALID', ['VDI', baseArg]);
        const base = baseRef === undefined ? undefined : await open(vdiPath(lab, baseRef), 'r');
        let plan;
        try {
          plan = await planVhd(file, size, base);
        } finally {
          await base?.close();
        }
        res.writeHead(200, { ...headers, 'content-length': String(plan.length) });
        await writeVhd(file, size, plan, Buffer.from((rec.uuid as string).replace(/-/g, ''), 'hex'), write);
      } else {
        res.writeHead(200, { ...headers, 'content-length': String((await stat(vdiPath(lab, vdi))).size) });
        const buf = Buffer.alloc(4 << 20);
        for (let off = 0; off < Number(size); off += buf.length) {
          const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, Number(size) - off), off);
          await write(Buffer.from(buf.subarray(0, bytesRead)));
        }
      }
      completeTask(lab, ctx.task, { value: '', void: true });
    } catch (e) {
      if (e instanceof XapiFailure && !res.headersSent) {
        completeTask(lab, ctx.task, e);
        return plain(res, 404, e.message, { 'task-id': ctx.task });
      }
      completeTask(lab, ctx.task, new XapiFailure('VDI_IO_ERROR', ['Device I/O errors']));
      throw e;
    } finally {
      await file.close();
      if (!res.writableEnded) res.end();
    }
  } finally {
    endSession(lab, ctx);
  }
}
