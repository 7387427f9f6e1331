import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isXenkitError } from '@xenkit/core';
import { errnoOf, inputError, usageError } from '../errors.js';
import { interpolate, type RefValue } from './interpolate.js';
import { parseNovaConf, MAX_CONF_BYTES, type IniSections } from './ini.js';

/** Where an option may be written: its current place first, then the deprecated ones nova still reads. */
interface OptionName {
  group: string;
  name: string;
}

interface OptionSpec {
  key: CacheOptionKey;
  names: readonly OptionName[];
  type: 'string' | 'bool' | 'int' | 'choice';
  default: string;
  choices?: readonly string[];
  min?: number;
}

export type CacheOptionKey =
  | 'state_path'
  | 'instances_path'
  | 'subdirectory_name'
  | 'remove_unused_base_images'
  | 'remove_unused_original_minimum_age_seconds'
  | 'remove_unused_resized_minimum_age_seconds'
  | 'manager_interval'
  | 'preallocate_images';

// Names, groups, defaults and deprecated aliases from nova/conf/imagecache.py and nova/conf/compute.py:
// oslo's deprecated_group without deprecated_name means "the same name in that group".
const OPTIONS: readonly OptionSpec[] = [
  { key: 'state_path', names: [{ group: 'DEFAULT', name: 'state_path' }], type: 'string', default: '/var/lib/nova' },
  { key: 'instances_path', names: [{ group: 'DEFAULT', name: 'instances_path' }], type: 'string', default: '$state_path/instances' },
  {
    key: 'subdirectory_name',
    names: [
      { group: 'image_cache', name: 'subdirectory_name' },
      { group: 'DEFAULT', name: 'image_cache_subdirectory_name' },
    ],
    type: 'string',
    default: '_base',
  },
  {
    key: 'remove_unused_base_images',
    names: [
      { group: 'image_cache', name: 'remove_unused_base_images' },
      { group: 'DEFAULT', name: 'remove_unused_base_images' },
    ],
    type: 'bool',
    default: 'true',
  },
  {
    key: 'remove_unused_original_minimum_age_seconds',
    names: [
      { group: 'image_cache', name: 'remove_unused_original_minimum_age_seconds' },
      { group: 'DEFAULT', name: 'remove_unused_original_minimum_age_seconds' },
    ],
    type: 'int',
    default: '86400',
  },
  {
    key: 'remove_unused_resized_minimum_age_seconds',
    names: [
      { group: 'image_cache', name: 'remove_unused_resized_minimum_age_seconds' },
      { group: 'libvirt', name: 'remove_unused_resized_minimum_age_seconds' },
    ],
    type: 'int',
    default: '3600',
  },
  {
    key: 'manager_interval',
    names: [
      { group: 'image_cache', name: 'manager_interval' },
      { group: 'DEFAULT', name: 'image_cache_manager_interval' },
    ],
    type: 'int',
    default: '2400',
    min: -1,
  },
  {
    key: 'preallocate_images',
    names: [{ group: 'DEFAULT', name: 'preallocate_images' }],
    type: 'choice',
    choices: ['none', 'space'],
    default: 'none',
  },
];

/** Names `--set` accepts only so that `$my_ip`-style references in nova.conf can be resolved. */
const INTERPOLATION_ONLY = ['my_ip', 'host'] as const;

/** Where the effective value of an option came from, so an operator can see which line to edit. */
export interface OptionSource {
  from: 'default' | 'file' | 'override';
  /** The raw (not yet interpolated) text. */
  raw: string;
  group?: string;
  name?: string;
  file?: string;
  line?: number;
  /** True when the value came from a deprecated name or group that nova still honours. */
  deprecated?: boolean;
}

/** nova's image-cache settings, resolved as nova-compute would resolve them. */
export interface CacheConfig {
  instancesPath: string;
  subdirectoryName: string;
  /** `instances_path/subdirectory_name`, the directory nova calls `_base`. */
  cacheDir: string;
  removeUnusedBaseImages: boolean;
  originalMinimumAgeSeconds: number;
  resizedMinimumAgeSeconds: number;
  managerInterval: number;
  preallocateImages: 'none' | 'space';
  sources: Record<CacheOptionKey, OptionSource>;
  /** Deprecated spellings in use, one readable sentence each. */
  deprecations: string[];
  files: string[];
}

export interface LoadConfigOptions {
  /** nova.conf files in order; later ones override earlier ones. None: nova's defaults only. */
  files?: readonly string[];
  /** Config directories (`--config-dir`, e.g. /etc/nova/nova.conf.d): their `*.conf` files, sorted, after `files`. */
  dirs?: readonly string[];
  /** `[group.]name=value` strings, applied last. */
  overrides?: readonly string[];
}

