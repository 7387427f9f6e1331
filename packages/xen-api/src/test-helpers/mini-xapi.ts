/**
 * A minimal XAPI-shaped server the tests control completely, kept for what the lab host
 * (packages/xapi-sim, tested against in lab.test.ts) cannot do on demand: fault injection (a socket
 * dropped mid-transfer, a host down for a set time, sessions invalidated at an exact point, a host
 * without JSON-RPC, a handler that makes its own task, a redirect to any URL, a certificate per host
 * and a scripted host.get_server_certificate) and a record of every call received. It speaks what XAPI puts on the wire: XML-RPC with untyped strings and int64 as decimal
 * strings in the Status/Value envelope, JSON-RPC v2 (int64 as bare integer literals, errors as
 * {code: 1, message, data}), event.from with zero-padded tokens, tasks whose result is an XML-RPC
 * string, and /import_raw_vdi + /export_raw_vdi with XAPI's chunked framing and a task-id header.
 * Requests are parsed with the independent `xmlrpc` package, never with the client's own decoder.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import Deserializer from 'xmlrpc/lib/deserializer.js';

export type Obj = Record<string, unknown>;
export class Fail extends Error {
  constructor(readonly desc: string[]) {
    super(desc.join(' '));
  }
}

export interface MiniOptions {
  user?: string;
  password?: string;
  /** Answer /jsonrpc from the XML-RPC handler, like hosts older than JSON-RPC support. */
  noJsonRpc?: boolean;
  /** This host is a pool member: login answers HOST_IS_SLAVE naming this master address. */
  slaveOf?: string;
  /** Send /import_raw_vdi and /export_raw_vdi to this base URL with a 302. */
  redirectTransfersTo?: string;
  /** Make a task of its own for each transfer, ignoring task_id (announced in the task-id header). */
  ignoreTaskId?: boolean;
  /** Close the socket after receiving this many bytes of an import body. */
  dropImportAfter?: number;
  port?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Loopback address to listen on (default 127.0.0.1; any 127/8 address works on Linux). */
  host?: string;
}

export class MiniDb {
  readonly tables = new Map<string, Map<string, Obj>>();
  readonly events: Array<{ id: number; class: string; operation: string; ref: string; snapshot?: Obj; timestamp: Date }> = [];
  gen = 0;
  /** Sparse VDI contents: VDI ref → (offset → bytes). */
  readonly disks = new Map<string, Map<number, Buffer>>();
  private waiters: Array<() => void> = [];

  table(cls: string): Map<string, Obj> {
    let t = this.tables.get(cls.toLowerCase());
    if (!t) this.tables.set(cls.toLowerCase(), (t = new Map()));
    return t;
  }

  add(cls: string, rec: Obj): string {
    const ref = `OpaqueRef:${randomUUID()}`;
    this.table(cls).set(ref, { uuid: randomUUID(), ...rec });
    this.touch(cls, 'add', ref);
    return ref;
  }

  touch(cls: string, operation: string, ref: string): void {
    const snapshot = operation === 'del' ? undefined : structuredClone(this.table(cls).get(ref));
    this.events.push({ id: ++this.gen, class: cls.toLowerCase(), operation, ref, snapshot, timestamp: new Date() });
    for (const w of this.waiters.splice(0)) w();
  }

  set(cls: string, ref: string, fields: Obj): void {
    Object.assign(this.get(cls, ref), fields);
    this.touch(cls, 'mod', ref);
  }

