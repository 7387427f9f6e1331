import { isXenkitError, silentLogger, type Logger } from '@xenkit/core';
import { listApplications } from './apps/index.js';
import { pvKernelAnalyzer } from './kernel.js';
import type { Application } from './apps/types.js';
import { defaultEntry, findBootConfig } from './boot/find.js';
import type { BootConfig, BootEntry } from './boot/types.js';
import { CHECKS } from './checks/registry.js';
import type { Check, CheckContext, CheckResult, DiskFacts, KernelAnalyzer } from './checks/types.js';
import { ImageCheckInputError, ImageCheckUsageError } from './errors.js';
import { findGuests, mountOfPath, type Guest } from './os/guest.js';
import type { GuestVolume } from './os/volumes.js';

export interface SourceInfo {
  kind: 'tree' | 'image';
  path: string;
  /** Image container format (raw, qcow2, vhd). */
  format?: string;
  /** Bytes the check read from the image, when the block source counts them. */
  bytesRead?: number;
}

/** What `check` and `inspect` both say of an operating system. */
export interface OsIdentity {
  root: string;
  distro?: string;
  productName?: string;
  /** os-release PRETTY_NAME (not in virt-inspector's schema; JSON only). */
  prettyName?: string;
  majorVersion: number;
  minorVersion: number;
  packageFormat?: string;
  mountpoints: { mountpoint: string; device: string }[];
}

export interface OsSummary extends OsIdentity {
  unresolvedFstab: string[];
}

export interface CheckReport {
  source: SourceInfo;
  /** The checked operating system; null when no root filesystem could be read (only disk checks ran). */
  os: OsSummary | null;
  /** Other operating systems found on the same disk (not checked). */
  otherOperatingSystems: OsSummary[];
  checks: CheckResult[];
  /** Glance image properties the results suggest. */
  properties: Record<string, string>;
  verdict: 'pass' | 'fail';
}

export interface CheckOptions {
  only?: string[];
  skip?: string[];
  /** Device of the root to check when the disk holds several operating systems. */
  osRoot?: string;
  kernelAnalyzer?: KernelAnalyzer;
  logger?: Logger;
  /**
   * Read the image with blocking reads (@xenkit/disk's OpenDiskOptions.syncReads): faster for a one-shot
   * command, wrong for a server that must keep serving while an image is checked. Default off.
   */
  syncReads?: boolean;
}

/** The target after opening: its volumes and disk-level facts. */
export interface Target {
  source: SourceInfo;
  volumes: GuestVolume[];
  disk: DiskFacts | null;
  /** Bytes read from the image so far, when the source counts them. */
  bytesRead?: () => number;
  close(): Promise<void>;
}

export function checkIds(): string[] {
  return CHECKS.map((c) => c.id);
}

function selectChecks(only: string[] | undefined, skip: string[] | undefined) {
  const known = new Set(checkIds());
  for (const id of [...(only ?? []), ...(skip ?? [])]) {
    if (!known.has(id)) throw new ImageCheckUsageError('E_UNKNOWN_CHECK', `unknown check "${id}"; known checks: ${checkIds().join(', ')}`, { id });
  }
  return CHECKS.filter((c) => (!only || only.length === 0 || only.includes(c.id)) && !(skip ?? []).includes(c.id));
}

export function summarizeOs(g: Guest): OsSummary {
  const d = g.distro;
  return {
    root: g.root.device,
    ...(d.distro ? { distro: d.distro } : {}),
    ...(d.productName ? { productName: d.productName } : {}),
    ...(d.prettyName ? { prettyName: d.prettyName } : {}),
    majorVersion: d.majorVersion,
    minorVersion: d.minorVersion,
    ...(d.packageFormat ? { packageFormat: d.packageFormat } : {}),
    mountpoints: g.mounts.map((m) => ({ mountpoint: m.mountpoint, device: m.device })),
    unresolvedFstab: g.unresolved.map((e) => `${e.spec} ${e.mountpoint}`),
  };
}

/** Pick the guest to check: the requested root, else the first with a boot loader config, else the first. */
async function pickGuest(guests: Guest[], osRoot: string | undefined): Promise<Guest> {
  if (osRoot) {
    const g = guests.find((x) => x.root.device === osRoot);
    if (!g) throw new ImageCheckInputError('E_OS_NOT_FOUND', `no operating system with root ${osRoot}; found ${guests.map((x) => x.root.device).join(', ')}`, { osRoot });
    return g;
  }
  for (const g of guests) if (await findBootConfig(g.fs, mountOfPath(g))) return g;
  return guests[0] as Guest;
}

