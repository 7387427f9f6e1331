import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { OperationError, UsageError, isXenkitError, silentLogger, type Logger } from '@xenkit/core';
import { safeSymlink, safeWrite, type SafeTarget } from './safe-write.js';

export const UNIT_NAME = 'xenkit-agent.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
export const WANTS_LINK = `/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`;
export const BUNDLE_PATH = '/usr/local/lib/xenkit-agent/xenkit-agent.mjs';
export const LAUNCHER_PATH = '/usr/local/bin/xenkit-agent';

/**
 * The unit starts early, before cloud-init's main stages, so nova's `version` probe is answered
 * while cloud-init runs; the agent itself waits for cloud-init's result.json before it decides
 * about keys, so there is no ordering after cloud-final (that would delay nova's calls by minutes).
 */
export function unitText(): string {
  return `[Unit]
Description=xenkit guest agent (nova XenAPI agent over xenstore, SSH key injection)
Documentation=https://github.com/xenkit/xenkit
After=local-fs.target systemd-udevd.service cloud-init-local.service
Before=cloud-init.service cloud-final.service
Wants=network-online.target
ConditionVirtualization=xen

[Service]
Type=simple
ExecStart=${LAUNCHER_PATH} run
Restart=on-failure
RestartSec=5
TimeoutStartSec=360
Nice=5
MemoryMax=128M

[Install]
WantedBy=multi-user.target
`;
}

function launcherText(node: string): string {
  return `#!/bin/sh
# xenkit-agent launcher: the agent is one bundled ES module run by the system's node.
for n in ${node} /usr/bin/node /usr/local/bin/node /usr/bin/nodejs; do
  [ -x "$n" ] && exec "$n" ${BUNDLE_PATH} "$@"
done
echo "xenkit-agent: node (>= 20) is not installed" >&2
exit 127
`;
}

/**
 * The image tree is untrusted: `usr/local -> /usr/local` or `etc/systemd -> /etc/systemd` in it
 * would turn a write into ROOT into a write onto the host. Every component is walked by the safe
 * writer (lstat each, refuse links, O_NOFOLLOW, temp file + rename), which creates what is missing.
 */
function target(root: string, path: string, mode: number): SafeTarget {
  const parts = path.split('/').filter((p) => p.length > 0);
  return { root, dirs: parts.slice(0, -1), name: parts.at(-1) as string, uid: 0, gid: 0, create: true, mode, dirMode: 0o755 };
}

async function place(root: string, path: string, data: Buffer, mode: number, logger: Logger): Promise<void> {
  try {
    await safeWrite(target(root, path, mode), data, logger);
  } catch (e) {
    throw installError(root, path, e);
  }
}

function installError(root: string, path: string, e: unknown): OperationError {
  const code = isXenkitError(e) && e.code === 'E_AGENT_UNSAFE_PATH' ? 'E_AGENT_INSTALL_SYMLINK' : 'E_AGENT_INSTALL_IO';
  return new OperationError(code, `cannot install ${path} into ${root}: ${(e as Error).message}`, { details: { root, path } });
}

export interface InstallResult {
  root: string;
  files: string[];
  enabled: string;
}

/** Installs and enables the agent in an image tree (the contract the image checker's key-injection check reads). */
export async function installAgent(root: string, bundle: string, options: { node?: string; logger?: Logger } = {}): Promise<InstallResult> {
  const logger = options.logger ?? silentLogger;
  if (!existsSync(root) || !lstatSync(root).isDirectory()) throw new UsageError('E_AGENT_INSTALL_ROOT', `--root ${root} is not a directory`);
  if (!existsSync(bundle)) throw new UsageError('E_AGENT_INSTALL_BUNDLE', `agent bundle ${bundle} not found; build it with \`npm run bundle -w @xenkit/guest-agent\` or pass --bundle`);
  const head = readFileSync(bundle).subarray(0, 4096).toString('utf8');
  if (!head.includes('xenkit-agent')) throw new UsageError('E_AGENT_INSTALL_BUNDLE', `${bundle} does not look like the xenkit-agent bundle`);
  await place(root, BUNDLE_PATH, readFileSync(bundle), 0o644, logger);
  await place(root, LAUNCHER_PATH, Buffer.from(launcherText(options.node ?? '/usr/bin/node')), 0o755, logger);
  await place(root, UNIT_PATH, Buffer.from(unitText()), 0o644, logger);
  await safeSymlink(target(root, WANTS_LINK, 0o777), UNIT_PATH).catch((e: unknown) => {
    throw installError(root, WANTS_LINK, e);
  });
  logger.info({ root, unit: UNIT_PATH, enabled: WANTS_LINK }, 'xenkit-agent installed and enabled');
  return { root, files: [BUNDLE_PATH, LAUNCHER_PATH, UNIT_PATH], enabled: `${WANTS_LINK} -> ${UNIT_PATH}` };
}
