import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { http1, type Http1Response } from './http1.js';
import type { BlockSource } from '@xenkit/disk';
import { redactText } from '@xenkit/core';
import type { XapiSession } from './client.js';
import { XapiConfigError, XapiProtocolError } from './errors.js';
import { transportError } from './http.js';
import { chunkedFrames, chunkedLength, dataRuns } from './chunked.js';
import { taskOutcome, waitTask } from './tasks.js';

export interface TransferProgress {
  /** Bytes on the wire so far and in total (for a sparse upload: the data sent, not the disk size). */
  done: number;
  total: number;
}

export interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface ImportVdiOptions extends TransferOptions {
  /** The VDI to write (ref or uuid). */
  vdi: string;
  /** A disk (raw, qcow2, VHD… as a BlockSource): only its allocated, non-zero data is sent. */
  source?: BlockSource;
  /** Or a file sent as it is, in `format` (`vhd`: a VHD file; `raw`: every byte). */
  file?: string;
  format?: 'raw' | 'vhd';
}

export interface ExportVdiOptions extends TransferOptions {
  vdi: string;
  file: string;
  format?: 'raw' | 'vhd';
}

const MAX_REDIRECTS = 5;

interface Body {
  length: number;
  contentType: string;
  /** A fresh stream of the body: a redirect means sending it again from the start. */
  open(): AsyncIterable<Uint8Array> | Readable;
}

/**
 * Upload into a VDI over `PUT /import_raw_vdi`. A BlockSource goes as raw with XAPI's chunked
 * framing, so holes and zero blocks cost nothing; a file goes as its bytes. Content-Length is always
 * set (XAPI rejects chunked transfer encoding), a 302 to the host that sees the SR is followed with
 * the query kept, and the import task is followed to its end, its failure raised as XapiError.
 */
export async function importVdi(session: XapiSession, options: ImportVdiOptions): Promise<void> {
  const { signal } = options;
  let body: Body;
  const query: Record<string, string> = { vdi: options.vdi, format: options.format ?? 'raw' };
  if (options.source) {
    if (query.format !== 'raw') throw new XapiConfigError('a BlockSource is uploaded as raw (chunked)');
    const source = options.source;
    const runs = await dataRuns(source, signal);
    query.chunked = 'true';
    body = { length: chunkedLength(runs), contentType: 'application/octet-stream', open: () => chunkedFrames(source, runs, signal) };
  } else if (options.file) {
    const file = options.file;
    const size = (await stat(file)).size;
    const type = query.format === 'vhd' ? 'application/vhd' : 'application/octet-stream';
    body = { length: size, contentType: type, open: () => createReadStream(file, { highWaterMark: 1 << 20 }) };
  } else {
    throw new XapiConfigError('importVdi needs a source or a file');
  }
  await withTask(session, 'xenkit import_raw_vdi', options, async (task) => {
    query.task_id = task;
    return taskHeader(await send(session, 'PUT', '/import_raw_vdi', query, body, options));
  });
}

/** Download a VDI over `GET /export_raw_vdi` into `file`, streaming (constant memory). */
export async function exportVdi(session: XapiSession, options: ExportVdiOptions): Promise<void> {
  const query: Record<string, string> = { vdi: options.vdi, format: options.format ?? 'raw' };
  await withTask(session, 'xenkit export_raw_vdi', options, async (task) => {
    query.task_id = task;
    const res = await send(session, 'GET', '/export_raw_vdi', query, undefined, options);
    const total = Number(res.headers['content-length'] ?? 0);
    let done = 0;
    const count = async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        done += chunk.length;
        options.onProgress?.({ done, total });
        yield chunk;
      }
    };
    try {
      await pipeline(res.body, count, createWriteStream(options.file), { signal: options.signal });
    } catch (e) {
      throw transportError(e, `downloading VDI ${options.vdi}`);
    }
    return taskHeader(res);
  });
}

/**
 * Our own task (task_id=) carries the handler's outcome; a host that made its own instead says so in
 * the `task-id` response header, and that one is followed.
 */
