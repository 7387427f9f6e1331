// Shared machinery of the disk fuzz harnesses: the loop that insists every failure is a coded XenkitError.
// The seeded generator and in-place mutation with undo come from @xenkit/fixtures.
import { pathToFileURL } from 'node:url';
import { isXenkitError } from '@xenkit/core';
import { mutate, rng, type Rng } from '@xenkit/fixtures';
import { BufferSource, type BlockSource, type ReadOnlyFileSystem } from '../src/index.js';

export interface LoopOptions {
  seed: number;
  iterations?: number;
  seconds?: number;
}

export interface LoopResult {
  iterations: number;
  /** Iterations whose step completed without an error. */
  accepted: number;
  /** Coded errors seen, by code. */
  codes: Record<string, number>;
}

/**
 * Run `step` until the iteration or time budget is spent. A step may throw a coded XenkitError (counted);
 * anything else stops the run with the seed and iteration needed to reproduce it.
 */
export async function fuzzLoop(name: string, options: LoopOptions, step: (iteration: number) => Promise<void>): Promise<LoopResult> {
  const deadline = options.seconds ? Date.now() + options.seconds * 1000 : Number.POSITIVE_INFINITY;
  const max = options.iterations ?? Number.POSITIVE_INFINITY;
  const result: LoopResult = { iterations: 0, accepted: 0, codes: {} };
  while (result.iterations < max && Date.now() < deadline) {
    try {
      await step(result.iterations);
      result.accepted++;
    } catch (e) {
      if (!isXenkitError(e)) {
        throw new Error(`${name}: non-coded error on iteration ${result.iterations} (seed ${options.seed}): ${String((e as Error).stack ?? e)}`);
      }
      result.codes[e.code] = (result.codes[e.code] ?? 0) + 1;
      if (process.env.FUZZ_TRACE === e.code) console.error(e.stack);
    }
    result.iterations++;
  }
  return result;
}

/** When `moduleUrl` is the script being run, fuzz for FUZZ_SECONDS (default 60) from FUZZ_SEED. */
export async function runIfMain(moduleUrl: string, name: string, run: (o: LoopOptions) => Promise<unknown>): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const seconds = Number(process.env.FUZZ_SECONDS ?? '60');
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);
  console.log(`${name}: seed ${seed}, ${seconds} s`);
  console.log(JSON.stringify(await run({ seed, seconds }), null, 2));
}

/**
 * Walk a (damaged) filesystem as a check would: list, stat, read files up to 1 MiB, resolve links, at
 * most `budget.left` entries. Coded errors on one entry are expected and skipped; any other escapes.
 */
export async function walkFs(fs: ReadOnlyFileSystem, dir: string, budget: { left: number }): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (--budget.left <= 0) return;
    const p = `${dir === '/' ? '' : dir}/${name}`;
    try {
      const st = await fs.lstat(p);
      if (st.type === 'directory') await walkFs(fs, p, budget);
      else if (st.type === 'file') await fs.readFile(p, { maxBytes: 1024 * 1024 });
      else if (st.type === 'symlink') await fs.exists(p);
    } catch (e) {
      if (!isXenkitError(e)) throw e;
    }
  }
}

/**
 * The filesystem fuzz round: pick an image of `corpus`, change 1–16 bytes at `position(image, r)`,
 * open it with `open`, walk up to `maxEntries` entries, put the bytes back.
 */
export function fuzzFilesystem(
  name: string,
  options: LoopOptions,
  corpus: Uint8Array[],
  position: (img: Uint8Array, r: Rng) => number,
  open: (source: BlockSource) => Promise<ReadOnlyFileSystem>,
  maxEntries: number,
): Promise<LoopResult> {
  const r = rng(options.seed);
  return fuzzLoop(name, options, async (iteration) => {
    const img = r.pick(corpus);
    const undo = mutate(img, r, 1 + r.int(16), { position: () => position(img, r) });
    try {
      const fs = await open(new BufferSource(img, `fuzz#${iteration}`));
      try {
        await walkFs(fs, '/', { left: maxEntries });
      } finally {
        await fs.close();
      }
    } finally {
      undo();
    }
  });
}
