import { isXenkitError, type XenkitError } from '@xenkit/core';
import { FsError, type ReadOnlyFileSystem } from '@xenkit/disk';

/**
 * What the image or tree cannot give us — a filesystem or disk input error (corrupt, missing,
 * unreadable) rather than a bug or an I/O failure of the host: lenient probes treat it as absent.
 */
export function isUnreadable(e: unknown): e is XenkitError {
  return isXenkitError(e) && e.category === 'input';
}

/** Config files we read are small; anything bigger is not a config file we understand. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Errors that mean "there is no such file" (a path through a non-directory, or a directory). */
const ABSENT = new Set(['E_FS_NOT_FOUND', 'E_FS_NOT_DIRECTORY', 'E_FS_IS_DIRECTORY']);

/**
 * A text file's contents, or null when it is missing or a directory. A file that exists but cannot
 * be read (over `maxBytes`, corrupt inode, symlink loop) throws its FsError: treating it as absent
 * would let a padded or damaged config pass as empty. The check runner reports it as status "error".
 */
export async function readText(fs: ReadOnlyFileSystem, path: string, maxBytes = MAX_CONFIG_BYTES): Promise<string | null> {
  const bytes = await readBytes(fs, path, maxBytes);
  return bytes === null ? null : decoder.decode(bytes);
}

/** readText's rule for bytes. */
export async function readBytes(fs: ReadOnlyFileSystem, path: string, maxBytes: number): Promise<Uint8Array | null> {
  try {
    return await fs.readFile(path, { maxBytes });
  } catch (e) {
    if (e instanceof FsError && ABSENT.has(e.code)) return null;
    throw e;
  }
}

/** For probes that only guess (OS detection): any unreadable file counts as absent. */
export async function readTextLenient(fs: ReadOnlyFileSystem, path: string, maxBytes = MAX_CONFIG_BYTES): Promise<string | null> {
  try {
    return decoder.decode(await fs.readFile(path, { maxBytes }));
  } catch (e) {
    if (isUnreadable(e)) return null;
    throw e;
  }
}

/** Directory entries, or [] when the directory is missing. */
export async function listDir(fs: ReadOnlyFileSystem, path: string): Promise<string[]> {
  try {
    return await fs.readdir(path);
  } catch (e) {
    if (isUnreadable(e)) return [];
    throw e;
  }
}

export async function isDir(fs: ReadOnlyFileSystem, path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).type === 'directory';
  } catch (e) {
    if (isUnreadable(e)) return false;
    throw e;
  }
}

export async function isFile(fs: ReadOnlyFileSystem, path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).type === 'file';
  } catch (e) {
    if (isUnreadable(e)) return false;
    throw e;
  }
}

/** The symlink target stored at `path`, or null when it is not a symlink. */
export async function linkTarget(fs: ReadOnlyFileSystem, path: string): Promise<string | null> {
  try {
    return await fs.readlink(path);
  } catch (e) {
    if (isUnreadable(e)) return null;
    throw e;
  }
}

/** Lines without comments (`#` to end of line when `#` starts the line or follows blanks) and blanks. */
export function meaningfulLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line.length > 0) out.push(line);
  }
  return out;
}

/** KEY=value pairs of a shell-style file (os-release, /etc/default/grub, ufw.conf), quotes removed. */
export function parseShellVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    vars.set(m[1] as string, unquote((m[2] as string).trim()));
  }
  return vars;
}

/**
 * Shell-style assignments evaluated in file order, as `.`/`source` would: `$X`/`${X}` expand to the
 * value so far (from `vars`, updated in place), single quotes are literal, double quotes expand, and
 * an unquoted word ends at a blank. No command substitution or other expansions.
 */
export function evalShellAssignments(text: string, vars: Map<string, string>): void {
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (m) vars.set(m[1] as string, expandWord(m[2] as string, vars));
  }
}

function expandWord(src: string, vars: Map<string, string>): string {
  let out = '';
  let i = 0;
  const expandAt = (): void => {
    // src[i] === '$'
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(src.slice(i));
    const bare = braced ? null : /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i));
    const m = braced ?? bare;
    if (m) {
      out += vars.get(m[1] as string) ?? '';
      i += m[0].length;
    } else {
      out += '$';
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      out += end === -1 ? src.slice(i + 1) : src.slice(i + 1, end);
      i = end === -1 ? src.length : end + 1;
    } else if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length && '"\\$`'.includes(src[i + 1] as string)) {
          out += src[i + 1];
          i += 2;
        } else if (src[i] === '$') expandAt();
        else out += src[i++];
      }
      i++;
    } else if (/\s/.test(c)) break;
    else if (c === '$') expandAt();
    else if (c === '\\' && i + 1 < src.length) {
      out += src[i + 1];
      i += 2;
    } else out += src[i++];
  }
  return out;
}

/** Remove one level of shell quoting from a simple value (no command substitution). */
export function unquote(value: string): string {
  let v = value;
  if (!v.startsWith('"') && !v.startsWith("'")) v = v.replace(/\s+#.*$/, '');
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0] as string)) {
    v = v.slice(1, -1);
    if (value[0] === '"') v = v.replace(/\\(["\\$`])/g, '$1');
  }
  return v;
}

/** One path component's glob(3)/fnmatch pattern (`*`, `?`, `[..]`, `[!..]`) as a RegExp. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    // A malformed bracket ("[z-a]") matches nothing, as fnmatch treats an invalid range.
    return /(?!)/;
  }
}

/** Path helpers for POSIX paths inside a guest. */
export function joinGuest(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}
