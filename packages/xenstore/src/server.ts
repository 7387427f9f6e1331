import { lstatSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { OperationError, silentLogger, type Logger } from '@xenkit/core';
import { Store, StoreError, allowed, isUnder } from './store.js';
import {
  MessageReader,
  XENSTORE_PAYLOAD_MAX,
  XsType,
  encodeMessage,
  isValidPath,
  joinStrings,
  parsePerm,
  splitStrings,
  typeName,
  type XsMessage,
  type XsPerm,
} from './wire.js';

interface Watch {
  /** As the client gave it (relative paths are reported back relative). */
  path: string;
  abs: string;
  token: string;
}

interface Transaction {
  id: number;
  startGen: number;
  store: Store;
  /** Mutations to replay on commit, with the path each one fires watches for. */
  ops: Array<{ op: (s: Store) => string[]; path: string }>;
  accessed: Set<string>;
}

interface Conn {
  socket: Socket;
  domid: number;
  watches: Watch[];
  txs: Map<number, Transaction>;
  nextTx: number;
  /** Requests read but not yet handled: they wait while the connection's replies are backed up. */
  queue: XsMessage[];
  backedUp: boolean;
}

/** xenstored's per-domain limits (command-line flags in brackets); they bind guest domains only. */
export interface XenstoreQuotas {
  /** Nodes one guest domain may own [-E, default 1000]. */
  entriesPerDomain: number;
  /** Bytes of one node's value a guest may write [-S, default 2048]. */
  entrySize: number;
  /** Watches one guest domain may hold [-W, default 128]. */
  watchesPerDomain: number;
  /** Open transactions of one guest domain [-t, default 10]. */
  transactionsPerDomain: number;
  /** Nodes one transaction may touch [-Q transaction-nodes, default 1024]; binds dom0 too. */
  transactionNodes: number;
}

export const DEFAULT_QUOTAS: XenstoreQuotas = {
  entriesPerDomain: 1000,
  entrySize: 2048,
  watchesPerDomain: 128,
  transactionsPerDomain: 10,
  transactionNodes: 1024,
};

export interface XenstoreServerOptions {
  logger?: Logger;
  quotas?: Partial<XenstoreQuotas>;
  /**
   * How a guest over quota is answered: C xenstored sends ENOSPC (E2BIG for watches), oxenstored
   * sends EQUOTA for every quota.
   */
  quotaErrors?: 'xenstored' | 'oxenstored';
}

/**
 * A socket left by an earlier run is replaced; anything else at `path` (a file, a directory, a
 * symlink) belongs to someone else and is left alone.
 */
function removeStaleSocket(path: string): void {
  let kind: string;
  try {
    const st = lstatSync(path);
    if (st.isSocket()) {
      rmSync(path);
      return;
    }
    kind = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'not a socket';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new OperationError('E_XS_LISTEN_PATH', `cannot listen on ${path}: ${(e as Error).message}`, { details: { path }, cause: e });
  }
  throw new OperationError('E_XS_LISTEN_PATH', `cannot listen on ${path}: it is ${kind}, not a stale socket; remove it or choose another path`, {
    details: { path, kind },
  });
}

/** Limits on dom0's connections too, which the quotas exempt: this server serves tests and labs. */
const MAX_TX_PER_CONN = 16;
const MAX_WATCHES_PER_CONN = 128;
/** Replies and events queued to a connection that stopped reading; past this it is dropped. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * A small xenstored on unix sockets, for tests and the lab. Each socket is bound to a domain id:
 * dom0's socket acts with full rights (where `xenstore-*` and nova's host side connect); a guest's
 * socket resolves relative paths against `/local/domain/<id>` and is held to node permissions, as
 * xenstored does for a guest's ring.
 */
export class XenstoreServer {
  readonly store: Store;
  readonly quotas: XenstoreQuotas;
  private readonly servers: Array<{ server: Server; path: string }> = [];
  private readonly conns = new Set<Conn>();
  /**
   * Generation of the last change to each path, kept only while a transaction is open and only for
   * changes newer than the oldest open transaction: what a commit needs to detect a conflict.
   */
  private readonly changeLog = new Map<string, number>();
  private readonly logger: Logger;
  private readonly errnos: { entries: string; watches: string; transactions: string };

  constructor(options: XenstoreServerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
    const o = options.quotaErrors === 'oxenstored';
    this.errnos = { entries: o ? 'EQUOTA' : 'ENOSPC', watches: o ? 'EQUOTA' : 'E2BIG', transactions: o ? 'EQUOTA' : 'ENOSPC' };
    this.store = new Store(undefined, 0, { entriesPerDomain: this.quotas.entriesPerDomain, entrySize: this.quotas.entrySize, errno: this.errnos.entries });
    this.store.mkdir('/local/domain/0', 0);
  }

  /** Sizes of the server's bookkeeping, for monitoring and tests. */
  stats(): { connections: number; openTransactions: number; changeLogEntries: number } {
    let open = 0;
    for (const c of this.conns) open += c.txs.size;
    return { connections: this.conns.size, openTransactions: open, changeLogEntries: this.changeLog.size };
  }

  /** Listens on `path` as domain `domid`; a guest domain gets `/local/domain/<domid>` owned by it. */
  async listen(path: string, domid = 0): Promise<void> {
    removeStaleSocket(path);
    if (domid !== 0) {
      const home = `/local/domain/${domid}`;
      this.apply(this.store.mkdir(home, 0));
      this.apply(this.store.setPerms(home, [{ domid, perm: 'n' }], 0));
    }
    const server = createServer((socket) => this.accept(socket, domid));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    this.servers.push({ server, path });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await Promise.all(this.servers.map(({ server }) => new Promise((r) => server.close(r))));
    for (const { path } of this.servers) {
      try {
        if (lstatSync(path).isSocket()) rmSync(path);
      } catch {
        // Already gone.
      }
    }
  }

  private accept(socket: Socket, domid: number): void {
    const conn: Conn = { socket, domid, watches: [], txs: new Map(), nextTx: 1, queue: [], backedUp: false };
    this.conns.add(conn);
    const reader = new MessageReader();
    socket.on('data', (chunk) => {
      let msgs: XsMessage[];
      try {
        msgs = reader.push(chunk);
      } catch (e) {
        // An oversize message is fatal, as in xenstored: drop the connection.
        this.logger.warn({ err: (e as Error).message, domid }, 'xenstore: dropping connection after a bad message');
        socket.destroy();
        return;
      }
      conn.queue.push(...msgs);
      this.drainQueue(conn);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.conns.delete(conn);
      if (conn.txs.size > 0) {
        conn.txs.clear();
        this.pruneChangeLog();
      }
    });
  }

  /**
   * Replies wait in the socket while the client is slow; once they back up, the connection's input is
   * paused until they drain, so a client that never reads cannot make the server buffer without end.
   */
  private send(conn: Conn, msg: XsMessage): void {
    const { socket } = conn;
    if (socket.destroyed) return;
    if (msg.payload.length > XENSTORE_PAYLOAD_MAX) msg = { ...msg, type: XsType.ERROR, payload: joinStrings(['E2BIG']) };
    if (socket.writableLength > MAX_QUEUED_BYTES) {
      this.logger.warn({ domid: conn.domid, queued: socket.writableLength }, 'xenstore: dropping a connection that does not read its replies');
      socket.destroy();
      return;
    }
    if (!socket.write(encodeMessage(msg)) && !conn.backedUp) {
      conn.backedUp = true;
      socket.pause();
      socket.once('drain', () => {
        conn.backedUp = false;
        socket.resume();
        this.drainQueue(conn);
      });
    }
  }

  private drainQueue(conn: Conn): void {
    while (!conn.backedUp && !conn.socket.destroyed) {
      const m = conn.queue.shift();
      if (!m) return;
      this.handle(conn, m);
    }
  }

  private openTransactions(): Transaction[] {
    const out: Transaction[] = [];
    for (const c of this.conns) out.push(...c.txs.values());
    return out;
  }

  /** Drops changes no open transaction can conflict with (all of them when none is open). */
  private pruneChangeLog(): void {
    let oldest = Infinity;
    for (const t of this.openTransactions()) oldest = Math.min(oldest, t.startGen);
    if (oldest === Infinity) {
      this.changeLog.clear();
      return;
    }
    for (const [p, gen] of this.changeLog) if (gen <= oldest) this.changeLog.delete(p);
  }

  private abs(conn: Conn, path: string): string {
    if (!isValidPath(path) || path.startsWith('@')) throw new StoreError('EINVAL');
    return path.startsWith('/') ? path : `/local/domain/${conn.domid}/${path}`;
  }

  private apply(changed: string[]): void {
    if (!this.openTransactions().length) return;
    const gen = this.store.gen;
    for (const p of changed) this.changeLog.set(p, gen);
  }

  private handle(conn: Conn, m: XsMessage): void {
    const reply = (type: number, payload: Buffer): void => this.send(conn, { type, reqId: m.reqId, txId: m.txId, payload });
    try {
      const out = this.dispatch(conn, m);
      reply(m.type, out.payload);
      out.after?.();
    } catch (e) {
      const errno = e instanceof StoreError ? e.errno : 'EIO';
      if (!(e instanceof StoreError)) this.logger.error({ err: (e as Error).message, type: typeName(m.type) }, 'xenstore server error');
      reply(XsType.ERROR, joinStrings([errno]));
    }
  }

  private dispatch(conn: Conn, m: XsMessage): { payload: Buffer; after?: () => void } {
    const args = splitStrings(m.payload);
    const tx = m.txId === 0 ? undefined : conn.txs.get(m.txId);
    if (m.txId !== 0 && !tx) throw new StoreError('ENOENT');
    const store = tx ? tx.store : this.store;
    const ok = { payload: joinStrings(['OK']) };
    const touch = (p: string): void => void tx?.accessed.add(p);
    const mutate = (path: string, op: (s: Store) => string[]): void => {
      const changed = op(store);
      if (tx) {
        tx.ops.push({ op, path });
        for (const p of changed) tx.accessed.add(p);
      } else {
        this.apply(changed);
        this.fire([path]);
      }
    };
    switch (m.type) {
      case XsType.READ: {
        const p = this.abs(conn, args[0] ?? '');
        touch(p);
        return { payload: store.get(p, conn.domid).value };
      }
      case XsType.DIRECTORY: {
        const p = this.abs(conn, args[0] ?? '');
        touch(p);
        const children = [...store.get(p, conn.domid).children].sort();
        return { payload: children.length === 0 ? Buffer.alloc(0) : joinStrings(children) };
      }
      case XsType.DIRECTORY_PART: {
        const p = this.abs(conn, args[0] ?? '');
        touch(p);
        const node = store.get(p, conn.domid);
        const offset = Number(args[1] ?? '0');
        const all = joinStrings([...node.children].sort());
        if (!Number.isInteger(offset) || offset < 0 || offset > all.length) throw new StoreError('EINVAL');
        const chunk = all.subarray(offset, offset + 2048);
        return { payload: Buffer.concat([Buffer.from(`${node.gen}\0`), chunk, offset + chunk.length >= all.length ? Buffer.from('\0') : Buffer.alloc(0)]) };
      }
      case XsType.GET_PERMS: {
        const p = this.abs(conn, args[0] ?? '');
        touch(p);
        return { payload: joinStrings(store.get(p, conn.domid).perms.map((x) => `${x.perm}${x.domid}`)) };
      }
      case XsType.WRITE: {
        const nul = m.payload.indexOf(0);
        if (nul < 0) throw new StoreError('EINVAL');
        const p = this.abs(conn, m.payload.subarray(0, nul).toString('utf8'));
        const value = Buffer.from(m.payload.subarray(nul + 1));
        mutate(p, (s) => s.write(p, value, conn.domid));
        return ok;
      }
      case XsType.MKDIR: {
        const p = this.abs(conn, args[0] ?? '');
        mutate(p, (s) => s.mkdir(p, conn.domid));
        return ok;
      }
      case XsType.RM: {
        const p = this.abs(conn, args[0] ?? '');
        mutate(p, (s) => s.rm(p, conn.domid));
        return ok;
      }
      case XsType.SET_PERMS: {
        const p = this.abs(conn, args[0] ?? '');
        const perms = args.slice(1).map(parsePerm);
        if (perms.length === 0 || perms.some((x) => !x)) throw new StoreError('EINVAL');
        mutate(p, (s) => s.setPerms(p, perms as XsPerm[], conn.domid));
        return ok;
      }
      case XsType.WATCH: {
        const [path, token] = args;
        if (path === undefined || token === undefined) throw new StoreError('EINVAL');
        if (conn.watches.length >= MAX_WATCHES_PER_CONN) throw new StoreError('E2BIG');
        if (conn.domid !== 0 && this.domainConns(conn.domid).reduce((n, c) => n + c.watches.length, 0) >= this.quotas.watchesPerDomain) {
          throw new StoreError(this.errnos.watches);
        }
        const abs = path.startsWith('@') ? (isValidPath(path) ? path : '') : this.abs(conn, path);
        if (!abs) throw new StoreError('EINVAL');
        if (conn.watches.some((w) => w.path === path && w.token === token)) throw new StoreError('EEXIST');
        conn.watches.push({ path, abs, token });
        // Every watch fires once straight after it is set, so a client can read the initial state.
        return { ...ok, after: () => this.event(conn, path, token) };
      }
      case XsType.UNWATCH: {
        const [path, token] = args;
        const i = conn.watches.findIndex((w) => w.path === path && w.token === token);
        if (i < 0) throw new StoreError('ENOENT');
        conn.watches.splice(i, 1);
        return ok;
      }
      case XsType.RESET_WATCHES:
        conn.watches = [];
        return ok;
      case XsType.TRANSACTION_START: {
        if (m.txId !== 0) throw new StoreError('EBUSY');
        if (conn.txs.size >= MAX_TX_PER_CONN) throw new StoreError('ENOSPC');
        if (conn.domid !== 0 && this.domainConns(conn.domid).reduce((n, c) => n + c.txs.size, 0) >= this.quotas.transactionsPerDomain) {
          throw new StoreError(this.errnos.transactions);
        }
        const id = conn.nextTx++;
        conn.txs.set(id, { id, startGen: this.store.gen, store: this.store.overlay(this.quotas.transactionNodes), ops: [], accessed: new Set() });
        return { payload: joinStrings([String(id)]) };
      }
      case XsType.TRANSACTION_END: {
        if (!tx) throw new StoreError('EINVAL');
        const how = args[0];
        if (how !== 'T' && how !== 'F') throw new StoreError('EINVAL');
        conn.txs.delete(tx.id);
        try {
          if (how === 'T') this.commit(tx);
        } finally {
          this.pruneChangeLog();
        }
        return ok;
      }
      case XsType.GET_DOMAIN_PATH: {
        const id = Number(args[0]);
        if (!/^\d+$/.test(args[0] ?? '') || id > 0xffff) throw new StoreError('EINVAL');
        return { payload: joinStrings([`/local/domain/${id}`]) };
      }
      case XsType.IS_DOMAIN_INTRODUCED:
        return { payload: joinStrings([this.store.nodes.has(`/local/domain/${args[0]}`) ? 'T' : 'F']) };
      default:
        if (conn.domid !== 0) throw new StoreError('EACCES');
        throw new StoreError('ENOSYS');
    }
  }

  /** Commit: any path the transaction touched that changed since it started is a conflict. */
  private commit(tx: Transaction): void {
    for (const p of tx.accessed) {
      if ((this.changeLog.get(p) ?? -1) > tx.startGen) throw new StoreError('EAGAIN');
    }
    // Replayed on a fresh overlay first, so a commit that fails half-way (a quota reached meanwhile)
    // leaves the tree untouched.
    const replay = this.store.overlay();
    const changed: string[] = [];
    for (const { op } of tx.ops) changed.push(...op(replay));
    this.store.absorb(replay);
    this.apply(changed);
    this.fire(tx.ops.map((o) => o.path));
  }

  private domainConns(domid: number): Conn[] {
    return [...this.conns].filter((c) => c.domid === domid);
  }

  private event(conn: Conn, path: string, token: string): void {
    this.send(conn, { type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: joinStrings([path, token]) });
  }

  /** Fires watches at or above each changed path, and watches below a removed subtree. */
  private fire(changed: readonly string[]): void {
    for (const conn of this.conns) {
      for (const w of conn.watches) {
        if (w.abs.startsWith('@')) continue;
        const sent = new Set<string>();
        for (const p of new Set(changed)) {
          let at: string | undefined;
          if (isUnder(p, w.abs)) at = p;
          else if (isUnder(w.abs, p)) at = w.abs;
          if (!at || sent.has(at)) continue;
          const node = this.store.nodes.get(at);
          if (node && !allowed(node.perms, conn.domid, 'r')) continue;
          sent.add(at);
          const home = `/local/domain/${conn.domid}/`;
          this.event(conn, w.path.startsWith('/') || !at.startsWith(home) ? at : at.slice(home.length), w.token);
        }
      }
    }
  }
}
