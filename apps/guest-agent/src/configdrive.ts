import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { HostTreeFileSystem, Iso9660FileSystem, RawSource, VfatFileSystem, type ReadOnlyFileSystem } from '@xenkit/disk';
import { OperationError } from '@xenkit/core';
import { normalizePublicKeys, type InstanceData } from './instance-data.js';

export const CONFIG_DRIVE_LABELS = ['config-2', 'CONFIG-2'];
const MAX_JSON = 1024 * 1024;
const MAX_USER_DATA = 16 * 1024 * 1024;

/** Where a live guest finds its config drive: udev's by-label links (nova attaches it as a disk). */
export function findConfigDrive(): string | undefined {
  for (const l of CONFIG_DRIVE_LABELS) {
    const p = `/dev/disk/by-label/${l}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

const MAX_CANDIDATE_BYTES = 256 * 1024 * 1024;

/**
 * Without udev's links (early boot, minimal images), probe small whole disks and CD drives ourselves:
 * nova's drive is a 64 MiB vfat or an iso9660 image. Bounded: at most 32 devices, each ≤ 256 MiB.
 */
export async function scanConfigDrives(sysBlock = '/sys/class/block', pattern = /^(xvd[a-z]+|sr\d+|vd[a-z]+|sd[a-z]+|hd[a-z]+)$/): Promise<string | undefined> {
  if (!existsSync(sysBlock)) return undefined;
  const names = readdirSync(sysBlock).filter((n) => pattern.test(n)).slice(0, 32);
  for (const n of names) {
    let sectors = 0;
    try {
      sectors = Number(readFileSync(`${sysBlock}/${n}/size`, 'utf8').trim());
    } catch {
      continue;
    }
    if (!(sectors > 0 && sectors * 512 <= MAX_CANDIDATE_BYTES) || !existsSync(`/dev/${n}`)) continue;
    try {
      const fs = await openConfigDrive(`/dev/${n}`);
      await fs.close();
      return `/dev/${n}`;
    } catch {
      // not a config drive
    }
  }
  return undefined;
}

/**
 * Opens a config drive: a directory (already mounted or unpacked), or an image/block device holding
 * iso9660 or vfat labelled config-2, read in user space without mounting.
 */
export async function openConfigDrive(path: string): Promise<ReadOnlyFileSystem> {
  if (statSync(path).isDirectory()) return HostTreeFileSystem.open(path);
  const source = await RawSource.open(path);
  try {
    let fs: Iso9660FileSystem | VfatFileSystem | undefined;
    if (await Iso9660FileSystem.probe(source)) fs = await Iso9660FileSystem.open(source, path);
    else if (await VfatFileSystem.probe(source)) fs = await VfatFileSystem.open(source, path);
    if (!fs) throw new OperationError('E_AGENT_CD_FORMAT', `${path} is neither iso9660 nor vfat`, { details: { path } });
    if (!CONFIG_DRIVE_LABELS.includes(fs.label)) {
      throw new OperationError('E_AGENT_CD_LABEL', `${path} is labelled ${JSON.stringify(fs.label)}, not config-2`, { details: { path, label: fs.label } });
    }
    return fs;
  } catch (e) {
    await source.close();
    throw e;
  }
}

async function readJson(fs: ReadOnlyFileSystem, path: string): Promise<Record<string, unknown> | undefined> {
  if (!(await fs.exists(path))) return undefined;
  const text = new TextDecoder().decode(await fs.readFile(path, { maxBytes: MAX_JSON }));
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    throw new OperationError('E_AGENT_CD_BAD_JSON', `${fs.description}: ${path} is not JSON`, { details: { path } });
  }
}

/** Newest version directory under `dir` ("latest" first, then the greatest date). */
async function newest(fs: ReadOnlyFileSystem, dir: string): Promise<string | undefined> {
  if (!(await fs.exists(dir))) return undefined;
  const names = await fs.readdir(dir);
  if (names.includes('latest')) return 'latest';
  return names.filter((n) => /^\d{4}-\d{2}-\d{2}$/.test(n)).sort().at(-1);
}

/** Reads OpenStack `openstack/<v>/meta_data.json` (+ user_data), falling back to `ec2/<v>/meta-data.json`. */
export async function readConfigDrive(fs: ReadOnlyFileSystem): Promise<InstanceData> {
  const os = await newest(fs, '/openstack');
  const md = os ? await readJson(fs, `/openstack/${os}/meta_data.json`) : undefined;
  const ec2v = await newest(fs, '/ec2');
  const ec2 = ec2v ? await readJson(fs, `/ec2/${ec2v}/meta-data.json`) : undefined;
  if (!md && !ec2) throw new OperationError('E_AGENT_CD_EMPTY', `${fs.description} has no openstack/*/meta_data.json or ec2/*/meta-data.json`);
  const userDataPath = os && (await fs.exists(`/openstack/${os}/user_data`)) ? `/openstack/${os}/user_data` : ec2v && (await fs.exists(`/ec2/${ec2v}/user-data`)) ? `/ec2/${ec2v}/user-data` : undefined;
  const userData = userDataPath ? Buffer.from(await fs.readFile(userDataPath, { maxBytes: MAX_USER_DATA })) : undefined;
  const keys = md ? normalizePublicKeys(md.public_keys ?? md['public-keys']) : normalizePublicKeys(ec2?.['public-keys']);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    source: `config drive ${fs.description}`,
    instanceId: str(md?.uuid) ?? str(ec2?.['instance-id']),
    hostname: str(md?.hostname) ?? str(ec2?.hostname),
    keys,
    userData,
  };
}
