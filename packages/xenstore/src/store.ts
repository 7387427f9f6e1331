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

/**
 * A xenstore tree: values, permissions and children, with the operations xenstored defines. Each
 * mutating call returns the paths whose state changed, so the caller can fire watches and detect
 * transaction conflicts.
 */
export class Store {
  readonly nodes: Map<string, XsNode>;
  gen = 0;

  constructor(nodes?: Map<string, XsNode>, gen = 0) {
    this.nodes = nodes ?? new Map([['/', { value: Buffer.alloc(0), perms: [{ domid: 0, perm: 'n' }], children: new Set(), gen: 0 }]]);
    this.gen = gen;
  }

  /** A copy for a transaction: nodes are copied, values are immutable buffers and are shared. */
  clone(): Store {
    const nodes = new Map<string, XsNode>();
    for (const [k, n] of this.nodes) nodes.set(k, { value: n.value, perms: n.perms, children: new Set(n.children), gen: n.gen });
    return new Store(nodes, this.gen);
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
    node.perms = perms;
    node.gen = ++this.gen;
    return [path];
  }
}
