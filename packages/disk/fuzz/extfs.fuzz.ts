// Mutation fuzzing of the ext reader: real ext2/ext4 filesystems (mke2fs -d) get bytes changed in their
// metadata (superblock, group descriptors, bitmaps, inode tables, directories — the first 512 KiB),
// then are opened, walked and read. Every failure must be a coded XenkitError; libext2fs sees only a
// read-only view, so nothing can be written whatever it decides. `npm run fuzz` runs it for
// FUZZ_SECONDS; the test suite runs a short seeded round through `fuzzExt`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, exec, makeFs, tempDir, type Rng } from '@xenkit/fixtures';
import { openExtFileSystem } from '../src/index.js';
import { fuzzFilesystem, runIfMain, type LoopOptions, type LoopResult } from './harness.js';

const MiB = 1024 * 1024;
const MUTATE_WITHIN = 512 * 1024;
const MAX_ENTRIES = 200;

export function buildExtCorpus(): Uint8Array[] {
  const tmp = tempDir('xenkit-fuzz-ext-');
  try {
    const tree = buildTree(join(tmp.path, 'tree'), {
      'etc/hostname': 'guest\n',
      'etc/fstab': 'UUID=x / ext4 defaults 0 1\n'.repeat(40),
      'bin': { symlink: 'usr/bin' },
      'usr/bin/sh': { content: '#!'.repeat(3000), mode: 0o755 },
      'var/log/big': 'y'.repeat(200_000),
    });
    return [
      ['ext4', []],
      ['ext2', ['-b', '1024']],
      // Without checksums most mutations reach xenkit's own parsers instead of being caught by a crc.
      ['ext4', ['-O', '^metadata_csum', '-b', '1024']],
    ].map(([fs, args], i) => {
      const path = join(tmp.path, `${fs}-${i}.img`);
      exec('truncate', ['-s', '4M', path]);
      makeFs(path, 0, 4 * MiB, { fs: fs as 'ext4' | 'ext2', tree, mkfsArgs: args as string[] }, tmp.path);
      return new Uint8Array(readFileSync(path));
    });
  } finally {
    tmp.cleanup();
  }
}

export async function fuzzExt(options: LoopOptions & { corpus?: Uint8Array[] }): Promise<LoopResult> {
  const within = (img: Uint8Array, r: Rng): number => r.int(Math.min(MUTATE_WITHIN, img.length));
  return fuzzFilesystem('ext fuzz', options, options.corpus ?? buildExtCorpus(), within, (source) => openExtFileSystem(source), MAX_ENTRIES);
}

await runIfMain(import.meta.url, 'ext fuzz', fuzzExt);
