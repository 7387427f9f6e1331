import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isFile, listDir, readText } from '../text.js';

/** cloud-init's merged system config: /etc/cloud/cloud.cfg then cloud.cfg.d/*.cfg in name order. */
export interface CloudConfig {
  installed: boolean;
  /** The cloud-init executable or package evidence. */
  installedBy?: string;
  files: string[];
  /** Top-level keys, later files replacing earlier ones (cloud-init's default merge for these keys). */
  merged: Record<string, unknown>;
  /** Files that are not valid YAML. */
  broken: string[];
}

const EXECUTABLES = ['/usr/bin/cloud-init', '/usr/local/bin/cloud-init', '/bin/cloud-init'];

export async function readCloudConfig(fs: ReadOnlyFileSystem): Promise<CloudConfig> {
  let installedBy: string | undefined;
  for (const p of EXECUTABLES) if (await isFile(fs, p)) { installedBy = p; break; }
  const files = ['/etc/cloud/cloud.cfg', ...(await listDir(fs, '/etc/cloud/cloud.cfg.d')).filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)];
  const merged: Record<string, unknown> = {};
  const present: string[] = [];
  const broken: string[] = [];
  // The YAML parser is loaded only for an image that has cloud-init config to parse.
  let parse: typeof import('yaml').parse | undefined;
  for (const f of files) {
    const text = await readText(fs, f);
    if (text === null) continue;
    present.push(f);
    parse ??= (await import('yaml')).parse;
    try {
      const doc = parse(text, { maxAliasCount: 100 }) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) Object.assign(merged, doc);
    } catch {
      broken.push(f);
    }
  }
  return { installed: installedBy !== undefined, ...(installedBy ? { installedBy } : {}), files: present, merged, broken };
}

/** Module names in a cloud-init module list (entries are "name", ["name", freq] or {name: …}). */
export function moduleNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((m) => (typeof m === 'string' ? m : Array.isArray(m) ? m[0] : m && typeof m === 'object' ? Object.keys(m)[0] : undefined))
    .filter((m): m is string => typeof m === 'string')
    .map((m) => m.replace(/^cc_/, '').replace(/-/g, '_'));
}

/** Every module in cloud_init_modules, cloud_config_modules and cloud_final_modules. */
export function enabledModules(cfg: CloudConfig): Set<string> {
  return new Set(['cloud_init_modules', 'cloud_config_modules', 'cloud_final_modules'].flatMap((k) => moduleNames(cfg.merged[k])));
}

/** The default user cloud-init creates (system_info.default_user.name), with `users:` overrides. */
export function defaultUser(cfg: CloudConfig): string | undefined {
  const users = cfg.merged.users;
  if (Array.isArray(users)) {
    const first = users[0];
    if (first && typeof first === 'object' && typeof (first as { name?: unknown }).name === 'string') return (first as { name: string }).name;
  }
  const si = cfg.merged.system_info as { default_user?: { name?: unknown } } | undefined;
  return typeof si?.default_user?.name === 'string' ? si.default_user.name : undefined;
}

/** datasource_list when configured (cloud-init's default list, which holds OpenStack and Ec2, otherwise). */
export function datasourceList(cfg: CloudConfig): string[] | undefined {
  const l = cfg.merged.datasource_list;
  if (Array.isArray(l)) return l.filter((x): x is string => typeof x === 'string');
  if (typeof l === 'string') return l.replace(/[[\]]/g, '').split(',').map((s) => s.trim()).filter(Boolean);
  return undefined;
}
