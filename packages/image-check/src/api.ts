import { silentLogger } from '@xenkit/core';
import { runChecks, type CheckOptions, type CheckReport, type Target } from './check.js';
import { ImageCheckUsageError } from './errors.js';
import { openImageTarget } from './image.js';
import { openTreeTarget } from './target.js';

/** What to check: an image file, or a host directory holding an unpacked root. */
export type CheckInput = { image: string; root?: undefined } | { root: string; image?: undefined };

export async function openTarget(input: CheckInput, options: Pick<CheckOptions, 'logger' | 'syncReads'> = {}): Promise<Target> {
  if (input.image !== undefined && input.root !== undefined) {
    throw new ImageCheckUsageError('E_TARGET_AMBIGUOUS', 'give either an IMAGE or --root DIR, not both');
  }
  if (input.root !== undefined) return openTreeTarget(input.root);
  return openImageTarget(input.image, options.logger ?? silentLogger, { syncReads: options.syncReads ?? false });
}

/**
 * Check an image or a root tree against every OpenStack-on-Xen image requirement. `check --root DIR`
 * and `check IMAGE` run the same checks over the same filesystem interface; only disk-level checks
 * (auto-disk-config) need an image.
 */
export async function checkImage(input: CheckInput, options: CheckOptions = {}): Promise<CheckReport> {
  const target = await openTarget(input, options);
  try {
    return await runChecks(target, options);
  } finally {
    await target.close();
  }
}
