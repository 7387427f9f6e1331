import { createHash } from 'node:crypto';

/**
 * Our reading of a `_base` file name:
 * - `original`: 40 hex digits, the SHA-1 of a Glance image id (nova's get_cache_fname);
 * - `resized`: `<sha1>_<digits>`, a copy grown to the flavor's root size (bytes today, GB before Folsom);
 * - `legacy-small`: `<sha1>_sm`, the pre-Folsom "small" variant;
 * - `swap`: `swap_<MiB>`; `ephemeral`: `ephemeral_<GB>_<fs hash or os type>`;
 * - `unknown`: anything else.
 */
export type CacheFileClass = 'original' | 'resized' | 'legacy-small' | 'swap' | 'ephemeral' | 'unknown';

/**
 * How nova's cache manager buckets a name, which is by length and position, not by content: any
 * 40-character name is an "original" and any name longer than 42 characters with `_` at index 40 is a
 * resized image (so `<sha1>_5`, 42 characters, is ignored by nova altogether). `ignored` files are never
 * logged nor removed by nova.
 */
export type NovaGroup = 'original' | 'resized' | 'swap' | 'ephemeral' | 'ignored';

/**
 * Which nova generation's rules and log wording to reproduce:
 * - `base-swap-ephemeral` (current nova): swap and ephemeral backing files are aged too;
 * - `base-swap`: swap files are aged, ephemeral files ignored ("Removing base or swap file");
 * - `base`: the 2012 manager the image guide quotes ("Removing base file"), which ages only images.
 */
export type NovaRules = 'base-swap-ephemeral' | 'base-swap' | 'base';
export const NOVA_RULES: readonly NovaRules[] = ['base-swap-ephemeral', 'base-swap', 'base'];

const SHA1_HEX = /^[0-9a-f]{40}$/;
const DIGEST_CHARS = 40;

/** nova's `get_cache_fname`: the `_base` name of an image id is the SHA-1 of its UTF-8 bytes. */
export function cacheFileName(imageId: string): string {
  return createHash('sha1').update(imageId, 'utf8').digest('hex');
}

export function classifyName(name: string): CacheFileClass {
  const head = name.slice(0, DIGEST_CHARS);
  if (SHA1_HEX.test(head)) {
    const rest = name.slice(DIGEST_CHARS);
    if (rest === '') return 'original';
    if (rest === '_sm') return 'legacy-small';
    if (/^_\d+$/.test(rest)) return 'resized';
    return 'unknown';
  }
  if (isSwapName(name)) return 'swap';
  if (isEphemeralName(name)) return 'ephemeral';
  return 'unknown';
}

// nova `_store_swap_image`: exactly two `_`-separated parts, "swap" and a non-empty run of digits.
function isSwapName(name: string): boolean {
  const parts = name.split('_');
  return parts.length === 2 && parts[0] === 'swap' && /^\d+$/.test(parts[1]!);
}

// `ephemeral_<size>_<suffix>`: the suffix is the md5-7 of the mkfs command or fs (today) or the os type
// (older nova, e.g. `ephemeral_20_default`).
function isEphemeralName(name: string): boolean {
  const parts = name.split('_');
  return parts.length === 3 && parts[0] === 'ephemeral' && /^\d+$/.test(parts[1]!) && /^[0-9A-Za-z.-]+$/.test(parts[2]!);
}

/** nova's bucket for a regular file called `name` under the given rules (see {@link NovaGroup}). */
export function novaGroup(name: string, rules: NovaRules): NovaGroup {
  if (name.length === DIGEST_CHARS) return 'original';
  if (name.length > DIGEST_CHARS + 2 && name[DIGEST_CHARS] === '_') return 'resized';
  if (rules !== 'base' && isSwapName(name)) return 'swap';
  if (rules === 'base-swap-ephemeral' && isEphemeralName(name)) return 'ephemeral';
  return 'ignored';
}

/**
 * Does `name` belong to an image whose fingerprint is `sha1`? nova's `_find_base_file`: the original,
 * the `_sm` variant, and `<sha1>_<digits>` resized copies.
 */
export function belongsToImage(name: string, sha1: string): boolean {
  if (!name.startsWith(sha1)) return false;
  const rest = name.slice(sha1.length);
  return rest === '' || rest === '_sm' || /^_\d+$/.test(rest);
}

/** nova's log wording for the two removal messages under `rules`. */
export function removalWording(rules: NovaRules): { removing: string; tooYoung: string } {
  switch (rules) {
    case 'base':
      return { removing: 'Removing base file', tooYoung: 'Base file too young to remove' };
    case 'base-swap':
      return { removing: 'Removing base or swap file', tooYoung: 'Base or swap file too young to remove' };
    case 'base-swap-ephemeral':
      return { removing: 'Removing base, swap or ephemeral file', tooYoung: 'Base, swap or ephemeral file too young to remove' };
  }
}
