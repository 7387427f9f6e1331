import { sourcePath, type BlockSource } from '../block/types.js';
import type { Volume } from '../layout/probe-disk.js';
import { SliceSource } from '../layout/view.js';
import { FsError } from './errors.js';

/**
 * What every `open…FileSystem(source, volume?)` reads: `volume` of `source` (the whole source when
 * none is given) as a view — so closing the filesystem leaves `source` open for the caller — and the
 * description errors and evidence name it by ("iso9660 on disk.img (p1)").
 */
export function volumeView(source: BlockSource, volume: Volume | undefined, kind: string, description?: string): { view: BlockSource; description: string } {
  const path = sourcePath(source);
  const desc = description ?? `${kind} on ${path}${volume ? ` (${volume.id})` : ''}`;
  if (!volume) return { view: new SliceSource(source, [{ offset: 0, length: source.size }], path), description: desc };
  if (volume.segments.length === 0) {
    throw new FsError('E_FS_CORRUPT', `${desc}: volume ${volume.id} has no readable byte ranges`, { path: '/', fs: desc });
  }
  return { view: new SliceSource(source, volume.segments, `${path}:${volume.id}`), description: desc };
}

/** Options every `open…FileSystem` takes. */
export interface OpenFsOptions {
  /** Shown in errors and evidence; default "<type> on <image> (<volume>)". */
  description?: string;
}
