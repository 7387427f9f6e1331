import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OperationError, UsageError, silentLogger, type Logger } from '@xenkit/core';

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

/** Writes `text` at ROOT/path by temp file + rename, refusing a symlink at the destination. */
function place(root: string, path: string, write: (tmp: string) => void, mode: number): void {
  const dest = join(root, path);
  mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
  if (existsSync(dest) && lstatSync(dest).isSymbolicLink()) {
    throw new OperationError('E_AGENT_INSTALL_SYMLINK', `${dest} is a symbolic link; refusing to write through it`, { details: { path: dest } });
  }
  const tmp = `${dest}.xenkit-tmp`;
  rmSync(tmp, { force: true });
  write(tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, dest);
}

export interface InstallResult {
  root: string;
  files: string[];
  enabled: string;
}

/** Installs and enables the agent in an image tree (the contract the image checker's key-injection check reads). */
export function installAgent(root: string, bundle: string, options: { node?: string; logger?: Logger } = {}): InstallResult {
  const logger = options.logger ?? silentLogger;
  if (!existsSync(root) || !lstatSync(root).isDirectory()) throw new UsageError('E_AGENT_INSTALL_ROOT', `--root ${root} is not a directory`);
  if (!existsSync(bundle)) throw new UsageError('E_AGENT_INSTALL_BUNDLE', `agent bundle ${bundle} not found; build it with \`npm run bundle -w @xenkit/guest-agent\` or pass --bundle`);
  const head = readFileSync(bundle).subarray(0, 4096).toString('utf8');
  if (!head.includes('xenkit-agent')) throw new UsageError('E_AGENT_INSTALL_BUNDLE', `${bundle} does not look like the xenkit-agent bundle`);
  place(root, BUNDLE_PATH, (t) => copyFileSync(bundle, t), 0o644);
  place(root, LAUNCHER_PATH, (t) => writeFileSync(t, launcherText(options.node ?? '/usr/bin/node')), 0o755);
  place(root, UNIT_PATH, (t) => writeFileSync(t, unitText()), 0o644);
  const link = join(root, WANTS_LINK);
  mkdirSync(dirname(link), { recursive: true, mode: 0o755 });
  rmSync(link, { force: true });
  symlinkSync(UNIT_PATH, link);
  logger.info({ root, unit: UNIT_PATH, enabled: WANTS_LINK }, 'xenkit-agent installed and enabled');
  return { root, files: [BUNDLE_PATH, LAUNCHER_PATH, UNIT_PATH], enabled: `${WANTS_LINK} -> ${UNIT_PATH}` };
}
