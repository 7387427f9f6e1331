import { FsError } from './errors.js';
import { joinPath, splitPath } from './path.js';
import { MAX_SYMLINK_HOPS, type FileStat } from './types.js';

/** The two primitives a filesystem backend provides; path resolution is shared by every backend. */
export interface ResolveOps {
  /** lstat of a canonical path whose parents are real directories; null when it does not exist. */
  lstatCanonical(path: string): Promise<FileStat | null>;
  readlinkCanonical(path: string): Promise<string>;
}

/**
 * Resolve `path` to a canonical path inside the root, following symlinks as the kernel would if the
 * root were chroot'ed: absolute targets restart at the root, ".." stops at the root. Every component
 * of the result except possibly the last is a real directory, so a backend may open it without any
 * further link following.
 *
 * @param followLast follow a symlink in the last component (stat) or not (lstat).
 * @returns the canonical path and the lstat of its last component (null if it does not exist and
 *   `allowMissingLast` is set).
 */
export async function resolvePath(
  ops: ResolveOps,
  path: string,
  fs: string,
  followLast: boolean,
): Promise<{ path: string; stat: FileStat }> {
  const pending = splitPath(path, fs).reverse();
  const resolved: string[] = [];
  let hops = 0;
  let stat: FileStat | null = null;
  // The root itself.
  if (pending.length === 0) {
    stat = await ops.lstatCanonical('/');
    if (!stat) throw notFound(path, fs);
    return { path: '/', stat };
  }
  while (pending.length > 0) {
    const component = pending.pop() as string;
    if (component === '..') {
      resolved.pop();
      stat = await ops.lstatCanonical(joinPath(resolved));
      continue;
    }
    const candidate = joinPath([...resolved, component]);
    const st = await ops.lstatCanonical(candidate);
    if (!st) throw notFound(path, fs, candidate);
    const isLast = pending.length === 0;
    if (st.type === 'symlink' && (!isLast || followLast)) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new FsError('E_FS_SYMLINK_LOOP', `${fs}: too many levels of symbolic links resolving ${path}`, {
          path,
          fs,
        });
      }
      const target = await ops.readlinkCanonical(candidate);
      if (target.length === 0 || target.includes('\0')) throw notFound(path, fs, candidate);
      if (target.startsWith('/')) resolved.length = 0;
      const parts = target.split('/').filter((c) => c.length > 0 && c !== '.');
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
      if (parts.length === 0) stat = await ops.lstatCanonical(joinPath(resolved));
      continue;
    }
    if (!isLast && st.type !== 'directory') {
      throw new FsError('E_FS_NOT_DIRECTORY', `${fs}: ${candidate} is not a directory (resolving ${path})`, {
        path,
        fs,
      });
    }
    resolved.push(component);
    stat = st;
  }
  if (!stat) throw notFound(path, fs);
  return { path: joinPath(resolved), stat };
}

function notFound(path: string, fs: string, at?: string): FsError {
  const where = at && at !== path ? ` (${at} is missing)` : '';
  // A missing path is the common answer to a probe (checks ask for hundreds of files that may not
  // exist), not a fault to trace: capturing a stack for each would cost more than the lookup.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new FsError('E_FS_NOT_FOUND', `${fs}: no such file or directory: ${path}${where}`, { path, fs });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
