// Mutation fuzzing of probeDisk: real images (MBR with logical partitions, GPT, LVM, ext/xfs/swap/vfat)
// get bytes flipped inside the ranges a clean probe reads, and probeDisk must either return a layout or
// throw a coded XenkitError — never another exception, never a hang. `npm run fuzz` runs it for
// FUZZ_SECONDS; the test suite runs a short seeded round through `fuzzLayout`.
import { readFileSync } from 'node:fs';
import { buildImage, mutate, rng, tempDir } from '@xenkit/fixtures';
import { BufferSource, probeDisk } from '../src/index.js';
import { fuzzLoop, runIfMain, type LoopOptions, type LoopResult } from './harness.js';

export interface FuzzOptions extends LoopOptions {
  /** Seed images; built with the real tools when absent. */
  corpus?: Uint8Array[];
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

/** Records which byte ranges a probe reads, so mutations land where the parser looks. */
class Recording extends BufferSource {
  readonly ranges: [number, number][] = [];
  override async read(offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push([offset, length]);
    return super.read(offset, length);
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x55, 0xaa, 0xee, 0x05, 0x0f, 0x8e];

export async function fuzzLayout(options: FuzzOptions): Promise<LoopResult> {
  const corpus = options.corpus ?? buildCorpus();
  const r = rng(options.seed);
  const targets: [number, number][][] = [];
  for (const img of corpus) {
    const rec = new Recording(img, 'seed');
    await probeDisk(rec);
    targets.push(rec.ranges);
  }
  return fuzzLoop('layout fuzz', options, async (iteration) => {
    const which = r.int(corpus.length);
    const img = corpus[which] as Uint8Array;
    const ranges = targets[which] as [number, number][];
    const undo = mutate(img, r, 1 + r.int(8), {
      position: () => {
        const [off, len] = r.pick(ranges);
        return off + r.int(len);
      },
      value: () => (r.next() < 0.5 ? r.pick(INTERESTING) : r.int(256)),
    });
    // Sometimes cut the image short too.
    const size = r.next() < 0.1 ? r.int(img.length) : img.length;
    try {
      await probeDisk(new BufferSource(img.subarray(0, size), `fuzz#${iteration}`));
    } finally {
      undo();
    }
  });
}

await runIfMain(import.meta.url, 'layout fuzz', fuzzLayout);
