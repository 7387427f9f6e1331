import type { ReadOnlyFileSystem } from '@xenkit/disk';
import type { Application } from '../apps/types.js';
import type { BootConfig, BootEntry } from '../boot/types.js';
import type { Guest } from '../os/guest.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'error';

/** One partition as `parted --machine 'unit s' print` lists it (what nova's rule reads). */
export interface DiskPartitionFacts {
  number: number;
  /** parted's filesystem name ("ext4", "ext2", "xfs", "linux-swap(v1)", "" when parted sees none). */
  partedType: string;
  /** blkid's name, when different information helps the reader (LVM2_member…). */
  fsType?: string;
  startSector?: number;
  sizeSectors?: number;
  lvm: boolean;
}

/** The disk-level facts a tree lacks: partition table and partitions. */
export interface DiskFacts {
  /** "msdos", "gpt", or "loop" (a filesystem on the whole disk, as parted names it). */
  table: string;
  partitions: DiskPartitionFacts[];
  /** Any LVM physical volume on the disk. */
  lvm: boolean;
}

/** What pv-kernel says about a kernel file (adapter over @xenkit/pv-kernel). */
export interface KernelFacts {
  version?: string;
  pv: boolean;
  pvh?: boolean;
  reasons: string[];
}

/** Analyses the kernel at `path` in `fs`, reading only what it needs. */
export type KernelAnalyzer = (fs: ReadOnlyFileSystem, path: string) => Promise<KernelFacts>;

export interface CheckContext {
  guest: Guest;
  /** The guest's filesystems as it mounts them. */
  fs: ReadOnlyFileSystem;
  /** null for a directory tree (no partition table to judge). */
  disk: DiskFacts | null;
  /** The boot loader config pygrub would read, and its default entry; cached. */
  boot(): Promise<{ config: BootConfig; entry: BootEntry | undefined } | null>;
  /** Installed packages by name; null when the package database is not readable (rpm). Cached. */
  packages(): Promise<Map<string, Application> | null>;
  kernelAnalyzer?: KernelAnalyzer;
  /** Compute a value once per check run (shared config reads such as cloud-init's merged config). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export interface CheckOutcome {
  status: CheckStatus;
  summary: string;
  evidence: string[];
  /** What to change; empty when nothing needs changing. */
  fix: string;
  /** Glance image properties this result implies (auto_disk_config, cloud_init_installed, os_type, vm_mode). */
  properties?: Record<string, string>;
}

export interface CheckResult extends CheckOutcome {
  id: string;
  title: string;
}

/** A check: one file under checks/, listed once in checks/registry.ts. */
export interface Check {
  /** Stable id used by --only/--skip, JSON and JUnit. */
  id: string;
  title: string;
  /** The image-guide requirement it enforces. */
  requirement: string;
  /**
   * 'disk': judges the image's layout only (reads nothing but `ctx.disk`), so it runs even when no
   * root filesystem could be read. Default 'guest'.
   */
  scope?: 'disk' | 'guest';
  run(ctx: CheckContext): Promise<CheckOutcome>;
}
