import { OperationError, silentLogger, type Logger } from '@xenkit/core';
import { findEndpoint, openTransport, type Transport } from './transport.js';
import {
  MessageReader,
  XenstoreError,
  XsType,
  encodeMessage,
  formatPerm,
  isValidPath,
  joinStrings,
  parsePerm,
  splitStrings,
  typeName,
  type XsMessage,
  type XsPerm,
} from './wire.js';

export interface XenstoreClientOptions {
  /** Device or socket path; default: XENSTORED_PATH, /dev/xen/xenbus, /proc/xen/xenbus, xenstored's socket. */
  path?: string;
  logger?: Logger;
  /** Milliseconds to wait for one reply before failing the request (default 30 s). */
  timeoutMs?: number;
}

export interface WatchEvent {
  path: string;
  token: string;
}

type Pending = { reqId: number; resolve: (m: XsMessage) => void; reject: (e: Error) => void; type: number; path?: string };

/**
 * A xenstore client. Requests go out one at a time. xenstored echoes req_id, but the xenbus driver of
 * old guest kernels does not, so until a reply has carried back the id we sent, the next non-event
 * message is taken as the reply to the one request in flight. Once ids are seen echoed, a reply with
 * another id (the late answer to a request that timed out) is dropped. When a request times out on a
 * connection whose ids cannot be trusted, the connection is replaced before the next request (watches
 * are set again), so a late reply can never be taken for the answer to a later request. Watch events
 * are delivered to the handlers registered with {@link watch}.
 */
export class XenstoreClient {
  private reader = new MessageReader();
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  private inflight: Pending | undefined;
  private nextReqId = 1;
  private closedError: Error | undefined;
  /** Has this connection echoed a req_id we sent? Then replies are matched by id. */
  private idsEchoed = false;
  /** A request timed out on a connection that does not echo ids: replace it before the next one. */
  private needReconnect = false;
  private readonly watchers = new Map<string, { path: string; handler: (e: WatchEvent) => void }>();

  private constructor(
    private transport: Transport,
    private readonly endpointPath: string,
    options: XenstoreClientOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.attach(transport);
  }

  static async open(options: XenstoreClientOptions = {}): Promise<XenstoreClient> {
    const endpoint = findEndpoint(options.path);
    return new XenstoreClient(await openTransport(endpoint), endpoint, options);
  }

  get endpoint(): string {
    return this.transport.description;
  }

  /** Events from a replaced transport are ignored: they belong to the connection we gave up on. */
  private attach(transport: Transport): void {
    transport.onData((chunk) => {
      if (transport === this.transport) this.onData(chunk);
    });
    transport.onClose((error) => {
      if (transport !== this.transport) return;
      this.fail(new OperationError('E_XS_CLOSED', `xenstore connection ${transport.description} closed${error ? `: ${error.message}` : ''}`, { details: { path: transport.description } }));
    });
  }

