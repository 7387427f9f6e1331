// The formats fuzz harness, shared by fuzz/formats.fuzz.ts (long runs) and fuzz.test.ts (a short
// seeded run). It mutates headers and tables of real images made by qemu-img, opens them, maps and
// reads random ranges, and fails on anything but an input error — or on an iteration that hangs.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, rng } from '@xenkit/fixtures';
import { isXenkitError } from '@xenkit/core';
import { openDisk } from '../open.js';
import { buildVhd } from '@xenkit/fixtures';
import { resealVhd } from './mutate.js';
import { patternBytes } from './qemu.js';

const MiB = 1024 * 1024;
const ITERATION_LIMIT_MS = 10_000;

export interface FuzzResult {
  iterations: number;
  refused: Record<string, number>;
  opened: number;
}

/** Small seed images of every format, with compressible and random content, in `dir`. */
export function buildSeeds(dir: string): string[] {
  const raw = join(dir, 'seed.raw');
  const b = Buffer.alloc(3 * MiB);
  patternBytes(256 * 1024, 7).copy(b, 64 * 1024);
  b.write('xenkit '.repeat(60_000), 1 * MiB + 5, 'latin1');
  writeFileSync(raw, b);
  const q = (...a: string[]): void => void exec('qemu-img', a);
  const out: string[] = [raw];
  const add = (name: string, ...args: string[]): void => {
    q(...args, raw, join(dir, name));
    out.push(join(dir, name));
  };
  add('v2.qcow2', 'convert', '-O', 'qcow2', '-o', 'compat=0.10,cluster_size=4096');
  add('v3.qcow2', 'convert', '-O', 'qcow2', '-o', 'cluster_size=4096');
  add('zlib.qcow2', 'convert', '-c', '-O', 'qcow2', '-o', 'cluster_size=4096');
  add('zstd.qcow2', 'convert', '-c', '-O', 'qcow2', '-o', 'cluster_size=4096,compression_type=zstd');
  add('dyn.vhd', 'convert', '-O', 'vpc', '-o', 'subformat=dynamic');
  add('fixed.vhd', 'convert', '-O', 'vpc', '-o', 'subformat=fixed');
  q('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'v3.qcow2', '-F', 'qcow2', join(dir, 'top.qcow2'));
  exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x41 1M 64k', '-c', 'write -z 2M 64k', join(dir, 'top.qcow2')]);
  out.push(join(dir, 'top.qcow2'));
  const dyn = readFileSync(join(dir, 'dyn.vhd'));
  const puuid = dyn.subarray(dyn.length - 512 + 68, dyn.length - 512 + 84);
  const size = Number(dyn.readBigUInt64BE(dyn.length - 512 + 48));
  const bitmap = new Uint8Array(512).fill(0xf0);
  writeFileSync(
    join(dir, 'diff.vhd'),
    buildVhd({
      size,
      uuid: randomBytes(16),
      blocks: [{ index: 0, bitmap, data: patternBytes(2 * MiB, 9) }],
      parent: { uuid: Buffer.from(puuid), name: 'dyn.vhd', locators: [{ code: 'MacX', data: Buffer.from('file://./dyn.vhd') }] },
    }),
  );
  out.push(join(dir, 'diff.vhd'));
  return out;
}

const INTERESTING = [0n, 1n, 0x1ffn, 0x200n, 0xfffn, 0x10000n, 0x7fffffffn, 0xffffffffn, 1n << 40n, 1n << 62n, 1n << 63n, (1n << 64n) - 1n];

/** Mutate a copy of `seed`: a few byte/word overwrites aimed mostly at headers, tables and the tail. */
export function mutate(seed: Buffer, r: () => number): Buffer {
  const b = Buffer.from(seed);
  const pick = (): number => {
    const where = r();
    if (where < 0.45) return Math.floor(r() * Math.min(b.length, 4096)); // header, extensions, VHD footer copy + header start
    if (where < 0.65) return Math.floor(r() * Math.min(b.length, 64 * 1024)); // L1/L2/refcount/BAT area of small images
    if (where < 0.85) return Math.max(0, b.length - 1 - Math.floor(r() * 512)); // trailing VHD footer
    return Math.floor(r() * b.length);
  };
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const at = pick();
    const kind = r();
    if (kind < 0.4) b[at] = Math.floor(r() * 256);
    else if (kind < 0.5) b[at] = (b[at] ?? 0) ^ (1 << Math.floor(r() * 8));
    else if (at + 8 <= b.length) b.writeBigUInt64BE(INTERESTING[Math.floor(r() * INTERESTING.length)] as bigint, at - (at % (r() < 0.7 ? 8 : 4)));
  }
  if (r() < 0.1) return b.subarray(0, Math.floor(r() * b.length));
  return b;
}

