import { basename, join } from 'node:path';
import { belongsToImage, removalWording } from './naming.js';
import type { CacheScan } from './scan.js';

export interface NovaLogLine {
  level: 'info' | 'warning';
  message: string;
}

/**
 * The lines nova-compute's image cache manager would log for this scan, in its order
 * (nova/virt/libvirt/imagecache.py `_age_and_verify_cached_images`, then the swap and ephemeral
 * passes): the per-image "checking" lines, backing files it cannot explain, "Unknown base file",
 * "Active base files", "Removable base files", and the removal decisions.
 */
export function novaLogFor(scan: CacheScan): NovaLogLine[] {
  const log: NovaLogLine[] = [];
  const info = (message: string) => log.push({ level: 'info', message });
  const warning = (message: string) => log.push({ level: 'warning', message });
  const words = removalWording(scan.rules);

  const images = scan.entries.filter((e) => e.novaGroup === 'original' || e.novaGroup === 'resized');
  const unexplained = new Set(images.map((e) => e.path));
  const active: string[] = [];

  for (const { id, fingerprint } of scan.imageIds) {
    // nova's `_find_base_file` order: the original and `_sm` (found by existence), then resized copies
    // among the names its scan kept.
    const mine = scan.entries.filter((e) => belongsToImage(e.name, fingerprint));
    const small = `${fingerprint}_sm`;
    const found = [
      ...mine.filter((e) => e.name === fingerprint),
      ...mine.filter((e) => e.name === small),
      ...mine.filter((e) => e.name !== fingerprint && e.name !== small && unexplained.has(e.path)),
    ];
    for (const e of found) {
      info(`image ${id} at (${e.path}): checking`);
      unexplained.delete(e.path);
      active.push(e.path);
    }
  }

  // nova reads the backing file of `<instance>/disk` only.
  for (const d of scan.disks) {
    if (d.backingFile === null || basename(d.path) !== 'disk') continue;
    const name = basename(d.backingFile);
    const backingPath = join(scan.cacheDir, name);
    if (!active.includes(backingPath)) active.push(backingPath);
    if (unexplained.has(backingPath)) {
      warning(`Instance ${d.instance} is using a backing file ${name} which does not appear in the image service`);
      unexplained.delete(backingPath);
    }
  }

  const removable = images.filter((e) => unexplained.has(e.path));
  for (const e of removable) warning(`Unknown base file: ${e.path}`);
  if (active.length > 0) info(`Active base files: ${active.join(' ')}`);
  if (removable.length > 0) info(`Removable base files: ${removable.map((e) => e.path).join(' ')}`);

  if (scan.removeUnusedBaseImages) {
    const decide = (e: CacheScan['entries'][number]) => {
      if (e.novaAction === 'too-young') info(`${words.tooYoung}: ${e.path}`);
      else if (e.novaAction === 'remove') info(`${words.removing}: ${e.path}`);
    };
    for (const e of removable) decide(e);
    for (const e of scan.entries.filter((x) => x.novaGroup === 'swap')) decide(e);
    for (const e of scan.entries.filter((x) => x.novaGroup === 'ephemeral')) decide(e);
  }
  return log;
}
