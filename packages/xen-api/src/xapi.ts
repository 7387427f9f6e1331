import { XapiConfigError } from './errors.js';
import { XapiSession, parseBaseUrl, resolvePassword, type ConnectOptions } from './client.js';
import { assertTlsMatchesScheme } from './http.js';
import { EventStream, type EventOptions } from './events.js';
import type { AsyncMethodArgs, XenApiClasses } from './generated/api.generated.js';
import { CLASS_NAMES } from './generated/meta.generated.js';
import { callAsync as runAsync, type TaskOptions } from './tasks.js';
import { exportVdi, importVdi, type ExportVdiOptions, type ImportVdiOptions } from './transfer.js';
import type { TransportKind } from './rpc.js';

const TASK_OPTION_KEYS = new Set(['onProgress', 'signal']);

function isTaskOptions(v: unknown): v is TaskOptions {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => TASK_OPTION_KEYS.has(k));
}

/** The client's own members; every other property is a XAPI class (`client.VM`, `client.host`…). */
export class XapiClient {
  constructor(private readonly conn: XapiSession) {}

  /** The host requests currently go to (the pool master). */
  get url(): string {
    return this.conn.url.href;
  }

  /** The transport in use: `json-rpc`, `xml-rpc`, or `auto` before the first call settled it. */
  get transport(): TransportKind {
    return this.conn.transportKind;
  }

  /**
   * Call any XAPI method by name; the session is added for you. Ints come back as bigint, datetimes
   * as Date, whichever transport carried them.
   */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.conn.call(method, args) as Promise<T>;
  }

  /**
   * Run `Async.<method>` and wait for its task through event.from; resolves to the task's decoded
   * result, rejects with the task's XapiError. A trailing `{onProgress, signal}` object is options.
   */
  callAsync<M extends keyof AsyncMethodArgs>(method: M, ...args: [...AsyncMethodArgs[M], TaskOptions?]): Promise<unknown>;
  callAsync(method: string, ...args: unknown[]): Promise<unknown>;
  callAsync(method: string, ...args: unknown[]): Promise<unknown> {
    const last = args[args.length - 1];
    const options = isTaskOptions(last) ? (args.pop() as TaskOptions) : {};
    return runAsync(this.conn, method, args, options);
  }

  /** Changes as an async iterator over event.from (see EventStream for resume and resync). */
  events(options: EventOptions = {}): EventStream {
    return new EventStream(this.conn, options);
  }

  importVdi(options: ImportVdiOptions): Promise<void> {
    return importVdi(this.conn, options);
  }

  exportVdi(options: ExportVdiOptions): Promise<void> {
    return exportVdi(this.conn, options);
  }

  /** Log out (unless the session was handed in) and close connections. */
  close(): Promise<void> {
    return this.conn.close();
  }

  /** The underlying connection, for the HTTP handlers and tests. */
  get connection(): XapiSession {
    return this.conn;
  }
}

/** A connected client: its own members plus one property per XAPI class, typed from xenapi.json. */
export type Xapi = XapiClient & XenApiClasses;

const classProxies = new WeakMap<XapiClient, Map<string, object>>();

function classProxy(client: XapiClient, cls: string): object {
  let byClass = classProxies.get(client);
  if (!byClass) classProxies.set(client, (byClass = new Map()));
  let proxy = byClass.get(cls);
  if (!proxy) {
    proxy = new Proxy(
      {},
      {
        get: (_t, name) => (typeof name === 'string' ? (...args: unknown[]) => client.call(`${cls}.${name}`, ...args) : undefined),
      },
    );
    byClass.set(cls, proxy);
  }
  return proxy;
}

for (const cls of CLASS_NAMES) {
  if (cls in XapiClient.prototype) throw new Error(`XAPI class ${cls} collides with a client member`);
  Object.defineProperty(XapiClient.prototype, cls, {
    get(this: XapiClient) {
      return classProxy(this, cls);
    },
  });
}

/**
 * Connect and log in (`session.login_with_password` with API version and originator), following
 * HOST_IS_SLAVE to the pool master. With `sessionId`, the session is used as is and not logged out.
 */
export async function connect(options: ConnectOptions): Promise<Xapi> {
  assertTlsMatchesScheme(parseBaseUrl(options.url), options.tls);
  const password = await resolvePassword(options);
  if (password === undefined && options.sessionId === undefined) {
    throw new XapiConfigError('connect needs a password, a passwordFile or a sessionId');
  }
  const conn = new XapiSession({ ...options, originator: options.originator ?? 'xenkit' }, password);
  if (options.sessionId === undefined) {
    try {
      await conn.relogin();
    } catch (e) {
      await conn.close();
      throw e;
    }
  }
  return new XapiClient(conn) as Xapi;
}
