// Mutation fuzzing of the XFS reader: real v4 and v5 filesystems (mkfs.xfs -p, no mount) get bytes
// changed near the start of each allocation group — where mkfs puts superblocks, inode chunks, directory
// and bmbt blocks — then are opened, walked and read. Every failure must be a coded XenkitError, and
// every run must end: `npm run fuzz` runs it for FUZZ_SECONDS; the test suite runs a short seeded round.
import { readFileSync } from 'node:fs';
import { tempDir, type Rng } from '@xenkit/fixtures';
import { openXfsFileSystem } from '../src/index.js';
import { buildXfs, type ProtoNode } from '../src/test-helpers/xfs.js';
import { fuzzFilesystem, runIfMain, type LoopOptions, type LoopResult } from './harness.js';

const MUTATE_PER_AG = 128 * 1024;
const MAX_ENTRIES = 400;

export function buildXfsCorpus(): Uint8Array[] {
  const tmp = tempDir('xenkit-fuzz-xfs-');
  try {
    const files = (n: number): Record<string, ProtoNode> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`name-${i}`, { kind: 'file', content: `${i}\n` }]));
    const root: Extract<ProtoNode, { kind: 'dir' }> = {
      kind: 'dir',
      entries: {
        etc: { kind: 'dir', entries: { hostname: { kind: 'file', content: 'guest\n' }, fstab: { kind: 'file', content: 'UUID=x / xfs defaults 0 1\n'.repeat(40) } } },
        block: { kind: 'dir', entries: files(40) },
        leaf: { kind: 'dir', entries: files(400) },
        big: { kind: 'file', content: 'y'.repeat(300_000) },
        bin: { kind: 'symlink', target: 'usr/bin' },
        usr: { kind: 'dir', entries: { bin: { kind: 'dir', entries: { sh: { kind: 'file', content: '#!'.repeat(3000), mode: 0o755 } } } } },
        far: { kind: 'symlink', target: `/${'x'.repeat(600)}` },
      },
    };
    return [
      buildXfs(tmp.path, 'v5', root, 32),
      buildXfs(tmp.path, 'v4', root, 32, ['-m', 'crc=0']),
    ].map((p) => new Uint8Array(readFileSync(p)));
  } finally {
    tmp.cleanup();
  }
}

/** A byte within MUTATE_PER_AG of the start of one of the image's AGs (geometry from its pristine superblock). */
function nearAgStart(img: Uint8Array, r: Rng): number {
  const view = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const agBytes = view.getUint32(84) * view.getUint32(4); // agblocks × blocksize
  const agCount = view.getUint32(88);
  return Math.min(img.length - 1, r.int(agCount) * agBytes + r.int(MUTATE_PER_AG));
}

export async function fuzzXfs(options: LoopOptions & { corpus?: Uint8Array[] }): Promise<LoopResult> {
  return fuzzFilesystem('xfs fuzz', options, options.corpus ?? buildXfsCorpus(), nearAgStart, (source) => openXfsFileSystem(source), MAX_ENTRIES);
}

await runIfMain(import.meta.url, 'xfs fuzz', fuzzXfs);