async function withTask(session: XapiSession, label: string, options: TransferOptions, run: (task: string) => Promise<string | undefined>): Promise<void> {
  const task = String(await session.call('task.create', [label, 'xenkit VDI transfer']));
  try {
    let followed = task;
    try {
      const announced = await run(task);
      if (announced && announced.startsWith('OpaqueRef:') && announced !== task) followed = announced;
    } catch (e) {
      await session.call('task.cancel', [task]).catch(() => undefined);
      throw e;
    }
    const record = await waitTask(session, followed, { signal: options.signal });
    await taskOutcome(record, followed, label);
  } finally {
    await session.call('task.destroy', [task]).catch(() => undefined);
  }
}

function taskHeader(res: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const h = res.headers['task-id'];
  return Array.isArray(h) ? h[0] : h;
}

async function send(session: XapiSession, method: 'GET' | 'PUT', path: string, query: Record<string, string>, body: Body | undefined, options: TransferOptions): Promise<Http1Response> {
  let url = new URL(path, session.url);
  url.search = new URLSearchParams({ session_id: await session.sessionRef(), ...query }).toString();
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let stream: Readable | undefined;
    if (body) {
      let done = 0;
      const inner = body.open();
      stream = Readable.from(
        (async function* () {
          for await (const chunk of inner) {
            done += chunk.length;
            options.onProgress?.({ done, total: body.length });
            yield chunk;
          }
        })(),
        { objectMode: false },
      );
    }
    const res = await http1(url, {
      method,
      headers: body ? { 'content-length': String(body.length), 'content-type': body.contentType } : {},
      body: stream,
      signal: options.signal,
      tls: session.options.tls,
      pins: session.pins,
      timeouts: session.options.timeouts,
    });
    if (res.statusCode === 302 || res.statusCode === 301 || res.statusCode === 307) {
      const location = String(res.headers.location ?? '');
      res.body.resume();
      stream?.destroy();
      if (!location) throw new XapiProtocolError('E_XAPI_HTTP', `${method} ${path}: redirect without a Location`);
      const next = new URL(location, url);
      checkRedirect(session, url, next, `${method} ${path}`);
      // Keep our query when the redirect drops it (seen on some XAPI versions; XO does the same):
      // only now that the target is known to be a host of this pool on the same scheme.
      if (!next.search) next.search = url.search;
      session.logger.info({ from: url.host, to: next.host }, `${path} redirected`);
      url = next;
      continue;
    }
    if (res.statusCode !== 200) {
      const text = await readSome(res.body);
      throw new XapiProtocolError('E_XAPI_HTTP', `${method} ${path} on ${url.host}: HTTP ${res.statusCode}`, {
        status: res.statusCode,
        body: redactText(text),
      });
    }
    if (method === 'PUT') {
      // XAPI answers before reading the body: the import is done when the body is sent and the
      // answer has ended.
      res.body.resume();
      try {
        await res.sent;
        if (!res.body.readableEnded) await new Promise<void>((resolve, reject) => res.body.once('end', resolve).once('error', reject).once('close', resolve));
      } catch (e) {
        throw transportError(e, `${method} ${redactText(url.origin + url.pathname)}`);
      }
    }
    return res;
  }
  throw new XapiProtocolError('E_XAPI_HTTP', `${method} ${path}: more than ${MAX_REDIRECTS} redirects`);
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * The URL of a transfer carries the session: a redirect may take it only where the session already
 * goes. No scheme change (https→http would send it in clear; http→https is refused too, as a pool
 * does not mix them), and only to the host first spoken to or a member of its pool.
 */
function checkRedirect(session: XapiSession, from: URL, to: URL, what: string): void {
  if (to.protocol !== from.protocol) {
    throw new XapiProtocolError('E_XAPI_REDIRECT', `${what}: refused a redirect from ${from.protocol} to ${to.protocol}//${to.host}`, {
      from: from.origin,
      to: to.origin,
    });
  }
  const allowed = new Set([bare(session.url.hostname), bare(from.hostname), ...session.poolMembers.map(bare)]);
  if (!allowed.has(bare(to.hostname))) {
    throw new XapiProtocolError('E_XAPI_REDIRECT', `${what}: refused a redirect to ${to.host}, which is not a host of this pool`, {
      from: from.origin,
      to: to.origin,
    });
  }
}

async function readSome(body: Readable): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < 400) text += String(chunk);
    }
  } catch {
    // the status is what matters
  }
  return text.slice(0, 200);
}
