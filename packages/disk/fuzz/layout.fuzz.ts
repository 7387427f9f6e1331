// Mutation fuzzing of probeDisk: real images (MBR with logical partitions, GPT, LVM, ext/xfs/swap/vfat)
// get bytes flipped inside the ranges a clean probe reads, and probeDisk must either return a layout or
// throw a coded XenkitError — never another exception, never a hang. `npm run fuzz` runs it for
// FUZZ_SECONDS; the test suite runs a short seeded round through `fuzzLayout`.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isXenkitError } from '@xenkit/core';
import { buildImage, tempDir } from '@xenkit/fixtures';
import { BufferSource, probeDisk, type BlockSource } from '../src/index.js';

export interface FuzzOptions {
  seed: number;
  iterations?: number;
  seconds?: number;
  /** Seed images; built with the real tools when absent. */
  corpus?: Uint8Array[];
}

export interface FuzzResult {
  iterations: number;
  accepted: number;
  rejected: number;
  codes: Record<string, number>;
}

/** Build the seed corpus with sfdisk, mke2fs, mkfs.xfs, mkswap, mkfs.vfat and LVM. */
export function buildCorpus(): Uint8Array[] {
  const tmp = tempDir('xenkit-fuzz-layout-');
  try {
    const images = [
      buildImage({
        dir: tmp.path,
        name: 'mbr',
        table: 'mbr',
        partitions: [
          { sizeMiB: 4, fs: 'ext4' },
          { sizeMiB: 4, fs: 'ext2', mkfsArgs: ['-b', '1024'] },
          { sizeMiB: 2, fs: 'swap' },
          { sizeMiB: 2, fs: 'none' },
          { sizeMiB: 2, fs: 'none' },
        ],
      }),
      buildImage({ dir: tmp.path, name: 'gpt', table: 'gpt', partitions: [{ sizeMiB: 4, fs: 'ext3', name: 'r' }, { sizeMiB: 8, fs: 'vfat' }] }),
      buildImage({
        dir: tmp.path,
        name: 'lvm',
        table: 'mbr',
        partitions: [{ sizeMiB: 24, fs: 'lvm' }],
        lvm: { vg: 'fuzzvg', lvs: [{ name: 'a', sizeMiB: 4, fs: 'ext4', extendMiB: 4 }, { name: 'b', sizeMiB: 4, fs: 'swap' }] },
      }),
    ];
    return images.map((i) => new Uint8Array(readFileSync(i.rawPath)));
  } finally {
    tmp.cleanup();
  }
}

/** xorshift32: small, fast, reproducible from a seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Records which byte ranges a probe reads, so mutations land where the parser looks. */
class Recording extends BufferSource {
  readonly ranges: [number, number][] = [];
  override async read(offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push([offset, length]);
    return super.read(offset, length);
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x55, 0xaa, 0xee, 0x05, 0x0f, 0x8e];

export async function fuzzLayout(options: FuzzOptions): Promise<FuzzResult> {
  const corpus = options.corpus ?? buildCorpus();
  const rand = rng(options.seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
  const targets: [number, number][][] = [];
  for (const img of corpus) {
    const rec = new Recording(img, 'seed');
    await probeDisk(rec);
    targets.push(rec.ranges);
  }
  const deadline = options.seconds ? Date.now() + options.seconds * 1000 : Number.POSITIVE_INFINITY;
  const max = options.iterations ?? Number.POSITIVE_INFINITY;
  const result: FuzzResult = { iterations: 0, accepted: 0, rejected: 0, codes: {} };
  while (result.iterations < max && Date.now() < deadline) {
    const which = Math.floor(rand() * corpus.length);
    const img = corpus[which] as Uint8Array;
    const ranges = targets[which] as [number, number][];
    const saved: [number, number][] = [];
    const n = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < n; i++) {
      const [off, len] = pick(ranges);
      const at = off + Math.floor(rand() * len);
      saved.push([at, img[at] as number]);
      img[at] = rand() < 0.5 ? pick(INTERESTING) : Math.floor(rand() * 256);
    }
    // Sometimes cut the image short too.
    const size = rand() < 0.1 ? Math.floor(rand() * img.length) : img.length;
    const source: BlockSource = new BufferSource(img.subarray(0, size), `fuzz#${result.iterations}`);
    try {
      await probeDisk(source);
      result.accepted++;
    } catch (e) {
      if (!isXenkitError(e)) {
        throw new Error(`probeDisk threw a non-coded error on iteration ${result.iterations} (seed ${options.seed}): ${String((e as Error).stack ?? e)}`);
      }
      result.rejected++;
      result.codes[e.code] = (result.codes[e.code] ?? 0) + 1;
      if (process.env.FUZZ_TRACE === e.code) console.error(e.stack);
    } finally {
      for (let i = saved.length - 1; i >= 0; i--) {
        const [at, v] = saved[i] as [number, number];
        img[at] = v;
      }
    }
    result.iterations++;
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);
  console.log(`layout fuzz: seed ${seed}, ${seconds} s`);
  const r = await fuzzLayout({ seed, seconds });
  console.log(JSON.stringify(r, null, 2));
}
