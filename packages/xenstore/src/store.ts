import type { XsPerm } from './wire.js';

/** One node of the tree. Children are names; the tree is a flat map keyed by absolute path. */
export interface XsNode {
  value: Buffer;
  perms: XsPerm[];
  children: Set<string>;
  /** Generation of the last change to this node's value, perms or child list. */
  gen: number;
}

/** Raised inside the store; the server turns it into an ERROR reply naming `errno`. */
export class StoreError extends Error {
  constructor(readonly errno: string) {
    super(errno);
  }
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function leaf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isUnder(path: string, base: string): boolean {
  return path === base || base === '/' || path.startsWith(`${base}/`);
}

/** May `domid` read (`r`) or write (`w`) a node with these permissions? Dom0 may do anything. */
export function allowed(perms: readonly XsPerm[], domid: number, want: 'r' | 'w'): boolean {
  if (domid === 0) return true;
  const owner = perms[0];
  if (!owner) return false;
  if (owner.domid === domid) return true;
  const entry = perms.slice(1).find((p) => p.domid === domid) ?? owner;
  return entry.perm === 'b' || entry.perm === want;
}

/** The node map a {@link Store} works on: the tree itself, or a transaction's overlay of it. */
export interface NodeMap {
  get(path: string): XsNode | undefined;
  has(path: string): boolean;
  set(path: string, node: XsNode): void;
  delete(path: string): boolean;
}

/**
 * A transaction's view of the tree: a node is copied the first time the transaction touches it, so
 * starting a transaction costs nothing and its memory grows with what it touches, not with the tree.
 * Untouched nodes are read from the live tree, as xenstored's transactions do; a commit fails with
 * EAGAIN when anything the transaction read has changed since it started.
 */
export class OverlayNodes implements NodeMap {
  /** Touched nodes; null marks one removed in the transaction. */
  readonly local = new Map<string, XsNode | null>();

  constructor(
    private readonly base: NodeMap,
    private readonly maxNodes = Infinity,
  ) {}

  get(path: string): XsNode | undefined {
    const mine = this.local.get(path);
    if (mine !== undefined) return mine ?? undefined;
    const b = this.base.get(path);
    if (!b) return undefined;
    const copy: XsNode = { value: b.value, perms: b.perms, children: new Set(b.children), gen: b.gen };
    this.remember(path, copy);
    return copy;
  }

  has(path: string): boolean {
    const mine = this.local.get(path);
    return mine !== undefined ? mine !== null : this.base.has(path);
  }

  set(path: string, node: XsNode): void {
    this.remember(path, node);
  }

  delete(path: string): boolean {
    const had = this.has(path);
    this.remember(path, null);
    return had;
  }

  /** Writes the touched nodes into the tree underneath. */
  flush(): void {
    for (const [path, node] of this.local) {
      if (node) this.base.set(path, node);
      else this.base.delete(path);
    }
  }

  private remember(path: string, node: XsNode | null): void {
    if (!this.local.has(path) && this.local.size >= this.maxNodes) throw new StoreError('ENOSPC');
    this.local.set(path, node);
  }
}

/** Per-domain limits; they bind guest domains only, as xenstored exempts dom0. */
export interface StoreQuota {
  /** Nodes one guest domain may own (xenstored -E, default 1000). */
  entriesPerDomain: number;
  /** Bytes of one node's value a guest may write (xenstored -S, default 2048). */
  entrySize: number;
  /** The errno a guest gets when over quota: ENOSPC from xenstored, EQUOTA from oxenstored. */
  errno: string;
}

/**
 * A xenstore tree: values, permissions and children, with the operations xenstored defines. Each
 * mutating call returns the paths whose state changed, so the caller can fire watches and detect
 * transaction conflicts. Node counts per owner are kept for the entry quota.
 */
export class Store {
  readonly nodes: NodeMap;
  gen = 0;
  /** Nodes owned by each domain. */
  readonly owned: Map<number, number>;

  constructor(
    nodes?: NodeMap,
    gen = 0,
    readonly quota?: StoreQuota,
    owned?: Map<number, number>,
  ) {
    this.nodes = nodes ?? new Map([['/', { value: Buffer.alloc(0), perms: [{ domid: 0, perm: 'n' }], children: new Set(), gen: 0 }]]);
    this.gen = gen;
    this.owned = owned ?? new Map([[0, 1]]);
  }

