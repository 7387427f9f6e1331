// Authentication and task plumbing shared by the HTTP transfer handlers (xapi_http.ml with_context):
// session_id from the query or a cookie, else HTTP Basic (an internal login); task_id or a new task.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lab } from '../api/context.js';
import { credentialsValid, openSession } from '../api/session.js';
import { createTask } from '../api/tasks.js';
import { NULL_REF } from '../wire/values.js';

export interface HttpContext {
  session: string;
  /** True when the session was made from Basic credentials and must be closed afterwards. */
  temporary: boolean;
  task: string;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === name && v !== undefined) return decodeURIComponent(v);
  }
  return undefined;
}

/** A query argument, which xapi also accepts as a cookie. */
export function arg(req: IncomingMessage, url: URL, name: string): string | undefined {
  return url.searchParams.get(name) ?? cookie(req, name);
}

export function authenticate(lab: Lab, hostRef: string, req: IncomingMessage, url: URL, label: string): HttpContext | null {
  let session = arg(req, url, 'session_id');
  let temporary = false;
  if (session === undefined || !lab.store.get('session', session)) {
    session = undefined;
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Basic ')) {
      const text = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const user = colon < 0 ? text : text.slice(0, colon);
      const password = colon < 0 ? '' : text.slice(colon + 1);
      if (credentialsValid(lab, user, password)) {
        session = openSession(lab, hostRef, user, 'http-basic');
        temporary = true;
      }
    }
  }
  if (session === undefined) return null;
  const given = arg(req, url, 'task_id');
  const task = given && given !== NULL_REF && lab.store.get('task', given) ? given : createTask(lab, label, '', hostRef);
  return { session, temporary, task };
}

export function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'www-authenticate': 'Basic realm="xapi"', 'content-type': 'text/html', connection: 'close' });
  res.end('<html><body><h1>HTTP 401 unauthorised</h1></body></html>');
}

export function endSession(lab: Lab, ctx: HttpContext): void {
  if (ctx.temporary && lab.store.get('session', ctx.session)) lab.store.destroy('session', ctx.session);
}

/** The host that can see `srRef` when it is local to another host, for a 302. */
export function redirectHost(lab: Lab, hostRef: string, srRef: string): string | undefined {
  const sr = lab.store.get('SR', srRef);
  if (!sr || sr.shared === true) return undefined;
  const hosts = (sr.PBDs as string[]).map((p) => lab.store.get('PBD', p)?.host as string | undefined);
  if (hosts.includes(hostRef)) return undefined;
  return hosts.find((h) => h !== undefined && lab.hostAddress.has(h));
}

export function redirect(lab: Lab, res: ServerResponse, req: IncomingMessage, target: string, secure: boolean): void {
  const location = `${secure ? 'https' : 'http'}://${lab.hostAddress.get(target) as string}${req.url ?? '/'}`;
  res.writeHead(302, { location, 'content-length': '0', connection: 'close' });
  res.end();
}
