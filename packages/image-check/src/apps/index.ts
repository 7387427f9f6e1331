import { FsError, type ReadOnlyFileSystem } from '@xenkit/disk';
import { ImageCheckInputError } from '../errors.js';
import { listDir, readBytes, readText } from '../text.js';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { parsePacmanDesc } from './pacman.js';
import { MAX_PACKAGES, type Application } from './types.js';

export type { Application } from './types.js';

// A full Debian desktop's status file is ~5 MiB and a big rpmdb.sqlite ~200 MiB; the text databases
// are decoded to one string, so they get the lower cap.
const MAX_TEXT_DB_BYTES = 64 * 1024 * 1024;
const MAX_DB_BYTES = 256 * 1024 * 1024;

/** A database over its cap is reported as such, never skipped for the next format's. */
async function guard<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof FsError && e.code === 'E_FS_TOO_LARGE') {
      throw new ImageCheckInputError('E_PACKAGE_DB_TOO_LARGE', `${path}: the package database is too large to read (${e.message})`, { path });
    }
    throw e;
  }
}

/**
 * Installed packages from the guest's package database: dpkg status, rpm's rpmdb.sqlite (rpm ≥ 4.16;
 * the older BerkeleyDB `Packages` file is not read and gives `null`, "unknown"), apk and pacman.
 */
export async function listApplications(fs: ReadOnlyFileSystem, packageFormat: string | undefined): Promise<Application[] | null> {
  if (packageFormat === 'deb' || packageFormat === undefined) {
    const text = await guard('/var/lib/dpkg/status', () => readText(fs, '/var/lib/dpkg/status', MAX_TEXT_DB_BYTES));
    if (text !== null) return parseDpkgStatus(text);
  }
  if (packageFormat === 'rpm' || packageFormat === undefined) {
    for (const dir of ['/var/lib/rpm', '/usr/lib/sysimage/rpm']) {
      const db = await guard(`${dir}/rpmdb.sqlite`, () => readBytes(fs, `${dir}/rpmdb.sqlite`, MAX_DB_BYTES));
      if (!db) continue;
      const wal = await guard(`${dir}/rpmdb.sqlite-wal`, () => readBytes(fs, `${dir}/rpmdb.sqlite-wal`, MAX_DB_BYTES));
      // The SQLite reader is loaded only for rpm guests.
      const { readRpmSqlite } = await import('./rpm.js');
      return readRpmSqlite(db, `${dir}/rpmdb.sqlite`, wal ?? undefined);
    }
  }
  if (packageFormat === 'apk' || packageFormat === undefined) {
    const text = await guard('/lib/apk/db/installed', () => readText(fs, '/lib/apk/db/installed', MAX_TEXT_DB_BYTES));
    if (text !== null) return parseApkInstalled(text);
  }
  if (packageFormat === 'pacman' || packageFormat === undefined) {
    const dirs = await listDir(fs, '/var/lib/pacman/local');
    if (dirs.length > 0) {
      const out: Application[] = [];
      for (const d of dirs.slice(0, MAX_PACKAGES)) {
        const text = await readText(fs, `/var/lib/pacman/local/${d}/desc`);
        const app = text === null ? null : parsePacmanDesc(text);
        if (app) out.push(app);
      }
      return out;
    }
  }
  return null;
}