  /** A transaction's view: copy-on-touch, at most `maxNodes` nodes touched. */
  overlay(maxNodes = Infinity): Store {
    return new Store(new OverlayNodes(this.nodes, maxNodes), this.gen, this.quota, new Map(this.owned));
  }

  /** Makes an overlay's changes part of this store (the overlay must have been made from it). */
  absorb(tx: Store): void {
    if (!(tx.nodes instanceof OverlayNodes)) throw new Error('absorb: not an overlay');
    tx.nodes.flush();
    this.gen = tx.gen;
    this.owned.clear();
    for (const [d, n] of tx.owned) this.owned.set(d, n);
  }

  private count(domid: number | undefined, delta: number): void {
    if (domid === undefined) return;
    const n = (this.owned.get(domid) ?? 0) + delta;
    if (n > 0) this.owned.set(domid, n);
    else this.owned.delete(domid);
  }

  private checkEntries(owner: number, creator: number): void {
    const q = this.quota;
    if (q && creator !== 0 && (this.owned.get(owner) ?? 0) >= q.entriesPerDomain) throw new StoreError(q.errno);
  }

  get(path: string, domid: number): XsNode {
    const node = this.nodes.get(path);
    if (!node) throw new StoreError('ENOENT');
    if (!allowed(node.perms, domid, 'r')) throw new StoreError('EACCES');
    return node;
  }

  /** Creates `path` and missing parents; new nodes inherit their parent's perms, owned by a guest creator. */
  private create(path: string, domid: number, changed: string[]): XsNode {
    const existing = this.nodes.get(path);
    if (existing) return existing;
    const parentPath = parentOf(path);
    const parent = this.create(parentPath, domid, changed);
    if (!allowed(parent.perms, domid, 'w')) throw new StoreError('EACCES');
    const perms = domid === 0 ? parent.perms : [{ domid, perm: parent.perms[0]?.perm ?? 'n' }, ...parent.perms.slice(1)];
    this.checkEntries(perms[0]!.domid, domid);
    this.count(perms[0]!.domid, 1);
    const node: XsNode = { value: Buffer.alloc(0), perms, children: new Set(), gen: ++this.gen };
    this.nodes.set(path, node);
    parent.children.add(leaf(path));
    parent.gen = this.gen;
    changed.push(path, parentPath);
    return node;
  }

  write(path: string, value: Buffer, domid: number): string[] {
    const changed: string[] = [];
    const existed = this.nodes.get(path);
    if (existed && !allowed(existed.perms, domid, 'w')) throw new StoreError('EACCES');
    if (this.quota && domid !== 0 && value.length > this.quota.entrySize) throw new StoreError(this.quota.errno);
    const node = this.create(path, domid, changed);
    node.value = value;
    node.gen = ++this.gen;
    if (!changed.includes(path)) changed.push(path);
    return changed;
  }

  mkdir(path: string, domid: number): string[] {
    const changed: string[] = [];
    this.create(path, domid, changed);
    return changed;
  }

  /** Removes a subtree. Absent path with a present parent is fine; absent parent is ENOENT. */
  rm(path: string, domid: number): string[] {
    if (path === '/') throw new StoreError('EINVAL');
    const node = this.nodes.get(path);
    if (!node) {
      if (this.nodes.has(parentOf(path))) return [];
      throw new StoreError('ENOENT');
    }
    if (!allowed(node.perms, domid, 'w')) throw new StoreError('EACCES');
    const removed: string[] = [];
    const walk = (p: string): void => {
      const n = this.nodes.get(p);
      if (!n) return;
      for (const c of n.children) walk(p === '/' ? `/${c}` : `${p}/${c}`);
      this.count(n.perms[0]?.domid, -1);
      this.nodes.delete(p);
      removed.push(p);
    };
    walk(path);
    const parent = this.nodes.get(parentOf(path));
    if (parent) {
      parent.children.delete(leaf(path));
      parent.gen = ++this.gen;
    }
    return [...removed, parentOf(path)];
  }

  setPerms(path: string, perms: XsPerm[], domid: number): string[] {
    const node = this.nodes.get(path);
    if (!node) throw new StoreError('ENOENT');
    if (domid !== 0 && node.perms[0]?.domid !== domid) throw new StoreError('EACCES');
    if (perms.length === 0) throw new StoreError('EINVAL');
    const from = node.perms[0]?.domid;
    const to = perms[0]!.domid;
    if (from !== to) {
      this.checkEntries(to, domid);
      this.count(from, -1);
      this.count(to, 1);
    }
    node.perms = perms;
    node.gen = ++this.gen;
    return [path];
  }
}
