import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { silentLogger, type Logger } from '@xenkit/core';
import { readTextLenient as readText } from '../text.js';
import { parseFstab, type FstabEntry } from './fstab.js';
import { MountedFileSystem, type Mount } from './mounted.js';
import { detectDistro, type DistroInfo } from './release.js';
import { isLinuxRoot } from './root.js';
import { resolveSpec, type GuestVolume } from './volumes.js';

export interface GuestMount {
  mountpoint: string;
  device: string;
  fstab?: FstabEntry;
}

/** One operating system found on the volumes: its root, its mounts, and the guest-eye view of them. */
export interface Guest {
  root: GuestVolume;
  /** The guest's filesystems mounted per its fstab (root always; /boot and others when resolvable). */
  fs: MountedFileSystem;
  mounts: GuestMount[];
  /** fstab entries naming filesystems not found on the volumes. */
  unresolved: FstabEntry[];
  distro: DistroInfo;
}

/**
 * Find every Linux root among the volumes (libguestfs's rule) and mount its fstab filesystems over it.
 * Volumes that cannot be opened are skipped; each volume is opened at most once.
 */
export async function findGuests(volumes: readonly GuestVolume[], logger: Logger = silentLogger): Promise<Guest[]> {
  const opened = new Map<GuestVolume, ReadOnlyFileSystem | null>();
  const open = async (v: GuestVolume) => {
    if (!opened.has(v)) {
      try {
        opened.set(v, await v.open());
      } catch (e) {
        logger.debug({ device: v.device, err: e }, 'volume cannot be opened');
        opened.set(v, null);
      }
    }
    return opened.get(v) ?? null;
  };
  const guests: Guest[] = [];
  for (const v of volumes) {
    const fs = await open(v);
    if (!fs || !(await isLinuxRoot(fs))) continue;
    const fstab = parseFstab((await readText(fs, '/etc/fstab')) ?? '');
    const mounts: Mount[] = [{ path: '/', fs }];
    const guestMounts: GuestMount[] = [{ mountpoint: '/', device: v.device }];
    const unresolved: FstabEntry[] = [];
    for (const entry of fstab) {
      const target = resolveSpec(entry.spec, volumes);
      if (!target) {
        if (entry.mountpoint !== '/') unresolved.push(entry);
        continue;
      }
      if (entry.mountpoint === '/') {
        guestMounts[0] = { mountpoint: '/', device: v.device, fstab: entry };
        continue;
      }
      if (target === v) continue;
      const sub = await open(target);
      if (!sub) continue;
      mounts.push({ path: entry.mountpoint, fs: sub });
      guestMounts.push({ mountpoint: entry.mountpoint, device: target.device, fstab: entry });
    }
    const view = new MountedFileSystem(mounts);
    guests.push({ root: v, fs: view, mounts: guestMounts, unresolved, distro: await detectDistro(view) });
  }
  return guests;
}

/** A mount-point lookup for {@link findBootConfig}: which guest mount holds a path. */
export function mountOfPath(guest: Guest): (path: string) => Promise<string> {
  return async (path) => {
    const real = await guest.fs.realpath(path).catch(() => path);
    return guest.fs.route(real).mount;
  };
}