async function exercise(path: string, r: () => number): Promise<void> {
  const d = await openDisk(path, { maxChainDepth: 4 });
  try {
    await d.extents();
    for (let i = 0; i < 12 && d.size > 0; i++) {
      const len = 1 + Math.floor(r() * Math.min(MiB, d.size));
      const off = Math.floor(r() * (d.size - len + 1));
      const got = await d.read(off, len);
      if (got.length !== len) throw new Error(`read returned ${got.length} bytes, asked ${len}`);
    }
  } finally {
    await d.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`hang: ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

/**
 * Run mutations for `seconds`. Throws (keeping the failing image in `dir/crash-*`) when opening or
 * reading throws anything other than an input error, or hangs.
 */
/**
 * Mutate the seed images for `seconds`, and for at least `minIterations` cases: the test suite sets a
 * floor so a loaded machine still runs the same seeded cases and its assertions stay deterministic.
 */
export async function fuzzFormats(dir: string, seconds: number, seed: number, minIterations = 0): Promise<FuzzResult> {
  mkdirSync(dir, { recursive: true });
  const seeds = buildSeeds(dir).map((p) => ({ p, bytes: readFileSync(p) }));
  const r = rng(seed).next;
  const result: FuzzResult = { iterations: 0, refused: {}, opened: 0 };
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline || result.iterations < minIterations) {
    const s = seeds[Math.floor(r() * seeds.length)] as { p: string; bytes: Buffer };
    const ext = s.p.slice(s.p.lastIndexOf('.'));
    const path = join(dir, `case${ext}`);
    const bytes = mutate(s.bytes, r);
    // Most VHD mutations would stop at a checksum; re-seal most of them so BAT and header fields get exercised.
    if (ext === '.vhd' && r() < 0.75) resealAll(bytes);
    writeFileSync(path, bytes);
    result.iterations++;
    try {
      await withTimeout(exercise(path, r), ITERATION_LIMIT_MS, `${s.p} mutation ${result.iterations}`);
      result.opened++;
    } catch (e) {
      if (isXenkitError(e) && e.category === 'input') {
        result.refused[e.code] = (result.refused[e.code] ?? 0) + 1;
        continue;
      }
      const keep = join(dir, `crash-${seed}-${result.iterations}${ext}`);
      writeFileSync(keep, bytes);
      throw new Error(`fuzz: ${s.p} mutated (kept as ${keep}) threw a non-input error: ${(e as Error).stack ?? String(e)}`);
    }
  }
  return result;
}

function resealAll(b: Buffer): void {
  if (b.length < 1024) return;
  const tail = b.length - 512;
  if (b.toString('latin1', tail, tail + 8) === 'conectix') resealVhd(b, tail, 'footer');
  if (b.toString('latin1', 0, 8) !== 'conectix') return;
  resealVhd(b, 0, 'footer');
  const h = b.readBigUInt64BE(16);
  if (h < BigInt(b.length - 1024) && b.toString('latin1', Number(h), Number(h) + 8) === 'cxsparse') resealVhd(b, Number(h), 'header');
}
