import { inputError } from '../errors.js';

/** oslo.config nests `$a` → `$b` → … ; a chain longer than this is a loop. */
const MAX_DEPTH = 16;

// string.Template's pattern with oslo.config's identifier (dots allowed for `group.option`), matched
// case-insensitively as string.Template does.
const PLACEHOLDER = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\})/gi;

/** A referenced option: its raw text and the group its own references resolve in. */
export interface RefValue {
  raw: string;
  group: string;
}

/** Finds the option `name` (`opt` or `group.opt`) as seen from an option in `group`. */
export type RefResolver = (name: string, group: string) => RefValue | undefined;

/**
 * Text substituted into one value, at most. Each reference can repeat another several times, so the
 * expansion grows exponentially with depth (ten levels of `$prev` ×10 is 10^10 bytes); oslo.config
 * would try to build it. Far beyond any real path or flag.
 */
export const MAX_EXPANSION_BYTES = 64 * 1024;

/**
 * Expand `$name`, `${name}` and `${group.name}` as oslo.config does: `\$` and `$$` are a literal `$`,
 * a `$` not followed by a name is left alone (string.Template `safe_substitute`), a bare name is looked
 * up in the option's own group and then in [DEFAULT], an unknown name is an error, and substituted values
 * are expanded in turn, each in its own group. Each referenced option is expanded once (memoised) and
 * the substituted text is capped at {@link MAX_EXPANSION_BYTES}, so work is bounded by the input.
 */
export function interpolate(raw: string, group: string, resolve: RefResolver, where: string): string {
  return expand(raw, group, resolve, where, [], new Map());
}

function expand(raw: string, group: string, resolve: RefResolver, where: string, seen: readonly string[], memo: Map<string, string>): string {
  if (!raw.includes('$')) return raw;
  const text = raw.replaceAll('\\$', '$$$$');
  let substituted = 0;
  return text.replace(PLACEHOLDER, (_m, dollar: string | undefined, bare: string | undefined, braced: string | undefined) => {
    if (dollar) return '$';
    const name = (bare ?? braced)!;
    const key = `${group}.${name}`;
    if (seen.includes(key) || seen.length >= MAX_DEPTH) {
      throw inputError('E_NOVA_CONF_SUBSTITUTION', `${where}: $${name} refers back to itself (${[...seen, key].join(' → ')})`, {
        where,
        chain: [...seen, key],
      });
    }
    let piece = memo.get(key);
    if (piece === undefined) {
      const ref = resolve(name, group);
      if (ref === undefined) {
        throw inputError(
          'E_NOVA_CONF_SUBSTITUTION',
          `${where}: ${JSON.stringify(raw)} refers to $${name}, which is not set; set it in nova.conf or with --set ${name}=VALUE`,
          { where, value: raw, missing: name },
        );
      }
      piece = expand(ref.raw, ref.group, resolve, where, [...seen, key], memo);
      memo.set(key, piece);
    }
    substituted += piece.length;
    if (substituted > MAX_EXPANSION_BYTES) {
      throw inputError(
        'E_NOVA_CONF_SUBSTITUTION',
        `${where}: expanding $${name} in ${JSON.stringify(raw.slice(0, 80))} substitutes more than ${MAX_EXPANSION_BYTES} bytes; references nest and repeat too much`,
        { where, value: raw.slice(0, 200), reference: name, limit: MAX_EXPANSION_BYTES },
      );
    }
    return piece;
  });
}
