import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { redactText, silentLogger, toXenkitError, type Logger } from '@xenkit/core';
import { XapiConfigError, XapiProtocolError, isTransportFailure, isXapiError } from './errors.js';
import { Pins, assertTlsMatchesScheme, createDispatcher, type HttpTimeouts, type TlsOptions } from './http.js';
import { RpcTransport, type RpcRequestOptions, type TransportKind } from './rpc.js';
import { convertResult } from './wire/shape.js';

export interface ConnectOptions {
  /** `https://host` (or `http://` for a lab host); a path is ignored. */
  url: string;
  user?: string;
  password?: string;
  /** Read the password from this file (first line), like `xe -pwf`. */
  passwordFile?: string;
  /** Use an existing session instead of logging in; it is not logged out on close(). */
  sessionId?: string;
  transport?: TransportKind;
  tls?: TlsOptions;
  /** Who is calling, shown in XAPI's session list and used for its per-originator session limit. */
  originator?: string;
  timeouts?: HttpTimeouts & {
    /** How long one event.from call waits for events, seconds (default 30). */
    eventWait?: number;
  };
  /** Transport retries of idempotent reads (default 4) and the first backoff delay in ms (default 200). */
  retry?: { attempts?: number; delayMs?: number };
  logger?: Logger;
}

export type ConnectionInfo = Required<Pick<ConnectOptions, 'originator'>> & { url: URL; transport: TransportKind };

/** Calls that only read, and so may be sent again after a transport failure or to another host. */
export function isIdempotent(method: string): boolean {
  return /^[^.]+\.get_/.test(method) || method === 'event.from' || method === 'system.listMethods' || method === 'event.inject';
}

const API_VERSION = '1.1';
const MAX_MASTER_HOPS = 3;

/**
 * The connection to one pool: the session, the host currently spoken to (the master), the other pool
 * members to fail over to, and the retry policy. `call` is the one way requests go out.
 */
export class XapiSession {
  private transport: RpcTransport;
  private session: string | undefined;
  private login: Promise<void> | undefined;
  private members: string[] = [];
  readonly dispatcher: Dispatcher;
  /** Pinned certificates: those given, and each pool member's as the master reports it. */
  readonly pins: Pins;
  readonly logger: Logger;
  closed = false;

  constructor(
    readonly options: ConnectOptions & { originator: string },
    private password: string | undefined,
  ) {
    this.logger = options.logger ?? silentLogger;
    const base = parseBaseUrl(options.url);
    assertTlsMatchesScheme(base, options.tls);
    this.pins = new Pins(options.tls);
    this.dispatcher = createDispatcher(options.tls, options.timeouts, this.pins);
    this.transport = this.transportFor(base);
    this.session = options.sessionId;
  }

  /** The host requests go to now (the pool master once logged in). */
  get url(): URL {
    return this.transport.baseUrl;
  }

  get transportKind(): TransportKind {
    return this.transport.kind;
  }

  /** The session ref: a credential. Only the HTTP handlers need it; never log it. */
  async sessionRef(): Promise<string> {
    if (!this.session) await this.relogin();
    return this.session!;
  }

  /** Addresses of the pool's hosts as XAPI lists them (learnt at login); where redirects may go. */
  get poolMembers(): readonly string[] {
    return this.members;
  }

  get eventWait(): number {
    return this.options.timeouts?.eventWait ?? 30;
  }

  private transportFor(url: URL): RpcTransport {
    return new RpcTransport(url, this.dispatcher, this.options.transport ?? 'auto', this.logger, `xenkit (${this.options.originator})`);
  }

