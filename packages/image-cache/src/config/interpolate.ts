import { inputError } from '../errors.js';

/** oslo.config nests `$a` → `$b` → … ; a chain longer than this is a loop. */
const MAX_DEPTH = 16;

// oslo.config widens string.Template's identifier to allow `group.option`.
const PLACEHOLDER = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\}|())/gi;

/**
 * Expand `$name`, `${name}` and `${group.name}` the way oslo.config does (string.Template
 * `substitute`): `$$` is a literal `$`, an unknown name or a lone `$` is an error, and substituted values
 * are themselves expanded. `lookup` returns the raw value of a name, or undefined when it is not set.
 */
export function interpolate(
  raw: string,
  lookup: (name: string) => string | undefined,
  where: string,
  depth = 0,
  seen: readonly string[] = [],
): string {
  if (!raw.includes('$')) return raw;
  return raw.replace(PLACEHOLDER, (_m, dollar: string | undefined, bare: string | undefined, braced: string | undefined) => {
    if (dollar) return '$';
    const name = bare ?? braced;
    if (name === undefined) {
      throw inputError('E_NOVA_CONF_SUBSTITUTION', `${where}: invalid placeholder in ${JSON.stringify(raw)} (write $$ for a literal $)`, {
        where,
        value: raw,
      });
    }
    if (seen.includes(name) || depth >= MAX_DEPTH) {
      throw inputError('E_NOVA_CONF_SUBSTITUTION', `${where}: $${name} refers back to itself (${[...seen, name].join(' → ')})`, {
        where,
        chain: [...seen, name],
      });
    }
    const value = lookup(name);
    if (value === undefined) {
      throw inputError(
        'E_NOVA_CONF_SUBSTITUTION',
        `${where}: ${JSON.stringify(raw)} refers to $${name}, which is not set; set it in nova.conf or with --set ${name}=VALUE`,
        { where, value: raw, missing: name },
      );
    }
    return interpolate(value, lookup, where, depth + 1, [...seen, name]);
  });
}