  private onData(chunk: Buffer): void {
    let messages: XsMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.transport.close();
      return;
    }
    for (const m of messages) {
      if (m.type === XsType.WATCH_EVENT) {
        const [path, token] = splitStrings(m.payload);
        const watcher = token === undefined ? undefined : this.watchers.get(token);
        if (watcher && path !== undefined) {
          try {
            watcher.handler({ path, token: token as string });
          } catch (e) {
            this.logger.warn({ token, err: (e as Error).message }, 'xenstore watch handler threw');
          }
        } else this.logger.debug({ path, token }, 'xenstore watch event for an unknown token');
        continue;
      }
      const p = this.inflight;
      if (p && m.reqId === p.reqId) this.idsEchoed = true;
      else if (this.idsEchoed || !p) {
        this.logger.warn({ type: typeName(m.type), reqId: m.reqId, expected: p?.reqId }, 'xenstore reply matches no request in flight; dropped');
        continue;
      }
      this.inflight = undefined;
      p.resolve(m);
    }
  }

  private readonly closeHandlers: Array<(error: Error) => void> = [];

  /** Called once when the connection is lost (xenstored gone, device closed) or closed by us. */
  onClose(handler: (error: Error) => void): void {
    if (this.closedError) handler(this.closedError);
    else this.closeHandlers.push(handler);
  }

  private fail(error: Error): void {
    if (!this.closedError) {
      this.closedError = error;
      for (const h of this.closeHandlers.splice(0)) h(error);
    }
    const p = this.inflight;
    this.inflight = undefined;
    p?.reject(error);
  }

  /** One request and its reply on the current transport; callers serialise through {@link request}. */
  private exchange(type: number, payload: Buffer, txId: number, path?: string): Promise<XsMessage> {
    return new Promise<XsMessage>((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      const reqId = this.nextReqId;
      this.nextReqId = (this.nextReqId + 1) >>> 0 || 1;
      const timer = setTimeout(() => {
        if (this.inflight?.resolve === done) this.inflight = undefined;
        if (!this.idsEchoed) this.needReconnect = true;
        reject(new OperationError('E_XS_TIMEOUT', `xenstore ${typeName(type)}${path ? ` ${path}` : ''}: no reply within ${this.timeoutMs} ms`, { details: { path } }));
      }, this.timeoutMs);
      const done = (m: XsMessage): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.inflight = { reqId, resolve: done, reject: (e) => (clearTimeout(timer), reject(e)), type, path };
      try {
        this.transport.write(encodeMessage({ type, reqId, txId, payload }));
      } catch (e) {
        clearTimeout(timer);
        this.inflight = undefined;
        reject(e as Error);
      }
    });
  }

  /**
   * Replaces a connection that may still deliver a late reply. Transactions of the old connection
   * are gone (their ids fail with ENOENT); watches are set again, and fire once as on any WATCH.
   */
  private async reconnect(): Promise<void> {
    this.needReconnect = false;
    const old = this.transport;
    this.logger.warn({ path: this.endpointPath }, 'xenstore request timed out on a connection that does not echo req_id; reconnecting');
    let next: Transport;
    try {
      next = await openTransport(this.endpointPath);
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
    this.transport = next;
    this.reader = new MessageReader();
    this.idsEchoed = false;
    old.close();
    this.attach(next);
    for (const [token, { path }] of this.watchers) {
      const m = await this.exchange(XsType.WATCH, joinStrings([path, token]), 0, path);
      if (m.type === XsType.ERROR) this.logger.warn({ path, token, errno: splitStrings(m.payload)[0] }, 'xenstore watch could not be set again after reconnecting');
    }
  }

  /** Sends one request and waits for its reply; ERROR replies become {@link XenstoreError}. */
  request(type: number, payload: Buffer, txId = 0, path?: string): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      if (this.needReconnect && !this.closedError) await this.reconnect();
      const m = await this.exchange(type, payload, txId, path);
      if (m.type === XsType.ERROR) throw new XenstoreError(splitStrings(m.payload)[0] ?? 'EIO', typeName(type), path);
      return m.payload;
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private checkPath(path: string, op: string): void {
    if (!isValidPath(path)) throw new XenstoreError('EINVAL', op, path, `xenstore ${op}: invalid path ${JSON.stringify(path)}`);
  }

  async readBytes(path: string, txId = 0): Promise<Buffer> {
    this.checkPath(path, 'READ');
    return this.request(XsType.READ, joinStrings([path]), txId, path);
  }

  async read(path: string, txId = 0): Promise<string> {
    return (await this.readBytes(path, txId)).toString('utf8');
  }

  /** Value of `path`, or undefined when it does not exist. */
  async tryRead(path: string, txId = 0): Promise<string | undefined> {
    try {
      return await this.read(path, txId);
    } catch (e) {
      if (e instanceof XenstoreError && e.errno === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(path: string, value: string | Buffer, txId = 0): Promise<void> {
    this.checkPath(path, 'WRITE');
    const payload = Buffer.concat([Buffer.from(`${path}\0`), typeof value === 'string' ? Buffer.from(value, 'utf8') : value]);
    await this.request(XsType.WRITE, payload, txId, path);
  }

  async mkdir(path: string, txId = 0): Promise<void> {
    this.checkPath(path, 'MKDIR');
    await this.request(XsType.MKDIR, joinStrings([path]), txId, path);
  }

  async rm(path: string, txId = 0): Promise<void> {
    this.checkPath(path, 'RM');
    await this.request(XsType.RM, joinStrings([path]), txId, path);
  }

  /** Child names of `path`. */
  async directory(path: string, txId = 0): Promise<string[]> {
    this.checkPath(path, 'DIRECTORY');
    return splitStrings(await this.request(XsType.DIRECTORY, joinStrings([path]), txId, path));
  }

  async getPerms(path: string, txId = 0): Promise<XsPerm[]> {
    this.checkPath(path, 'GET_PERMS');
    const out: XsPerm[] = [];
    for (const s of splitStrings(await this.request(XsType.GET_PERMS, joinStrings([path]), txId, path))) {
      const p = parsePerm(s);
      if (p) out.push(p);
    }
    return out;
  }

  async setPerms(path: string, perms: readonly XsPerm[], txId = 0): Promise<void> {
    this.checkPath(path, 'SET_PERMS');
    await this.request(XsType.SET_PERMS, joinStrings([path, ...perms.map(formatPerm)]), txId, path);
  }

  async getDomainPath(domid: number): Promise<string> {
    return splitStrings(await this.request(XsType.GET_DOMAIN_PATH, joinStrings([String(domid)])))[0] ?? '';
  }

  async transactionStart(): Promise<number> {
    const id = Number(splitStrings(await this.request(XsType.TRANSACTION_START, joinStrings([''])))[0]);
    if (!Number.isInteger(id) || id <= 0) throw new XenstoreError('EIO', 'TRANSACTION_START', undefined, `xenstore returned a bad transaction id`);
    return id;
  }

  /** Commits (or aborts) a transaction; a conflict raises XenstoreError errno EAGAIN. */
  async transactionEnd(txId: number, commit: boolean): Promise<void> {
    await this.request(XsType.TRANSACTION_END, joinStrings([commit ? 'T' : 'F']), txId);
  }

  /** Runs `body` in a transaction, retrying the whole body on EAGAIN up to `attempts` times. */
  async transaction<T>(body: (txId: number) => Promise<T>, attempts = 16): Promise<T> {
    for (let i = 1; ; i++) {
      const tx = await this.transactionStart();
      let result: T;
      try {
        result = await body(tx);
      } catch (e) {
        await this.transactionEnd(tx, false).catch(() => undefined);
        throw e;
      }
      try {
        await this.transactionEnd(tx, true);
        return result;
      } catch (e) {
        if (!(e instanceof XenstoreError && e.errno === 'EAGAIN') || i >= attempts) throw e;
      }
    }
  }

  /** Registers a watch; xenstored fires it once at once and then on every change at or below `path`. */
  async watch(path: string, token: string, handler: (e: WatchEvent) => void): Promise<void> {
    this.checkPath(path, 'WATCH');
    this.watchers.set(token, { path, handler });
    try {
      await this.request(XsType.WATCH, joinStrings([path, token]), 0, path);
    } catch (e) {
      this.watchers.delete(token);
      throw e;
    }
  }

  async unwatch(path: string, token: string): Promise<void> {
    this.checkPath(path, 'UNWATCH');
    await this.request(XsType.UNWATCH, joinStrings([path, token]), 0, path);
    this.watchers.delete(token);
  }

  close(): void {
    this.fail(new OperationError('E_XS_CLOSED', `xenstore connection ${this.transport.description} closed`));
    this.transport.close();
  }
}
