/** What the agent needs from any datasource (config drive or metadata service). */
export interface InstanceData {
  /** Where it came from, for the log ("config-drive /dev/xvdd", "http://169.254.169.254/openstack"). */
  source: string;
  instanceId?: string;
  hostname?: string;
  keys: string[];
  userData?: Buffer;
}

/** Flattens OpenStack/EC2 key shapes (a dict of name → key, a list, a string) into key lines, like cloud-init. */
export function normalizePublicKeys(value: unknown, depth = 0): string[] {
  if (depth > 3 || value === null || value === undefined) return [];
  if (typeof value === 'string') {
    return value
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('#'));
  }
  if (Array.isArray(value)) return value.slice(0, 64).flatMap((v) => normalizePublicKeys(v, depth + 1));
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // EC2 JSON shape {"0": {"openssh-key": "..."}}
    if (typeof o['openssh-key'] === 'string') return normalizePublicKeys(o['openssh-key'], depth + 1);
    return Object.values(o).slice(0, 64).flatMap((v) => normalizePublicKeys(v, depth + 1));
  }
  return [];
}
