import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { listDir, readBytes, readText } from '../text.js';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { parsePacmanDesc } from './pacman.js';
import { MAX_PACKAGES, type Application } from './types.js';

export type { Application } from './types.js';

const MAX_DB_BYTES = 256 * 1024 * 1024;

/**
 * Installed packages from the guest's package database: dpkg status, rpm's rpmdb.sqlite (rpm ≥ 4.16;
 * the older BerkeleyDB `Packages` file is not read and gives `null`, "unknown"), apk and pacman.
 */
export async function listApplications(fs: ReadOnlyFileSystem, packageFormat: string | undefined): Promise<Application[] | null> {
  if (packageFormat === 'deb' || packageFormat === undefined) {
    const text = await readText(fs, '/var/lib/dpkg/status', MAX_DB_BYTES);
    if (text !== null) return parseDpkgStatus(text);
  }
  if (packageFormat === 'rpm' || packageFormat === undefined) {
    for (const dir of ['/var/lib/rpm', '/usr/lib/sysimage/rpm']) {
      const db = await readBytes(fs, `${dir}/rpmdb.sqlite`, MAX_DB_BYTES);
      if (!db) continue;
      const wal = await readBytes(fs, `${dir}/rpmdb.sqlite-wal`, MAX_DB_BYTES);
      // The SQLite reader is loaded only for rpm guests.
      const { readRpmSqlite } = await import('./rpm.js');
      return readRpmSqlite(db, `${dir}/rpmdb.sqlite`, wal ?? undefined);
    }
  }
  if (packageFormat === 'apk' || packageFormat === undefined) {
    const text = await readText(fs, '/lib/apk/db/installed', MAX_DB_BYTES);
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