/** Run the selected checks on an opened target. Each check's own failure becomes status "error". */
export async function runChecks(target: Target, options: CheckOptions = {}): Promise<CheckReport> {
  const logger = options.logger ?? silentLogger;
  const checks = selectChecks(options.only, options.skip);
  const guests = await findGuests(target.volumes, logger);
  if (guests.length === 0 && !target.disk) {
    throw new ImageCheckInputError('E_NO_OS', `${target.source.path}: no Linux root filesystem found (needs /etc, /bin and /etc/fstab or /etc/hosts)`, {
      path: target.source.path,
    });
  }
  const guest = guests.length > 0 ? await pickGuest(guests, options.osRoot) : null;
  if (!guest) {
    // Nothing of the guest is readable: that is unreadable input (exit 2), not a verdict. What the
    // disk alone shows (nova's resize rule) still travels in the error's details for --json.
    const disk = await runAll(checks.filter((c) => c.scope === 'disk'), diskOnlyContext(target), logger);
    const volumes = target.volumes.map((v) => `${v.device}: ${v.fsType ?? 'no filesystem found'}`);
    throw new ImageCheckInputError('E_NO_OS', `${target.source.path}: ${noRootReason(target)} (${volumes.join('; ')})`, { path: target.source.path, volumes, checks: disk });
  }
  const results = await runAll(checks, guestContext(guest, target, options), logger);
  const properties: Record<string, string> = {};
  for (const r of results) Object.assign(properties, r.properties ?? {});
  return {
    source: target.bytesRead ? { ...target.source, bytesRead: target.bytesRead() } : target.source,
    os: summarizeOs(guest),
    otherOperatingSystems: guests.filter((g) => g !== guest).map(summarizeOs),
    checks: results,
    properties,
    verdict: results.some((r) => r.status === 'fail' || r.status === 'error') ? 'fail' : 'pass',
  };
}

async function runAll(checks: Check[], ctx: CheckContext, logger: Logger): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    try {
      results.push({ id: check.id, title: check.title, ...(await check.run(ctx)) });
    } catch (e) {
      // Only the image's own problems (unreadable, oversized or corrupt files) become a result; a bug
      // in xenkit must surface as an internal error, not as a verdict about the image.
      if (!isXenkitError(e)) throw e;
      logger.debug({ check: check.id, err: e }, 'check failed');
      const path = typeof e.details?.path === 'string' ? e.details.path : undefined;
      results.push({ id: check.id, title: check.title, status: 'error', summary: `the check could not run: ${e.message}`, evidence: path ? [`${path}: ${e.code}`] : [e.code], fix: '' });
    }
  }
  return results;
}

function guestContext(guest: Guest, target: Target, options: CheckOptions): CheckContext {
  let boot: Promise<{ config: BootConfig; entry: BootEntry | undefined } | null> | undefined;
  let pkgs: Promise<Map<string, Application> | null> | undefined;
  const memos = new Map<string, Promise<unknown>>();
  return {
    guest,
    memo: <T>(key: string, compute: () => Promise<T>) => {
      if (!memos.has(key)) memos.set(key, compute());
      return memos.get(key) as Promise<T>;
    },
    fs: guest.fs,
    disk: target.disk,
    boot: () => (boot ??= findBootConfig(guest.fs, mountOfPath(guest)).then((config) => (config ? { config, entry: defaultEntry(config) } : null))),
    packages: () => (pkgs ??= listApplications(guest.fs, guest.distro.packageFormat).then((apps) => (apps ? new Map(apps.map((a) => [a.name, a])) : null))),
    kernelAnalyzer: options.kernelAnalyzer ?? pvKernelAnalyzer,
  };
}

/** Disk-scope checks read only `disk`; the guest members are never touched when no root was found. */
function diskOnlyContext(target: Target): CheckContext {
  const none = () => {
    throw new Error('no guest filesystem is readable');
  };
  return { disk: target.disk, boot: none, packages: none, memo: none } as unknown as CheckContext;
}

function noRootReason(target: Target): string {
  const types = [...new Set(target.volumes.map((v) => v.fsType).filter((t): t is string => !!t && t !== 'swap' && t !== 'LVM2_member'))];
  const unreadable = types.filter((t) => !/^(ext[234]|xfs$)/.test(t));
  return unreadable.length > 0
    ? `no readable Linux root: xenkit reads ext2/3/4 and xfs, and this image's filesystems are ${types.join(', ')}`
    : `no Linux root filesystem found on ${target.volumes.length} volume(s)`;
}