  get(cls: string, ref: string): Obj {
    const rec = this.table(cls).get(ref);
    if (!rec) throw new Fail(['HANDLE_INVALID', cls, ref]);
    return rec;
  }

  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

export interface MiniXapi {
  url: string;
  port: number;
  db: MiniDb;
  opts: MiniOptions;
  sessions: Map<string, { originator: string }>;
  calls: Array<{ method: string; transport: 'xml' | 'json' }>;
  /** Import bodies as received, for assertions (headers and byte counts). */
  imports: Array<{ query: URLSearchParams; headers: IncomingMessage['headers']; bytes: number }>;
  /** Make every current session invalid (as after a toolstack restart). */
  invalidateSessions(): void;
  /** Stop answering, then listen again on the same port with no sessions (tokens also reset). */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
  /** Extra method handlers for a test: method name → (args without session) → value. */
  handlers: Map<string, (args: unknown[]) => unknown>;
}

// ---- encoding, the way XAPI writes it ------------------------------------------------------------

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
export const xapiDate = (d: Date) =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;

export function xmlValue(v: unknown): string {
  if (typeof v === 'string') return `<value>${esc(v)}</value>`;
  if (typeof v === 'bigint') return `<value>${v}</value>`;
  if (typeof v === 'number') return `<value><double>${v}</double></value>`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (v === null || v === undefined) return '<value><nil/></value>';
  if (v instanceof Date) return `<value><dateTime.iso8601>${xapiDate(v)}</dateTime.iso8601></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(xmlValue).join('')}</data></array></value>`;
  const members = Object.entries(v as Obj).map(([k, x]) => `<member><name>${esc(k)}</name>${xmlValue(x)}</member>`);
  return `<value><struct>${members.join('')}</struct></value>`;
}

export function jsonText(v: unknown): string {
  return JSON.stringify(v, function (this: Obj, k, x: unknown) {
    const raw = this[k];
    return typeof raw === 'bigint' ? `\u0000${raw}` : raw instanceof Date ? xapiDate(raw) : x;
  })
    .replace(/"\\u0000(-?\d+)"/g, '$1');
}

const xmlResponse = (inner: string) => `<?xml version="1.0"?><methodResponse><params><param>${inner}</param></params></methodResponse>`;

function parseXmlCall(body: Buffer): Promise<{ method: string; params: unknown[] }> {
  return new Promise((resolve, reject) => {
    const s = new PassThrough();
    new Deserializer().deserializeMethodCall(s, (err, method, params) => (err ? reject(err) : resolve({ method, params })));
    s.end(body);
  });
}

const token = (gen: number) => `${String(gen).padStart(20, '0')},${'0'.padStart(20, '0')}`;

// ---- the server ----------------------------------------------------------------------------------

export async function startMiniXapi(opts: MiniOptions = {}, db = new MiniDb()): Promise<MiniXapi> {
  const sessions = new Map<string, { originator: string }>();
  const sockets = new Set<Socket>();
  const mini: MiniXapi = {
    url: '',
    port: 0,
    db,
    opts,
    sessions,
    calls: [],
    imports: [],
    handlers: new Map(),
    invalidateSessions: () => {
      for (const k of sessions.keys()) if (k !== '__internal') sessions.delete(k);
    },
    restart: async (downMs = 300) => {
      await stop();
      mini.invalidateSessions();
      await new Promise((r) => setTimeout(r, downMs));
      await listen(mini.port);
    },
    close: () => stop(),
  };
  let server: Server;

  async function dispatch(method: string, params: unknown[]): Promise<unknown> {
    if (method === 'system.listMethods') return { unwrapped: ['VM.get_all_records', 'event.from', 'session.login_with_password'] };
    if (method === 'session.login_with_password') {
      const [user, password, , originator] = params as string[];
      if (opts.slaveOf) throw new Fail(['HOST_IS_SLAVE', opts.slaveOf]);
      if (user !== (opts.user ?? 'root') || password !== (opts.password ?? 'secret')) {
        throw new Fail(['SESSION_AUTHENTICATION_FAILED', String(user), 'Authentication failure']);
      }
      const ref = `OpaqueRef:${randomUUID()}`;
      sessions.set(ref, { originator: originator ?? '' });
      return ref;
    }
    const [session, ...args] = params;
    if (!sessions.has(String(session))) throw new Fail(['SESSION_INVALID', String(session)]);
    if (method === 'session.logout') {
      sessions.delete(String(session));
      return '';
    }
    const custom = mini.handlers.get(method);
    if (custom) return custom(args);
    if (method.startsWith('Async.')) return startTask(method.slice(6), args);
    const [cls, name] = method.split('.') as [string, string];
    return builtin(cls, name, args);
  }

  function startTask(method: string, args: unknown[]): string {
    const task = db.add('task', { name_label: `Async.${method}`, status: 'pending', progress: 0, result: '', error_info: [], created: new Date() });
    setTimeout(() => db.set('task', task, { progress: 0.5 }), 20);
    setTimeout(async () => {
      try {
        const value = await dispatch(method, ['__internal', ...args]);
        db.set('task', task, { status: 'success', progress: 1, result: xmlValue(value), finished: new Date() });
      } catch (e) {
        const desc = e instanceof Fail ? e.desc : ['INTERNAL_ERROR', String(e)];
        db.set('task', task, { status: 'failure', progress: 1, error_info: desc, finished: new Date() });
      }
    }, 60);
    return task;
  }
  sessions.set('__internal', { originator: 'tasks' });

  async function builtin(cls: string, name: string, args: unknown[]): Promise<unknown> {
    const table = db.table(cls);
    if (cls === 'event' && name === 'from') return eventFrom(args[0] as string[], String(args[1]), Number(args[2]));
    if (name === 'get_all_records') return Object.fromEntries(table);
    if (name === 'get_all') return [...table.keys()];
    if (name === 'get_record') return db.get(cls, String(args[0]));
    if (name === 'get_by_uuid') {
      for (const [ref, rec] of table) if (rec.uuid === args[0]) return ref;
      throw new Fail(['UUID_INVALID', cls, String(args[0])]);
    }
    if (name === 'get_by_name_label') return [...table].filter(([, r]) => r.name_label === args[0]).map(([ref]) => ref);
    if (name.startsWith('get_')) return db.get(cls, String(args[0]))[name.slice(4)];
    if (name === 'create') {
      const rec = args[0] as Obj;
      if (cls === 'task') return db.add('task', { name_label: rec, name_description: args[1], status: 'pending', progress: 0, result: '', error_info: [] });
      return db.add(cls, { ...rec, virtual_size: BigInt(String(rec.virtual_size ?? 0)) });
    }
    if (name === 'destroy') {
      db.get(cls, String(args[0]));
      table.delete(String(args[0]));
      db.touch(cls, 'del', String(args[0]));
      return '';
    }
    if (cls === 'task' && name === 'cancel') {
      const t = db.get('task', String(args[0]));
      if (t.status === 'pending') db.set('task', String(args[0]), { status: 'cancelled', error_info: ['TASK_CANCELLED', String(args[0])] });
      return '';
    }
    if (cls === 'VM' && name === 'start') {
      const vm = db.get('VM', String(args[0]));
      if (vm.power_state !== 'Halted') throw new Fail(['VM_BAD_POWER_STATE', String(args[0]), 'halted', String(vm.power_state).toLowerCase()]);
      db.set('VM', String(args[0]), { power_state: 'Running' });
      return '';
    }
    throw new Fail(['MESSAGE_METHOD_UNKNOWN', `${cls}.${name}`]);
  }

  async function eventFrom(classes: string[], tok: string, timeout: number): Promise<unknown> {
    const wanted = (c: string, ref: string) => classes.some((s) => s === '*' || s.toLowerCase() === c || s === `${c}/${ref}`);
    let since: number;
    if (tok === '') {
      const events = [];
      for (const [c, t] of db.tables) for (const [ref, rec] of t) if (wanted(c, ref)) events.push({ id: BigInt(db.gen), timestamp: new Date(), class: c, operation: 'add', ref, snapshot: rec });
      return { events, valid_ref_counts: {}, token: token(db.gen) };
    }
    const m = /^(\d{20}),(\d{20})$/.exec(tok);
    if (!m) throw new Fail(['EVENT_FROM_TOKEN_PARSE_FAILURE', tok]);
    since = Number(m[1]);
    if (since > db.gen) throw new Fail(['EVENTS_LOST']);
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      const events = db.events.filter((e) => e.id > since && wanted(e.class, e.ref)).map((e) => ({ ...e, id: BigInt(e.id) }));
      if (events.length > 0 || Date.now() >= deadline) return { events, valid_ref_counts: {}, token: token(db.gen) };
      await db.changed(Math.max(1, deadline - Date.now()));
      since = Math.min(since, db.gen);
    }
  }