const TRUE_VALUES = ['true', '1', 'on', 'yes'];
const FALSE_VALUES = ['false', '0', 'off', 'no'];

/** Read nova.conf file(s), apply `--set` overrides, and resolve every option nova's image cache uses. */
export async function loadCacheConfig(options: LoadConfigOptions = {}): Promise<CacheConfig> {
  const files = [...(options.files ?? [])];
  for (const dir of options.dirs ?? []) files.push(...(await confDirFiles(dir)));
  const sections: IniSections = new Map();
  for (const file of files) parseNovaConf(await readConf(file), file, sections);
  return resolveCacheConfig(sections, options.overrides ?? [], files);
}

/** What oslo.config's `--config-dir` reads: `glob(dir/*.conf)` (no dot files), in sorted order. */
async function confDirFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
      .sort()
      .map((n) => join(dir, n));
  } catch (error) {
    if (errnoOf(error) === undefined) throw error;
    throw inputError('E_NOVA_CONF_READ', `cannot read config directory ${dir}: ${(error as Error).message}`, { dir, errno: errnoOf(error) }, error);
  }
}

/**
 * Reads one nova.conf without trusting its size: the open file is checked to be a regular file (a
 * FIFO or `/dev/zero` would never end) and at most MAX_CONF_BYTES + 1 bytes are read.
 */
async function readConf(file: string): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = await handle.stat();
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw inputError('E_NOVA_CONF_READ', `cannot read nova.conf ${file}: it is ${kind}, not a regular file`, { file, kind });
    }
    // Read in chunks up to the limit + 1 byte, however big fstat says the file is (it may grow).
    const chunks: Buffer[] = [];
    let got = 0;
    while (got <= MAX_CONF_BYTES) {
      const chunk = Buffer.alloc(Math.min(1 << 16, MAX_CONF_BYTES + 1 - got));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, got);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      got += bytesRead;
    }
    if (got > MAX_CONF_BYTES) {
      throw inputError('E_NOVA_CONF_PARSE', `${file} is over ${MAX_CONF_BYTES} bytes; a nova.conf that large is not accepted`, { file, limit: MAX_CONF_BYTES });
    }
    return Buffer.concat(chunks, got).toString('utf8');
  } catch (error) {
    if (isXenkitError(error) || errnoOf(error) === undefined) throw error;
    throw inputError('E_NOVA_CONF_READ', `cannot read nova.conf ${file}: ${(error as Error).message}`, { file, errno: errnoOf(error) }, error);
  } finally {
    await handle?.close();
  }
}

interface Override {
  spec: OptionSpec | undefined;
  name: string;
  raw: string;
}

function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw usageError('E_CACHE_SET_SYNTAX', `--set ${JSON.stringify(text)}: expected [group.]name=value, e.g. --set remove_unused_base_images=false`, { set: text });
  }
  const left = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  const dot = Math.max(left.lastIndexOf('.'), left.lastIndexOf('/'));
  const group = dot >= 0 ? left.slice(0, dot) : undefined;
  const name = dot >= 0 ? left.slice(dot + 1) : left;
  const groupMatches = (n: OptionName) => group === undefined || n.group.toLowerCase() === group.toLowerCase();
  const spec = OPTIONS.find((o) => o.names.some((n) => n.name === name && groupMatches(n)));
  if (spec) return { spec, name: spec.key, raw };
  if ((INTERPOLATION_ONLY as readonly string[]).includes(name) && (group === undefined || group === 'DEFAULT')) {
    return { spec: undefined, name, raw };
  }
  const known = OPTIONS.flatMap((o) => o.names.map((n) => `${n.group}.${n.name}`));
  throw usageError('E_CACHE_SET_UNKNOWN', `--set ${left}: not an image-cache option; known: ${[...known, ...INTERPOLATION_ONLY].join(', ')}`, {
    set: text,
    known,
  });
}

