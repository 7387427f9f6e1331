import { FsError } from './errors.js';

/** Split an absolute path into components, refusing NUL bytes and relative paths. */
export function splitPath(path: string, fs: string): string[] {
  if (!path.startsWith('/') || path.includes('\0')) {
    throw new FsError('E_FS_BAD_PATH', `${fs}: path must be absolute and free of NUL: ${JSON.stringify(path)}`, {
      path,
      fs,
    });
  }
  return path.split('/').filter((c) => c.length > 0 && c !== '.');
}

export function joinPath(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}