  /** Log in (again), following HOST_IS_SLAVE to the master. Concurrent callers share one login. */
  relogin(): Promise<void> {
    this.login ??= this.doLogin().finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  private async doLogin(): Promise<void> {
    if (this.password === undefined) {
      throw new XapiProtocolError('E_XAPI_CONFIG', 'the session is no longer valid and no password is known to log in again');
    }
    for (let hop = 0; ; hop++) {
      try {
        const ref = await this.transport.call('session.login_with_password', [
          this.options.user ?? 'root',
          this.password,
          API_VERSION,
          this.options.originator,
        ]);
        this.session = String(ref);
        this.logger.debug({ host: this.url.host, transport: this.transport.kind }, 'logged in to XAPI');
        break;
      } catch (e) {
        if (isXapiError(e, 'HOST_IS_SLAVE') && hop < MAX_MASTER_HOPS && e.params[0]) {
          this.logger.info({ host: this.url.host, master: e.params[0] }, 'host is a pool member; going to the master');
          this.transport = this.transportFor(withHost(this.url, e.params[0]));
          continue;
        }
        throw e;
      }
    }
    await this.learnMembers();
  }

  // The other pool members are where to go when the master stops answering; ask while it still does.
  private async learnMembers(): Promise<void> {
    try {
      const hosts = (await this.transport.call('host.get_all_records', [this.session])) as Record<string, { address?: string }>;
      const withAddress = Object.entries(hosts).filter((e): e is [string, { address: string }] => typeof e[1].address === 'string' && e[1].address.length > 0);
      this.members = withAddress.map(([, h]) => h.address);
      if (this.pins.active) await this.learnPins(withAddress);
    } catch (e) {
      this.logger.debug({ err: redactText(String(e)) }, 'could not list pool members for failover');
    }
  }

  /**
   * Each member has its own self-signed certificate; the pinned master vouches for them, so hops to
   * a member (HOST_IS_SLAVE, failover, a transfer's 302) pass the pin check. A host without the call
   * (or a failure) leaves that member to the fingerprints given.
   */
  private async learnPins(hosts: Array<[string, { address: string }]>): Promise<void> {
    for (const [ref, h] of hosts) {
      try {
        const pem = await this.transport.call('host.get_server_certificate', [this.session, ref]);
        const fp = this.pins.learn(h.address, String(pem));
        this.logger.debug({ host: h.address, fingerprint: fp }, 'pinned pool member certificate');
      } catch (e) {
        this.logger.debug({ host: h.address, err: redactText(String(e)) }, 'could not fetch a pool member certificate');
      }
    }
  }

  /** Call `method` with the session prepended; converts the result to xenkit's representation. */
  async call(method: string, args: readonly unknown[], options: RpcRequestOptions = {}): Promise<unknown> {
    const raw = await this.callRaw(method, args, options);
    return method.startsWith('Async.') ? raw : convertResult(method, raw);
  }

  async callRaw(method: string, args: readonly unknown[], options: RpcRequestOptions = {}): Promise<unknown> {
    if (this.closed) throw new XapiProtocolError('E_XAPI_CONFIG', `${method}: the client is closed`);
    const noSession = method.startsWith('system.') || method === 'session.login_with_password';
    if (!noSession && !this.session) await this.relogin();
    const attempts = this.options.retry?.attempts ?? 4;
    let delay = this.options.retry?.delayMs ?? 200;
    let reloggedIn = false;
    for (let attempt = 0; ; attempt++) {
      const params = noSession ? args : [this.session, ...args];
      try {
        this.logger.trace({ method, host: this.url.host }, 'xapi call');
        return await this.transport.call(method, params, options);
      } catch (e) {
        if (isXapiError(e, 'SESSION_INVALID') && !noSession && !reloggedIn && this.password !== undefined) {
          reloggedIn = true;
          this.logger.info({ method }, 'XAPI session invalid; logging in again');
          await this.relogin();
          continue;
        }
        if (isXapiError(e, 'HOST_IS_SLAVE') && e.params[0] && attempt < MAX_MASTER_HOPS) {
          this.transport = this.transportFor(withHost(this.url, e.params[0]));
          continue;
        }
        if (!isTransportFailure(e) || !isIdempotent(method) || options.signal?.aborted || attempt + 1 >= attempts) throw e;
        this.logger.warn({ method, host: this.url.host, attempt: attempt + 1, err: (e as Error).message }, 'XAPI call failed; retrying');
        await sleep(delay, options.signal);
        delay = Math.min(delay * 2, 5_000);
        if (attempt >= 1) await this.failover();
      }
    }
  }

  /**
   * The master stopped answering: find who is master now among the pool members we know (a member
   * answers login with HOST_IS_SLAVE naming the master). The current host stays if none answers.
   */
  async failover(): Promise<boolean> {
    const current = this.url.hostname;
    for (const member of this.members) {
      if (member === current || member === current.replace(/^\[|\]$/g, '')) continue;
      const saved = this.transport;
      this.transport = this.transportFor(withHost(saved.baseUrl, member));
      try {
        await this.doLogin();
        this.logger.info({ from: current, to: this.url.host }, 'failed over to another pool member');
        return true;
      } catch {
        this.transport = saved;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.session && this.password !== undefined) await this.transport.call('session.logout', [this.session], { timeout: 5_000 });
    } catch (e) {
      this.logger.debug({ err: redactText(String(e)) }, 'logout failed');
    } finally {
      this.closed = true;
      this.session = undefined;
      await this.dispatcher.close().catch(() => undefined);
    }
  }
}

export async function resolvePassword(options: ConnectOptions): Promise<string | undefined> {
  if (options.password !== undefined) return options.password;
  if (options.passwordFile === undefined) return undefined;
  try {
    const text = await readFile(options.passwordFile, 'utf8');
    return text.split(/\r?\n/)[0] ?? '';
  } catch (e) {
    throw toXenkitError(e, { path: options.passwordFile });
  }
}

export function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new XapiConfigError(`not a XAPI URL: ${redactText(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new XapiConfigError(`XAPI URL must be http: or https:, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new XapiConfigError('put credentials in user/password, not in the URL');
  return new URL(`${url.protocol}//${url.host}/`);
}

/** The same scheme and port on another host (XAPI names the master by address only). */
export function withHost(url: URL, host: string): URL {
  const next = new URL(url.href);
  next.hostname = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return next;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new XapiProtocolError('E_XAPI_ABORTED', 'aborted'));
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(new XapiProtocolError('E_XAPI_ABORTED', 'aborted'));
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
