import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isXenkitError } from '@xenkit/core';
import { loadCacheConfig, type CacheConfig } from '../config/options.js';
import { osloResolveEach, type OsloResult } from './oslo.js';
import { rng as seededRng } from '@xenkit/fixtures';

/** The shared seeded generator (@xenkit/fixtures), as a bare () => [0,1) function. */
function rng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.next();
}

const SECTIONS = ['[DEFAULT]', '[image_cache]', '[libvirt]', '[IMAGE_CACHE]', '[Libvirt]', '[other]', '[', '[]', '[DEFAULT', 'DEFAULT]'];
const KEYS = [
  'state_path',
  'instances_path',
  'preallocate_images',
  'subdirectory_name',
  'image_cache_subdirectory_name',
  'remove_unused_base_images',
  'remove_unused_original_minimum_age_seconds',
  'remove_unused_resized_minimum_age_seconds',
  'manager_interval',
  'image_cache_manager_interval',
  'unrelated_option',
  '',
];
const VALUES = [
  '0', '1', '-1', '-2', '3600', '+7', ' 42 ', '1e3', 'x1', '99999999999',
  'true', 'False', 'on', 'OFF', 'yes', 'no', 'maybe',
  'none', 'space', 'full', '',
  '/srv/nova', '$state_path/inst', '${state_path}/x', '$$literal', '$', '${image_cache.subdirectory_name}', '$unknown_thing',
  '"/quoted"', "'single'", '"unbalanced', '"', "a'b'", '_base', '_base_x', 'a = b', 'c: d', 'sp ace',
];
const SEPARATORS = ['=', ' = ', ':', ' : ', '= ', ' ='];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A nova.conf-like text: mostly well-formed, with the mistakes people actually make mixed in. */
export function generateConf(seed: number): string {
  const r = rng(seed);
  const lines: string[] = [];
  if (r() < 0.85) lines.push(pick(r, SECTIONS.slice(0, 3)));
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const roll = r();
    if (roll < 0.12) lines.push(pick(r, SECTIONS));
    else if (roll < 0.18) lines.push(pick(r, ['# comment', '; comment', '', '   ', '#[DEFAULT]']));
    else if (roll < 0.22) lines.push(`  ${pick(r, VALUES)}`);
    else if (roll < 0.25) lines.push(pick(r, ['novalue', '\tindented = x', '=x', ':y']));
    else lines.push(`${pick(r, KEYS)}${pick(r, SEPARATORS)}${pick(r, VALUES)}`);
  }
  return `${lines.join(r() < 0.5 ? '\n' : '\r\n')}\n`;
}

/** The fields of a CacheConfig that the oslo.config helper reports, for comparison. */
export function osloView(c: CacheConfig): Record<string, unknown> {
  return {
    instancesPath: c.instancesPath,
    subdirectoryName: c.subdirectoryName,
    removeUnusedBaseImages: c.removeUnusedBaseImages,
    originalMinimumAgeSeconds: c.originalMinimumAgeSeconds,
    resizedMinimumAgeSeconds: c.resizedMinimumAgeSeconds,
    managerInterval: c.managerInterval,
    preallocateImages: c.preallocateImages,
  };
}

type Outcome = { error: true } | { error: false; values: Record<string, unknown> };

function fromOslo(o: OsloResult): Outcome {
  if ('error' in o) return { error: true };
  // oslo turns an empty integer into None, which nova's arithmetic then fails on; we reject it up front.
  if (Object.values(o).some((v) => v === null)) return { error: true };
  return { error: false, values: o };
}

async function fromOurs(file: string): Promise<Outcome> {
  try {
    return { error: false, values: osloView(await loadCacheConfig({ files: [file] })) };
  } catch (error) {
    if (isXenkitError(error) && error.category === 'input') return { error: true };
    throw error;
  }
}

export interface FuzzMismatch {
  seed: number;
  conf: string;
  ours: Outcome;
  oslo: Outcome;
}

/** Generate `count` confs from `firstSeed`, resolve each with oslo.config and with us; return disagreements. */
export async function fuzzAgainstOslo(dir: string, firstSeed: number, count: number): Promise<FuzzMismatch[]> {
  const files: { seed: number; file: string; conf: string }[] = [];
  for (let i = 0; i < count; i++) {
    const seed = firstSeed + i;
    const conf = generateConf(seed);
    const file = join(dir, `fuzz-${seed}.conf`);
    writeFileSync(file, conf);
    files.push({ seed, file, conf });
  }
  const oslo = osloResolveEach(files.map((f) => f.file));
  const mismatches: FuzzMismatch[] = [];
  for (const [i, f] of files.entries()) {
    const theirs = fromOslo(oslo[i]!);
    const ours = await fromOurs(f.file);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches.push({ seed: f.seed, conf: f.conf, ours, oslo: theirs });
  }
  return mismatches;
}
