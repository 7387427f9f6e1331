import type { BlockSource } from '../block/types.js';
import { RawSource } from '../block/raw.js';
import type { Volume } from '../layout/probe-disk.js';
import { openExtFileSystem } from '../fs/ext.js';
import type { ReadOnlyFileSystem } from '../fs/types.js';

/**
 * Open the ext filesystem in image file `img` (the whole file, or the volume `volumeOf` picks), run
 * `fn` on it, and close both whatever happens.
 */
export async function withExtImage<F extends ReadOnlyFileSystem, T>(
  img: string,
  fn: (fs: F) => Promise<T>,
  volumeOf?: (src: BlockSource) => Promise<Volume>,
): Promise<T> {
  const src = await RawSource.open(img);
  try {
    const fs = (await openExtFileSystem(src, volumeOf ? await volumeOf(src) : undefined)) as F;
    try {
      return await fn(fs);
    } finally {
      await fs.close();
    }
  } finally {
    await src.close();
  }
}
