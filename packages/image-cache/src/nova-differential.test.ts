import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCacheConfig } from './config/options.js';
import { scanCache } from './scan.js';
import { buildNovaTree, type NovaTree } from './test-helpers/tree.js';
import { runNovaImageCache, type NovaInstances } from './test-helpers/nova.js';

const trees: NovaTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

/** What nova's database says about the tree's instances: inst-1's flavor has 512 MB swap and a 20 GB ephemeral disk. */
const INSTANCES: NovaInstances = {
  instance_names: ['inst-1', 'inst-2', 'inst-3', 'inst-4'],
  used_swap_images: ['swap_512'],
  used_ephemeral_images: ['ephemeral_20_40d1321'],
};

/** Log lines as a sorted list; the file lists inside the summary lines are sorted too (directory order). */
const lines = (log: readonly { level: string; message: string }[]) =>
  log
    .map(({ level, message }) => {
      const m = /^(Active base files|Removable base files): (.*)$/.exec(message);
      return `${level} ${m ? `${m[1]}: ${m[2]!.split(' ').sort().join(' ')}` : message}`;
    })
    .sort();

/**
 * Our prediction against nova's own ImageCacheManager (Debian's python3-nova, run unmodified on the
 * same tree): the same files removed and the same log lines. Nova lists `_base` in directory order,
 * so lines (and the file lists in the summaries) are compared sorted; the order is checked in scan.test.ts.
 */
describe("predictions match nova's own image-cache manager", () => {
  it.each([
    ['defaults', ''],
    ['a shorter original age', 'remove_unused_original_minimum_age_seconds = 1800\n'],
    ['removal disabled', 'remove_unused_base_images = false\n'],
  ])('%s', async (_name, extra) => {
    const ours = buildNovaTree();
    const theirs = buildNovaTree(ours.now);
    trees.push(ours, theirs);
    writeFileSync(ours.conf, readFileSync(ours.conf, 'utf8') + extra);
    const config = await loadCacheConfig({ files: [ours.conf] });
    const scan = await scanCache(config, { now: ours.now });

    const nova = runNovaImageCache(
      {
        instances_path: theirs.instancesPath,
        remove_unused_base_images: config.removeUnusedBaseImages,
        remove_unused_original_minimum_age_seconds: config.originalMinimumAgeSeconds,
        remove_unused_resized_minimum_age_seconds: config.resizedMinimumAgeSeconds,
      },
      INSTANCES,
    );
    const predicted = scan.entries.filter((e) => e.novaAction === 'remove').map((e) => e.name);
    expect(predicted.sort()).toEqual(nova.removed);
    expect(readdirSync(theirs.cacheDir).length).toBe(readdirSync(ours.cacheDir).length - nova.removed.length);
    const rename = (s: string) => s.replaceAll(theirs.instancesPath, ours.instancesPath);
    expect(lines(scan.novaLog)).toEqual(lines(nova.log.map((l) => ({ ...l, message: rename(l.message) }))));
  });
});
