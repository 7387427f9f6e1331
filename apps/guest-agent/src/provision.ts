import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError, isXenkitError, silentLogger, type Logger } from '@xenkit/core';
import { detectCloudInit, waitForCloudInit, type CloudInitState } from './cloudinit.js';
import { findConfigDrive, openConfigDrive, readConfigDrive, scanConfigDrives } from './configdrive.js';
import type { InstanceData } from './instance-data.js';
import { injectKeys, parseKeys } from './keys.js';
import { DEFAULT_RETRY, METADATA_URL, readMetadata, type RetryPolicy } from './metadata.js';
import { safeRead, safeWrite } from './safe-write.js';

export interface ProvisionOptions {
  root: string;
  logger?: Logger;
  /** Metadata service base URL; default http://169.254.169.254. `null` disables the HTTP source. */
  metadataUrl?: string | null;
  retry?: RetryPolicy;
  /** Config drive directory, image or device; default: /dev/disk/by-label/config-2 on a live guest. */
  configDrive?: string;
  /** Users whose authorized_keys receive the instance's keys (default root). */
  users?: string[];
  /** How long to wait for a running cloud-init to finish before deciding (default 10 min). */
  cloudInitWaitMs?: number;
  /** Kernel command line to check instead of /proc/cmdline. */
  cmdline?: string;
  /** Run a `#!` user-data script (once per instance id). Always on for a live guest; opt-in with --root. */
  runUserData?: boolean;
  /** Kill the user-data script's process group after this long (default 10 min). */
  userDataTimeoutMs?: number;
}

export interface ProvisionResult {
  cloudInit: CloudInitState & { finished: boolean };
  decision: 'cloud-init' | 'agent';
  source?: string;
  keysAdded: number;
  hostname?: string;
  userDataRan: boolean;
  /** The user-data script ran into userDataTimeoutMs and was killed. */
  userDataTimedOut?: boolean;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const STATE_DIR = ['var', 'lib', 'xenkit-agent'];

/** Config drive first (dom0 attaches it read-only: more trustworthy than link-local HTTP), then HTTP. */
async function instanceData(o: ProvisionOptions, logger: Logger): Promise<InstanceData | undefined> {
  const drive = o.configDrive ?? (o.root === '/' ? findConfigDrive() ?? (await scanConfigDrives()) : undefined);
  if (drive && existsSync(drive)) {
    try {
      const fs = await openConfigDrive(drive);
      try {
        return await readConfigDrive(fs);
      } finally {
        await fs.close();
      }
    } catch (e) {
      logger.warn({ drive, err: (e as Error).message }, 'config drive unusable; trying the metadata service');
    }
  }
  if (o.metadataUrl === null) return undefined;
  return readMetadata(o.metadataUrl ?? METADATA_URL, o.retry ?? DEFAULT_RETRY, {}, logger);
}

/**
 * Boot-time provisioning: decide who owns SSH keys (cloud-init when it is installed, enabled and has
 * its ssh module — after waiting for it to finish), and only when it is the agent, fetch the instance
 * data and merge keys, set the hostname and run a user-data script once per instance.
 */
export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const logger = o.logger ?? silentLogger;
  const state = await detectCloudInit(o.root, o.cmdline);
  let finished = false;
  if (state.ownsKeys) {
    finished = await waitForCloudInit(o.root, o.cloudInitWaitMs ?? 600_000, logger);
    state.evidence.push(finished ? '/run/cloud-init/result.json present (cloud-init finished)' : 'cloud-init did not finish within the wait; still leaving keys to it');
  }
  const cloudInit = { ...state, finished };
  if (state.ownsKeys) {
    logger.info({ decision: 'cloud-init', evidence: state.evidence }, 'cloud-init owns SSH keys, hostname and user-data: skipping metadata key injection');
    return { cloudInit, decision: 'cloud-init', keysAdded: 0, userDataRan: false };
  }
  logger.info({ decision: 'agent', evidence: state.evidence }, 'no active cloud-init with an ssh module: the agent injects keys');
  const data = await instanceData(o, logger);
  if (!data) return { cloudInit, decision: 'agent', keysAdded: 0, userDataRan: false };
  let keysAdded = 0;
  let keys: string[] = [];
  try {
    keys = parseKeys(data.keys.join('\n'));
  } catch (e) {
    logger.warn({ source: data.source, err: (e as Error).message }, 'ignoring malformed public keys');
  }
  for (const user of o.users ?? ['root']) {
    if (keys.length === 0) break;
    try {
      keysAdded += (await injectKeys(o.root, user, keys, logger)).added;
    } catch (e) {
      logger.error({ user, code: isXenkitError(e) ? e.code : undefined, err: (e as Error).message }, 'key injection refused');
    }
  }
  const hostname = await setHostname(o.root, data.hostname, logger);
  const ud = await runUserData(o, data, logger);
  return { cloudInit, decision: 'agent', source: data.source, keysAdded, hostname, userDataRan: ud.ran, ...(ud.timedOut ? { userDataTimedOut: true } : {}) };
}

