import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { OperationError, silentLogger, type Logger } from '@xenkit/core';

/**
 * Writes into directories other users control (a user's `~/.ssh`) without handing them a root
 * write primitive. The walk and the write run in a child process with the target user's uid/gid:
 * a symlink or hardlink swapped in after our checks can then only reach what the user could write
 * anyway. The child also refuses every symlink in the path (lstat per component, O_NOFOLLOW on the
 * file), refuses a target with more than one link, and replaces files by temp file + fsync + rename,
 * so a crash leaves either the old or the new file.
 *
 * The child program is plain JavaScript run with `node -e`, so it works the same from the bundled
 * agent, from tsx and from tests.
 */
const CHILD = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const c = fs.constants;
const a = JSON.parse(process.argv[1]);
const fail = (code, message) => { process.stderr.write(JSON.stringify({ code, message })); process.exit(3); };
// The parent's callers check their paths, but this process is the last line: one component that
// climbs (..), restarts at / or is empty would turn the lstat walk below into a check of the wrong path.
const badPart = (p) => typeof p !== 'string' || p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\0');
if (!Array.isArray(a.dirs) || a.dirs.length > 64 || a.dirs.some(badPart) || badPart(a.name)) {
  fail('E_AGENT_UNSAFE_PATH', 'refusing path components ' + JSON.stringify([...(Array.isArray(a.dirs) ? a.dirs : [a.dirs]), a.name]).slice(0, 300) + ': each must be a plain name (not empty, ., .. or containing /)');
}
let dir = a.root;
for (const part of a.dirs) {
  dir = path.join(dir, part);
  let st;
  try { st = fs.lstatSync(dir); } catch (e) {
    if (e.code !== 'ENOENT' || !a.create) fail('E_AGENT_PATH_MISSING', dir + ' does not exist');
    try { fs.mkdirSync(dir, a.dirMode); } catch (e2) { fail('E_AGENT_MKDIR', 'cannot create ' + dir + ': ' + e2.message); }
    st = fs.lstatSync(dir);
  }
  if (st.isSymbolicLink()) fail('E_AGENT_UNSAFE_PATH', dir + ' is a symbolic link; refusing to follow it');
  if (!st.isDirectory()) fail('E_AGENT_UNSAFE_PATH', dir + ' is not a directory');
}
if (a.fixDirMode) {
  const st = fs.lstatSync(dir);
  if (st.uid !== process.getuid()) fail('E_AGENT_UNSAFE_PATH', dir + ' is owned by uid ' + st.uid + ', not ' + process.getuid());
  fs.chmodSync(dir, a.dirMode);
}
const target = path.join(dir, a.name);
let st = null;
try { st = fs.lstatSync(target); } catch (e) { if (e.code !== 'ENOENT') fail('E_AGENT_IO', e.message); }
if (a.op === 'symlink') {
  // Our own link is replaced by rename (never followed); anything else in its place is left alone.
  if (st && !st.isSymbolicLink() && !st.isFile()) fail('E_AGENT_UNSAFE_PATH', target + ' exists and is not a file or link');
  const tmp = path.join(dir, '.' + a.name + '.xenkit-' + process.pid + '-' + Date.now().toString(36));
  try { fs.symlinkSync(a.linkTarget, tmp); fs.renameSync(tmp, target); } catch (e) {
    try { fs.unlinkSync(tmp); } catch {}
    fail('E_AGENT_IO', 'linking ' + target + ' failed: ' + e.message);
  }
  process.stdout.write(target);
  process.exit(0);
}
if (st && st.isSymbolicLink()) fail('E_AGENT_UNSAFE_PATH', target + ' is a symbolic link; refusing to follow it');
if (st && !st.isFile()) fail('E_AGENT_UNSAFE_PATH', target + ' is not a regular file');
if (st && st.nlink > 1) fail('E_AGENT_UNSAFE_PATH', target + ' has ' + st.nlink + ' hard links; refusing to touch it');
if (a.op === 'read') {
  if (!st) process.exit(4);
  let fd;
  try { fd = fs.openSync(target, c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK); } catch (e) { fail('E_AGENT_UNSAFE_PATH', 'cannot open ' + target + ': ' + e.code); }
  const fst = fs.fstatSync(fd);
  if (!fst.isFile() || fst.nlink > 1 || fst.ino !== st.ino) fail('E_AGENT_UNSAFE_PATH', target + ' changed while being opened');
  if (fst.size > a.maxBytes) fail('E_AGENT_TOO_LARGE', target + ' is ' + fst.size + ' bytes, over ' + a.maxBytes);
  const buf = Buffer.alloc(fst.size);
  let off = 0;
  while (off < buf.length) { const n = fs.readSync(fd, buf, off, buf.length - off, off); if (n === 0) break; off += n; }
  process.stdout.write(buf.subarray(0, off));
  process.exit(0);
}
const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', () => {
  const data = Buffer.concat(chunks);
  // Temp files of a writer that died before its rename are ours to remove (names are unique, so
  // they never block a write; this only keeps the directory clean).
  const prefix = '.' + a.name + '.xenkit-';
  for (const n of fs.readdirSync(dir).slice(0, 10000)) {
    if (!n.startsWith(prefix)) continue;
    try { if (fs.lstatSync(path.join(dir, n)).isFile()) fs.unlinkSync(path.join(dir, n)); } catch {}
  }
  const tmp = path.join(dir, prefix + process.pid + '-' + Date.now().toString(36));
  let fd;
  try { fd = fs.openSync(tmp, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, a.mode); } catch (e) { fail('E_AGENT_IO', 'cannot create ' + tmp + ': ' + e.message); }
  try {
    fs.writeSync(fd, data);
    fs.fchmodSync(fd, a.mode);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
    const dfd = fs.openSync(dir, c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW);
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch {}
    fail('E_AGENT_IO', 'writing ' + target + ' failed: ' + e.message);
  }
  process.stdout.write(target);
});
`;

export class SafeWriteError extends OperationError {
  constructor(code: string, message: string, details: Record<string, unknown>) {
    super(code, message, { details });
    this.name = 'SafeWriteError';
  }
}

export interface SafeTarget {
  /** The tree the path lives in ('/' on a live guest; the image root with --root). Not checked for links. */
  root: string;
  /** Directory components below root, each refused if it is a symlink. */
  dirs: string[];
  name: string;
  uid: number;
  gid: number;
  /** Create missing directories (with dirMode, owned by uid:gid). */
  create?: boolean;
  /** chmod the last directory to dirMode (e.g. `.ssh` 0700); it must belong to uid. */
  fixDirMode?: boolean;
  mode?: number;
  dirMode?: number;
}

const MAX_READ = 1024 * 1024;

function runChild(target: SafeTarget, op: 'read' | 'write' | 'symlink', input?: Buffer, linkTarget?: string): Promise<Buffer | undefined> {
  const args = {
    op,
    linkTarget,
    root: target.root,
    dirs: target.dirs,
    name: target.name,
    create: target.create ?? false,
    fixDirMode: target.fixDirMode ?? false,
    mode: target.mode ?? 0o600,
    dirMode: target.dirMode ?? 0o700,
    maxBytes: MAX_READ,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, JSON.stringify(args)], {
      uid: target.uid,
      gid: target.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {},
      timeout: 30_000,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new SafeWriteError('E_AGENT_IO', `cannot start the writer process: ${e.message}`, { name: target.name })));
    child.on('close', (status) => {
      if (status === 0) return resolve(Buffer.concat(out));
      if (status === 4 && op === 'read') return resolve(undefined);
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(err) as typeof parsed;
      } catch {
        parsed = { code: 'E_AGENT_IO', message: err.trim() || `writer exited ${status}` };
      }
      reject(new SafeWriteError(parsed.code ?? 'E_AGENT_IO', parsed.message ?? 'write failed', { dirs: target.dirs, name: target.name, uid: target.uid }));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** Reads the target as its user; undefined when it does not exist. */
export async function safeRead(target: SafeTarget): Promise<Buffer | undefined> {
  return runChild(target, 'read');
}

/** Replaces the target atomically as its user; returns the host path written. */
export async function safeWrite(target: SafeTarget, data: Buffer, logger: Logger = silentLogger): Promise<string> {
  const written = String(await runChild(target, 'write', data));
  await restoreContext(target.root, written, logger);
  return written;
}

/**
 * Points the target at `linkTarget` (a path inside the guest, stored verbatim and never followed
 * here), replacing a file or link of that name atomically; the directories are walked as for writes.
 */
export async function safeSymlink(target: SafeTarget, linkTarget: string): Promise<string> {
  return String(await runChild(target, 'symlink', undefined, linkTarget));
}

/** Relabels a written file when SELinux is enforcing on a live guest (never inside a --root tree). */
export async function restoreContext(root: string, path: string, logger: Logger): Promise<void> {
  if (root !== '/') return;
  const enforce = '/sys/fs/selinux/enforce';
  if (!existsSync(enforce) || readFileSync(enforce, 'utf8').trim() !== '1') return;
  await new Promise<void>((resolve) => {
    const child = spawn('restorecon', ['-F', path], { stdio: 'ignore' });
    child.on('error', (e) => (logger.warn({ path, err: e.message }, 'restorecon failed'), resolve()));
    child.on('close', () => resolve());
  });
}
