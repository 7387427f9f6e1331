import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readImageHeader } from '@xenkit/disk';
import { isXenkitError } from '@xenkit/core';
import { errnoOf, inputError } from './errors.js';

/** The part of an image header the cache manager needs; `@xenkit/disk`'s readImageHeader by default. */
export interface DiskHeader {
  format: string;
  virtualSize: number;
  backingFile: string | null;
  /** `backingFile` resolved against the image's directory. */
  backingPath: string | null;
  backingFormat: string | null;
}

export type HeaderReader = (path: string) => Promise<DiskHeader>;

export const defaultHeaderReader: HeaderReader = (path) => readImageHeader(path);

/** qemu refuses chains much deeper than this; a longer one is a loop or a hostile image. */
export const MAX_CHAIN_DEPTH = 32;

/** An instance disk (`instances_path/<instance>/disk*`) and the files it reads through. */
export interface InstanceDisk {
  path: string;
  instance: string;
  format: string;
  virtualSize: number;
  /** st_size and st_blocks×512 at scan time. */
  size: number;
  allocatedBytes: number;
  /** Backing file name as the header stores it, or null. */
  backingFile: string | null;
  backingFormat: string | null;
  /** Every backing file below this disk, nearest first, resolved to paths. */
  chain: string[];
  /** `dev:ino` of each existing chain file, so a cache file reached through another path still matches. */
  chainIds: string[];
  /** The first backing file in the chain that does not exist (a broken instance), or null. */
  missingBacking: string | null;
}

// nova keeps this JSON map (disk path → format) beside the disks; it is not a disk.
const NOT_DISKS = new Set(['disk.info']);

/**
 * Every `disk*` file under `instances_path/*` (the cache directory itself excluded) with its backing
 * chain. nova reads only `<instance>/disk`, and only for directories its database lists; reading every
 * `disk*` file of every directory can only find more users of a base file, never fewer, so a file nova
 * would keep is always kept here too.
 */
export async function listInstanceDisks(
  instancesPath: string,
  cacheDir: string,
  reader: HeaderReader = defaultHeaderReader,
): Promise<InstanceDisk[]> {
  let entries: string[];
  try {
    entries = (await readdir(instancesPath)).sort();
  } catch (error) {
    throw dirError(instancesPath, 'instances_path', error);
  }
  const disks: InstanceDisk[] = [];
  for (const instance of entries) {
    const dir = join(instancesPath, instance);
    if (resolve(dir) === resolve(cacheDir)) continue;
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.startsWith('disk') && !NOT_DISKS.has(n)).sort();
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue;
      throw inputError('E_CACHE_DIR_UNREADABLE', `cannot list instance directory ${dir}: ${(error as Error).message}`, { path: dir }, error);
    }
    for (const name of names) {
      const disk = await readInstanceDisk(join(dir, name), instance, reader);
      if (disk) disks.push(disk);
    }
  }
  return disks;
}

/** One instance disk with its chain; undefined when it vanished meanwhile (an instance being deleted). */
export async function readInstanceDisk(path: string, instance: string, reader: HeaderReader): Promise<InstanceDisk | undefined> {
  const st = await stat(path).catch((error: unknown) => {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw unreadable(path, error);
  });
  if (!st?.isFile()) return undefined;
  const header = await readHeader(path, reader);
  if (header === undefined) return undefined;
  const { chain, chainIds, missing } = await walkChain(path, header, reader);
  return {
    path,
    instance,
    format: header.format,
    virtualSize: header.virtualSize,
    size: st.size,
    allocatedBytes: st.blocks * 512,
    backingFile: header.backingFile,
    backingFormat: header.backingFormat,
    chain,
    chainIds,
    missingBacking: missing,
  };
}

async function readHeader(path: string, reader: HeaderReader): Promise<DiskHeader | undefined> {
  try {
    return await reader(path);
  } catch (error) {
    const errno = errnoOf(error) ?? (isXenkitError(error) ? (error.details.errno as string | undefined) : undefined);
    if (errno === 'ENOENT') return undefined;
    throw unreadable(path, error);
  }
}

/**
 * Follow backing files down from `top`. A layer declared `raw` is never probed: reading a raw file's
 * first bytes as a header is the format-probing hole qemu closed with backing formats.
 */
async function walkChain(
  top: string,
  header: DiskHeader,
  reader: HeaderReader,
): Promise<{ chain: string[]; chainIds: string[]; missing: string | null }> {
  const chain: string[] = [];
  const chainIds: string[] = [];
  let current = header;
  while (current.backingFile !== null && current.backingPath !== null) {
    const next = current.backingPath;
    if (chain.includes(next) || next === top) {
      throw inputError('E_CACHE_BACKING_CHAIN', `${top}: backing chain loops back to ${next}`, { path: top, chain: [...chain, next] });
    }
    if (chain.length >= MAX_CHAIN_DEPTH) {
      throw inputError('E_CACHE_BACKING_CHAIN', `${top}: backing chain is deeper than ${MAX_CHAIN_DEPTH} layers`, { path: top, chain });
    }
    chain.push(next);
    const st = await stat(next).catch(() => undefined);
    if (!st) return { chain, chainIds, missing: next };
    chainIds.push(fileId(st));
    if (current.backingFormat === 'raw' || !st.isFile()) break;
    const below = await readHeader(next, reader);
    if (below === undefined) return { chain, chainIds, missing: next };
    current = below;
  }
  return { chain, chainIds, missing: null };
}

/** A file's identity regardless of the path it was reached by. */
export function fileId(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

function unreadable(path: string, error: unknown): Error {
  const why = error instanceof Error ? error.message : String(error);
  return inputError(
    'E_CACHE_DISK_UNREADABLE',
    `cannot read instance disk ${path} (${why}); without its backing file no base image can be proven unused, so nothing is removed`,
    { path, cause: isXenkitError(error) ? error.code : errnoOf(error) },
    error,
  );
}

export function dirError(path: string, what: string, error: unknown): Error {
  const errno = errnoOf(error);
  if (errno === 'ENOENT' || errno === 'ENOTDIR') {
    return inputError('E_CACHE_DIR_MISSING', `${what} ${path} does not exist or is not a directory`, { path, errno }, error);
  }
  return inputError('E_CACHE_DIR_UNREADABLE', `cannot list ${what} ${path}: ${(error as Error).message}`, { path, errno }, error);
}

/**
 * Names of the cache files nova itself counts as in use: the direct backing file of `<instance>/disk`
 * (its `_list_backing_images`), plus swap and ephemeral backing files of any disk, which nova learns
 * from block-device mappings that match the disks it created.
 */
export function novaBackingNames(disks: readonly InstanceDisk[]): { root: Set<string>; any: Set<string> } {
  const named = disks.filter((d) => d.backingFile !== null);
  return {
    root: new Set(named.filter((d) => basename(d.path) === 'disk').map((d) => basename(d.backingFile!))),
    any: new Set(named.map((d) => basename(d.backingFile!))),
  };
}