async function setHostname(root: string, name: string | undefined, logger: Logger): Promise<string | undefined> {
  if (!name) return undefined;
  if (!HOSTNAME.test(name)) {
    logger.warn('metadata hostname is not a valid host name; ignored');
    return undefined;
  }
  await safeWrite({ root, dirs: ['etc'], name: 'hostname', uid: 0, gid: 0, mode: 0o644 }, Buffer.from(`${name}\n`), logger);
  if (root === '/') await runQuiet('hostname', [name]);
  logger.info({ hostname: name }, 'hostname set');
  return name;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const USER_DATA_IN_GUEST = `/${STATE_DIR.join('/')}/user-data`;

function findTool(name: string): string | undefined {
  return PATH.split(':').map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * Runs a `#!` user-data script once per instance id; the marker is written first, so a crash never
 * reruns it. The script runs as root: on a live guest in /, with --root only inside `chroot ROOT`
 * (an image's script run on the host would own the host), and never longer than the timeout.
 */
async function runUserData(o: ProvisionOptions, data: InstanceData, logger: Logger): Promise<{ ran: boolean; timedOut?: boolean }> {
  const ud = data.userData;
  if (!ud || ud.subarray(0, 2).toString('latin1') !== '#!' || !data.instanceId) return { ran: false };
  if (o.root !== '/' && !o.runUserData) {
    logger.info('user-data script present; not run inside a --root tree without --run-user-data');
    return { ran: false };
  }
  const chroot = o.root === '/' ? undefined : findTool('chroot');
  if (o.root !== '/') {
    if (process.getuid?.() !== 0) throw new OperationError('E_AGENT_USERDATA_CHROOT', `running user-data inside ${o.root} needs chroot, which needs root; not running it on the host instead`, { details: { root: o.root } });
    if (!chroot) throw new OperationError('E_AGENT_USERDATA_CHROOT', `running user-data inside ${o.root} needs the chroot tool (coreutils), which is not installed`, { details: { root: o.root } });
  }
  const id = data.instanceId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128);
  const marker = { root: o.root, dirs: STATE_DIR, name: 'instance-id', uid: 0, gid: 0, create: true, mode: 0o600, dirMode: 0o700 };
  const seen = (await safeRead(marker))?.toString('utf8').trim();
  if (seen === id) {
    logger.info({ instanceId: id }, 'user-data script already ran for this instance');
    return { ran: false };
  }
  await safeWrite(marker, Buffer.from(`${id}\n`), logger);
  const script = await safeWrite({ ...marker, name: 'user-data', mode: 0o700 }, ud, logger);
  const timeoutMs = o.userDataTimeoutMs ?? 600_000;
  const env = { XENKIT_ROOT: '/', INSTANCE_ID: id };
  const r = chroot ? await runQuiet(chroot, [o.root, USER_DATA_IN_GUEST], { env, timeoutMs }) : await runQuiet(script, [], { env, timeoutMs });
  // chroot exits 125 when it cannot enter the tree itself (the script never started).
  if (chroot && r.status === 125) throw new OperationError('E_AGENT_USERDATA_CHROOT', `chroot into ${o.root} failed; the user-data script did not run`, { details: { root: o.root } });
  if (r.timedOut) logger.warn({ instanceId: id, timeoutMs }, 'user-data script killed: it ran past the timeout');
  else logger.info({ instanceId: id, status: r.status }, 'user-data script ran');
  return { ran: true, timedOut: r.timedOut };
}

/**
 * Runs a tool with no stdio; after timeoutMs its whole process group is killed (a script's own
 * children included), so a hanging script can never hold the boot.
 */
function runQuiet(cmd: string, args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', cwd: '/', detached: true, env: { PATH, ...o.env } });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, o.timeoutMs ?? 60_000);
    child.on('error', () => (clearTimeout(timer), resolve({ status: -1, timedOut })));
    child.on('close', (s) => (clearTimeout(timer), resolve({ status: s ?? -1, timedOut })));
  });
}

export const stateDir = (root: string): string => join(root, ...STATE_DIR);
