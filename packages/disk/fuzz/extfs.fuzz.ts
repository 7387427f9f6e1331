// Mutation fuzzing of the ext reader: real ext2/ext4 filesystems (mke2fs -d) get bytes changed in their
// metadata (superblock, group descriptors, bitmaps, inode tables, directories — the first 512 KiB),
// then are opened, walked and read. Every failure must be a coded XenkitError; libext2fs sees only a
// read-only view, so nothing can be written whatever it decides. `npm run fuzz` runs it for
// FUZZ_SECONDS; the test suite runs a short seeded round through `fuzzExt`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isXenkitError } from '@xenkit/core';
import { buildTree, exec, makeFs, tempDir } from '@xenkit/fixtures';
import { BufferSource, openExtFileSystem, type ReadOnlyFileSystem } from '../src/index.js';

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
    ].map(([fs, args]) => {
      const path = join(tmp.path, `${fs}.img`);
      exec('truncate', ['-s', '4M', path]);
      makeFs(path, 0, 4 * MiB, { fs: fs as 'ext4' | 'ext2', tree, mkfsArgs: args as string[] }, tmp.path);
      return new Uint8Array(readFileSync(path));
    });
  } finally {
    tmp.cleanup();
  }
}

async function walk(fs: ReadOnlyFileSystem, dir: string, budget: { left: number }): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (--budget.left <= 0) return;
    const p = `${dir === '/' ? '' : dir}/${name}`;
    try {
      const st = await fs.lstat(p);
      if (st.type === 'directory') await walk(fs, p, budget);
      else if (st.type === 'file') await fs.readFile(p, { maxBytes: MiB });
      else if (st.type === 'symlink') await fs.exists(p);
    } catch (e) {
      if (!isXenkitError(e)) throw e;
    }
  }
}

export async function fuzzExt(options: { seed: number; iterations?: number; seconds?: number; corpus?: Uint8Array[] }): Promise<{ iterations: number; opened: number; codes: Record<string, number> }> {
  const corpus = options.corpus ?? buildExtCorpus();
  let x = options.seed >>> 0 || 1;
  const rand = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
  const deadline = options.seconds ? Date.now() + options.seconds * 1000 : Number.POSITIVE_INFINITY;
  const max = options.iterations ?? Number.POSITIVE_INFINITY;
  const result = { iterations: 0, opened: 0, codes: {} as Record<string, number> };
  while (result.iterations < max && Date.now() < deadline) {
    const img = corpus[Math.floor(rand() * corpus.length)] as Uint8Array;
    const saved: [number, number][] = [];
    for (let i = 0, n = 1 + Math.floor(rand() * 16); i < n; i++) {
      const at = Math.floor(rand() * MUTATE_WITHIN);
      saved.push([at, img[at] as number]);
      img[at] = Math.floor(rand() * 256);
    }
    try {
      const fs = await openExtFileSystem(new BufferSource(img, `fuzz#${result.iterations}`));
      result.opened++;
      try {
        await walk(fs, '/', { left: MAX_ENTRIES });
      } finally {
        await fs.close();
      }
    } catch (e) {
      if (!isXenkitError(e)) {
        throw new Error(`ext reader threw a non-coded error on iteration ${result.iterations} (seed ${options.seed}): ${String((e as Error).stack ?? e)}`);
      }
      result.codes[e.code] = (result.codes[e.code] ?? 0) + 1;
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
  console.log(`ext fuzz: seed ${seed}, ${seconds} s`);
  console.log(JSON.stringify(await fuzzExt({ seed, seconds }), null, 2));
}