  async function rpc(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const json = req.url === '/jsonrpc' && !opts.noJsonRpc;
    let method = '?';
    let id: unknown = null;
    let params: unknown[] = [];
    try {
      if (json) {
        const call = JSON.parse(body.toString('utf8')) as { method: string; params: unknown[]; id: unknown };
        ({ method, params, id } = call);
      } else {
        ({ method, params } = await parseXmlCall(body));
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/html' }).end(`<html><body>Parse_error(${esc(String(e))})</body></html>`);
      return;
    }
    mini.calls.push({ method, transport: json ? 'json' : 'xml' });
    let out: string;
    try {
      const value = await dispatch(method, params);
      const unwrapped = value && typeof value === 'object' && 'unwrapped' in (value as Obj);
      if (json) out = jsonText({ jsonrpc: '2.0', result: unwrapped ? (value as Obj).unwrapped : value, id });
      else if (unwrapped) out = xmlResponse(xmlValue((value as Obj).unwrapped));
      else out = xmlResponse(xmlValue({ Status: 'Success', Value: value }));
    } catch (e) {
      const desc = e instanceof Fail ? e.desc : ['INTERNAL_ERROR', String(e)];
      if (json) out = jsonText({ jsonrpc: '2.0', error: { code: 1, message: desc[0], data: desc.slice(1) }, id });
      else out = xmlResponse(xmlValue({ Status: 'Failure', ErrorDescription: desc }));
    }
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'text/xml', 'access-control-allow-origin': '*' }).end(out);
  }

  function transfer(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const q = url.searchParams;
    if (opts.redirectTransfersTo) {
      res.writeHead(302, { location: `${opts.redirectTransfersTo}${url.pathname}${url.search}`, connection: 'close' }).end();
      req.resume();
      return;
    }
    if (!sessions.has(q.get('session_id') ?? '')) {
      res.writeHead(401).end();
      req.resume();
      return;
    }
    const vdiRef = findVdi(q.get('vdi') ?? '');
    const given = opts.ignoreTaskId ? null : q.get('task_id');
    const task = given ?? db.add('task', { status: 'pending', progress: 0, result: '', error_info: [] });
    if (!vdiRef) {
      db.set('task', task, { status: 'failure', error_info: ['VDI_MISSING', '', q.get('vdi') ?? ''] });
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'GET') return exportDisk(res, vdiRef, task);
    if (req.headers['transfer-encoding']) {
      res.writeHead(404).end(`Cannot handle encoding: ${req.headers['transfer-encoding']}`);
      return;
    }
    importDisk(req, res, q, vdiRef, task);
  }

  function findVdi(id: string): string | undefined {
    const t = db.table('VDI');
    if (t.has(id)) return id;
    for (const [ref, rec] of t) if (rec.uuid === id) return ref;
    return undefined;
  }

  function importDisk(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, vdi: string, task: string): void {
    const chunked = q.get('chunked') === 'true';
    const record = { query: q, headers: req.headers, bytes: 0 };
    mini.imports.push(record);
    const disk = new Map<number, Buffer>();
    let pending = Buffer.alloc(0);
    let rawPos = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      if (opts.dropImportAfter !== undefined && record.bytes >= opts.dropImportAfter) {
        req.socket.destroy();
        db.set('task', task, { status: 'failure', error_info: ['VDI_IO_ERROR', 'Device I/O errors'] });
        return;
      }
      if (!chunked) {
        disk.set(rawPos, Buffer.from(chunk));
        rawPos += chunk.length;
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending.length < 12) break;
        const off = Number(pending.readBigUInt64LE(0));
        const len = pending.readUInt32LE(8);
        if (len === 0 && off === 0) {
          done = true;
          break;
        }
        if (pending.length < 12 + len) break;
        disk.set(off, Buffer.from(pending.subarray(12, 12 + len)));
        pending = pending.subarray(12 + len);
      }
    });
    req.on('end', () => {
      db.disks.set(vdi, disk);
      const ok = !chunked || done;
      db.set('task', task, ok ? { status: 'success', progress: 1, result: `<value>${vdi}</value>` } : { status: 'failure', error_info: ['VDI_IO_ERROR', 'short chunked stream'] });
      res.writeHead(200, { 'task-id': task, 'content-type': 'application/octet-stream', connection: 'close' }).end();
    });
  }

  function exportDisk(res: ServerResponse, vdi: string, task: string): void {
    const size = Number(db.get('VDI', vdi).virtual_size);
    const image = Buffer.alloc(size);
    for (const [off, bytes] of db.disks.get(vdi) ?? []) bytes.copy(image, off);
    res.writeHead(200, { 'content-length': String(size), 'task-id': task, 'content-type': 'application/octet-stream' });
    res.end(image, () => db.set('task', task, { status: 'success', progress: 1, result: '' }));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/import_raw_vdi' || url.pathname === '/export_raw_vdi') return transfer(req, res, url);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => void rpc(req, res, Buffer.concat(parts)));
  }

  function listen(port: number): Promise<void> {
    server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handle) : createServer(handle);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    return new Promise((resolve) =>
      server.listen(port, opts.host ?? '127.0.0.1', () => {
        const addr = server.address();
        mini.port = typeof addr === 'object' && addr ? addr.port : port;
        mini.url = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${mini.port}`;
        resolve();
      }),
    );
  }

  function stop(): Promise<void> {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  await listen(opts.port ?? 0);
  return mini;
}

/** A small pool: a host, an SR, two VMs (PV and HVM), a VDI. */
export function seedPool(db: MiniDb): Record<string, string> {
  const host = db.add('host', { name_label: 'xs1', address: '127.0.0.1', API_version_major: 2n, API_version_minor: 21n, memory_overhead: 1n });
  const sr = db.add('SR', { name_label: 'Local storage', type: 'lvm', physical_size: 500_000_000_000n, physical_utilisation: 1_000_000n, VDIs: [] });
  const pv = db.add('VM', {
    name_label: 'web', power_state: 'Halted', domain_type: 'pv', PV_bootloader: 'pygrub', PV_args: 'console=hvc0',
    memory_static_max: 2n ** 60n + 1n, is_a_template: false, is_control_domain: false, VCPUs_max: 2n, snapshot_time: new Date(Date.UTC(2025, 2, 19, 4, 16, 24)),
  });
  const hvm = db.add('VM', {
    name_label: 'db', power_state: 'Running', domain_type: 'hvm', PV_bootloader: '', PV_args: '', memory_static_max: 4_294_967_296n,
    is_a_template: false, is_control_domain: false, VCPUs_max: 4n,
  });
  const vdi = db.add('VDI', { name_label: 'disk0', SR: sr, virtual_size: 1_048_576n, type: 'user', read_only: false, snapshot_time: new Date(0) });
  return { host, sr, pv, hvm, vdi };
}