/** Resolve options from already-parsed sections; exported for callers that hold nova.conf text. */
export function resolveCacheConfig(sections: IniSections, overrides: readonly string[], files: readonly string[] = []): CacheConfig {
  const parsed = overrides.map(parseOverride);
  const overrideOf = (name: string): Override | undefined => parsed.filter((o) => o.name === name).at(-1);
  const sources = {} as Record<CacheOptionKey, OptionSource>;
  const deprecations: string[] = [];

  for (const spec of OPTIONS) {
    const ov = overrideOf(spec.key);
    if (ov) {
      sources[spec.key] = { from: 'override', raw: ov.raw };
      continue;
    }
    // oslo reads the current name first; deprecated names count only when it is absent.
    let found: OptionSource | undefined;
    for (const [i, n] of spec.names.entries()) {
      const hit = sections.get(n.group)?.get(n.name);
      if (!hit) continue;
      found = { from: 'file', raw: hit.value, group: n.group, name: n.name, file: hit.file, line: hit.line, deprecated: i > 0 };
      break;
    }
    if (found?.deprecated) {
      const current = spec.names[0]!;
      deprecations.push(`${found.file}:${found.line}: [${found.group}] ${found.name} is deprecated; nova now reads [${current.group}] ${current.name}`);
    }
    sources[spec.key] = found ?? { from: 'default', raw: spec.default };
  }

  // What `$name` may refer to: our options through their aliases and defaults (so `$state_path` works
  // when state_path is not written down), `--set` interpolation names, then any key in the file.
  const valueAt = (group: string, name: string): RefValue | undefined => {
    if (group === 'DEFAULT') {
      const ov = parsed.filter((o) => o.name === name && !o.spec).at(-1);
      if (ov) return { raw: ov.raw, group };
    }
    const spec = OPTIONS.find((o) => o.names[0]!.group === group && o.names[0]!.name === name);
    if (spec) return { raw: sources[spec.key].raw, group };
    // nova registers hundreds of [DEFAULT] options we do not model; in other groups oslo knows only the
    // registered ones, so an unregistered key there falls through to [DEFAULT] as it does in oslo.
    const hit = group === 'DEFAULT' ? sections.get(group)?.get(name) : undefined;
    return hit ? { raw: hit.value, group } : undefined;
  };
  const resolveRef = (ref: string, group: string): RefValue | undefined => {
    const dot = ref.indexOf('.');
    if (dot >= 0) return valueAt(ref.slice(0, dot), ref.slice(dot + 1)) ?? valueAt('DEFAULT', ref);
    return valueAt(group, ref) ?? valueAt('DEFAULT', ref);
  };

  const value = (key: CacheOptionKey): string => {
    const src = sources[key];
    return interpolate(src.raw, spec(key).names[0]!.group, resolveRef, describe(key, src));
  };

  const instancesPath = value('instances_path');
  const subdirectoryName = value('subdirectory_name');
  return {
    instancesPath,
    subdirectoryName,
    // os.path.join in nova: an absolute subdirectory_name replaces instances_path.
    cacheDir: resolve(instancesPath, subdirectoryName),
    removeUnusedBaseImages: toBool(value('remove_unused_base_images'), describe('remove_unused_base_images', sources.remove_unused_base_images)),
    originalMinimumAgeSeconds: toInt(value('remove_unused_original_minimum_age_seconds'), spec('remove_unused_original_minimum_age_seconds'), sources),
    resizedMinimumAgeSeconds: toInt(value('remove_unused_resized_minimum_age_seconds'), spec('remove_unused_resized_minimum_age_seconds'), sources),
    managerInterval: toInt(value('manager_interval'), spec('manager_interval'), sources),
    preallocateImages: toChoice(value('preallocate_images'), spec('preallocate_images'), sources) as 'none' | 'space',
    sources,
    deprecations,
    files: [...files],
  };
}

function spec(key: CacheOptionKey): OptionSpec {
  return OPTIONS.find((o) => o.key === key)!;
}

function describe(key: CacheOptionKey, src: OptionSource): string {
  if (src.from === 'file') return `${src.file}:${src.line}: [${src.group}] ${src.name}`;
  if (src.from === 'override') return `--set ${key}`;
  return `default of ${key}`;
}

function badValue(key: CacheOptionKey, sources: Record<CacheOptionKey, OptionSource>, value: string, expected: string): never {
  const src = sources[key];
  throw inputError('E_NOVA_CONF_VALUE', `${describe(key, src)} = ${JSON.stringify(value)}: expected ${expected}`, {
    option: key,
    value,
    file: src.file,
    line: src.line,
  });
}

function toBool(value: string, where: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE_VALUES.includes(v)) return true;
  if (FALSE_VALUES.includes(v)) return false;
  throw inputError('E_NOVA_CONF_VALUE', `${where} = ${JSON.stringify(value)}: expected one of ${[...TRUE_VALUES, ...FALSE_VALUES].join(', ')}`, {
    where,
    value,
  });
}

function toInt(value: string, spec: OptionSpec, sources: Record<CacheOptionKey, OptionSource>): number {
  const v = value.trim();
  if (!/^[+-]?\d{1,15}$/.test(v)) badValue(spec.key, sources, value, 'an integer number of seconds');
  const n = Number(v);
  if (spec.min !== undefined && n < spec.min) badValue(spec.key, sources, value, `an integer ≥ ${spec.min}`);
  return n;
}

function toChoice(value: string, spec: OptionSpec, sources: Record<CacheOptionKey, OptionSource>): string {
  const v = value.trim();
  if (!spec.choices!.includes(v)) badValue(spec.key, sources, value, `one of ${spec.choices!.join(', ')}`);
  return v;
}
