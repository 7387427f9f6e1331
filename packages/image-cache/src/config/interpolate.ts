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
 * Expand `$name`, `${name}` and `${group.name}` as oslo.config does: `\$` and `$$` are a literal `$`,
 * a `$` not followed by a name is left alone (string.Template `safe_substitute`), a bare name is looked
 * up in the option's own group and then in [DEFAULT], an unknown name is an error, and substituted values
 * are expanded in turn, each in its own group.
 */
export function interpolate(raw: string, group: string, resolve: RefResolver, where: string, seen: readonly string[] = []): string {
  if (!raw.includes('$')) return raw;
  const text = raw.replaceAll('\\$', '$$$$');
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
    const ref = resolve(name, group);
    if (ref === undefined) {
      throw inputError(
        'E_NOVA_CONF_SUBSTITUTION',
        `${where}: ${JSON.stringify(raw)} refers to $${name}, which is not set; set it in nova.conf or with --set ${name}=VALUE`,
        { where, value: raw, missing: name },
      );
    }
    return interpolate(ref.raw, ref.group, resolve, where, [...seen, key]);
  });
}
