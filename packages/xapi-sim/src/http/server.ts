// One HTTP(S) listener per lab host. Routes like xapi's http_svr: longest path prefix wins, so any
// unknown POST lands on the XML-RPC handler at "/" (which is how the npm client's /xmlrpc works).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lab } from '../api/context.js';
import { dispatch } from '../api/dispatch.js';
import { MalformedRequest } from '../wire/failure.js';
import { jsonFailure, jsonSuccess, parseJsonCall } from '../wire/json.js';
import { parseMethodCall, xmlBare, xmlFailure, xmlSuccess } from '../wire/xml.js';
import { exportRawVdi, importRawVdi } from './transfer.js';
import { exportXva, importXva } from './xva.js';

const MAX_RPC_BODY = 64 * 1024 * 1024;

type Route = (lab: Lab, host: string, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

const ROUTES: { method: string; prefix: string; handle: Route }[] = [
  { method: 'POST', prefix: '/jsonrpc', handle: (lab, host, req, res) => rpc(lab, host, req, res, 'json') },
  { method: 'POST', prefix: '/RPC2', handle: (lab, host, req, res) => rpc(lab, host, req, res, 'xml') },
  { method: 'POST', prefix: '/', handle: (lab, host, req, res) => rpc(lab, host, req, res, 'xml') },
  { method: 'PUT', prefix: '/import_raw_vdi', handle: importRawVdi },
  { method: 'GET', prefix: '/export_raw_vdi', handle: exportRawVdi },
  { method: 'PUT', prefix: '/import', handle: importXva },
  { method: 'GET', prefix: '/export', handle: exportXva },
];

export function route(method: string, path: string): Route | undefined {
  let best: (typeof ROUTES)[number] | undefined;
  for (const r of ROUTES) {
    if (r.method === method && path.startsWith(r.prefix) && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best?.handle;
}

export function makeRequestHandler(lab: Lab, hostRef: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://lab');
    if (req.method === 'OPTIONS') {
      res.writeHead(200, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'content-type',
        'access-control-allow-methods': 'POST, OPTIONS',
        'content-length': '0',
      });
      res.end();
      return;
    }
    const handle = route(req.method ?? 'GET', url.pathname);
    if (!handle) {
      res.writeHead(404, { 'content-type': 'text/html', connection: 'close' });
      res.end('<html><body><h1>HTTP 404 not found</h1></body></html>');
      return;
    }
    handle(lab, hostRef, req, res, url).catch((e: unknown) => {
      lab.logger.error({ err: (e as Error).message, path: url.pathname }, 'lab: handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/html', connection: 'close' });
      res.end();
    });
  };
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new MalformedRequest(`request body over ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function internalError(res: ServerResponse, message: string): void {
  const safe = message.replace(/[<>&]/g, ' ');
  res.writeHead(500, { 'content-type': 'text/html', connection: 'close' });
  res.end(`<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. If the problem persists, please contact your support representative.<h1> Additional information </h1>${safe}</body></html>`);
}

async function rpc(lab: Lab, hostRef: string, req: IncomingMessage, res: ServerResponse, kind: 'xml' | 'json'): Promise<void> {
  let text: string;
  try {
    text = (await readBody(req, MAX_RPC_BODY)).toString('utf8');
  } catch (e) {
    internalError(res, (e as Error).message);
    return;
  }
  const headers = { 'content-type': kind === 'xml' ? 'text/xml' : 'application/json', 'access-control-allow-origin': '*' };
  if (kind === 'xml') {
    let call;
    try {
      call = parseMethodCall(text);
    } catch (e) {
      if (e instanceof MalformedRequest) return internalError(res, `Xmlrpc.Parse_error(${e.message})`);
      throw e;
    }
    const r = await dispatch(lab, hostRef, call.method, call.params);
    const body = r.ok ? (r.bare ? xmlBare(r.value) : xmlSuccess(r.value)) : xmlFailure(r.description);
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  let call;
  try {
    call = parseJsonCall(text);
  } catch (e) {
    if (e instanceof MalformedRequest) return internalError(res, e.message);
    throw e;
  }
  const r = await dispatch(lab, hostRef, call.method, call.params);
  res.writeHead(200, headers);
  res.end(r.ok ? jsonSuccess(call, r.value) : jsonFailure(call, r.description));
}
