#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError, exitStatusFor, isXenkitError, type Logger } from '@xenkit/core';
import { XenstoreClient, findEndpoint } from '@xenkit/xenstore';
import { AGENT_VERSION, NovaProtocol } from './commands.js';
import { installAgent } from './install.js';
import { makeAgentLogger } from './logging.js';
import { provision } from './provision.js';
import { NovaRequestLoop, readNetworking } from './xenstore-loop.js';

const USAGE = `usage: xenkit-agent [run|provision|install|version] [options]
  run                 serve nova's requests over xenstore and provision keys (default)
  provision           only the boot-time provisioning (keys, hostname, user-data), then exit
  install             install and enable the agent in an image tree (needs --root)
options:
  --root DIR          act on the tree at DIR instead of / (default /)
  --xenstore PATH     xenbus device or xenstored socket (default: XENSTORED_PATH, /dev/xen/xenbus, ...)
  --no-xenstore       do not serve nova's xenstore protocol
  --metadata-url URL  metadata service (default http://169.254.169.254); --no-metadata to disable
  --config-drive P    config drive directory, image or device (default /dev/disk/by-label/config-2)
  --attempts N        metadata attempts (default 30)     --interval-ms N   between attempts (default 5000)
  --user NAME         user to receive keys (repeatable; default root)
  --cloud-init-wait-ms N   wait for a running cloud-init (default 600000)
  --run-user-data     run a #! user-data script even with --root (then inside \`chroot DIR\`; never on the host)
  --user-data-timeout-ms N  kill the user-data script (and its children) after N ms (default 600000)
user-data: a #! script from the instance's user-data runs ONCE per instance id AS ROOT with full
  privileges (on a live guest in /; with --root only inside chroot DIR, and only with --run-user-data).
  --bundle FILE       (install) the agent bundle to install (default: this file when bundled)
  --log-level LEVEL   trace|debug|info|warn|error (default info)`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string', default: '/' },
      xenstore: { type: 'string' },
      'no-xenstore': { type: 'boolean', default: false },
      'metadata-url': { type: 'string' },
      'no-metadata': { type: 'boolean', default: false },
      'config-drive': { type: 'string' },
      attempts: { type: 'string' },
      'interval-ms': { type: 'string' },
      user: { type: 'string', multiple: true },
      'cloud-init-wait-ms': { type: 'string' },
      'run-user-data': { type: 'boolean', default: false },
      'user-data-timeout-ms': { type: 'string' },
      bundle: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0] ?? 'run';
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = makeAgentLogger(values['log-level']);
  const root = realpathSync(values.root);
  const int = (v: string | undefined, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError('E_AGENT_USAGE', `--${name} must be a non-negative integer`);
    return n;
  };
  switch (command) {
    case 'version':
      process.stdout.write(`${AGENT_VERSION}\n`);
      return 0;
    case 'install': {
      if (values.root === '/') throw new UsageError('E_AGENT_USAGE', 'install needs --root DIR (the image tree to install into)');
      const self = fileURLToPath(import.meta.url);
      const r = await installAgent(root, values.bundle ?? self, { logger });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    case 'run':
    case 'provision': {
      const options = {
        root,
        logger,
        metadataUrl: values['no-metadata'] ? null : values['metadata-url'],
        configDrive: values['config-drive'],
        retry: { attempts: Math.max(1, int(values.attempts, 'attempts', 30)), intervalMs: int(values['interval-ms'], 'interval-ms', 5000) },
        users: values.user,
        cloudInitWaitMs: int(values['cloud-init-wait-ms'], 'cloud-init-wait-ms', 600_000),
        runUserData: values['run-user-data'],
        userDataTimeoutMs: Math.max(1, int(values['user-data-timeout-ms'], 'user-data-timeout-ms', 600_000)),
      };
      const loop = command === 'run' && !values['no-xenstore'] ? await startNova(root, values.xenstore, logger) : undefined;
      try {
        const r = await provision(options);
        logger.info({ decision: r.decision, source: r.source, keysAdded: r.keysAdded, hostname: r.hostname, userDataRan: r.userDataRan }, 'provisioning done');
      } catch (e) {
        logger.error({ code: isXenkitError(e) ? e.code : undefined, err: (e as Error).message }, 'provisioning failed');
        if (!loop) return exitStatusFor(e);
      }
      if (!loop) return 0;
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          loop.stop();
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      return 0;
    }
    default:
      throw new UsageError('E_AGENT_USAGE', `unknown command ${command}\n${USAGE}`);
  }
}

async function startNova(root: string, path: string | undefined, logger: Logger): Promise<{ stop(): void } | undefined> {
  let client: XenstoreClient;
  try {
    findEndpoint(path);
    client = await XenstoreClient.open({ path, logger });
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'no xenstore: the nova agent protocol is not served');
    return undefined;
  }
  const protocol = new NovaProtocol({ root, logger, readNetworking: () => readNetworking(client) });
  const loop = new NovaRequestLoop(client, protocol, { logger });
  let stopping = false;
  // A lost xenstore connection cannot be resumed (watches and transactions die with it): exit and
  // let systemd's Restart=on-failure reconnect.
  client.onClose((e) => {
    if (stopping) return;
    logger.error({ err: e.message }, 'xenstore connection lost; exiting so the service restarts');
    process.exit(1);
  });
  await loop.start();
  logger.info({ xenstore: client.endpoint }, 'serving nova agent requests');
  return {
    stop: () => {
      stopping = true;
      loop.stop();
      client.close();
    },
  };
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`xenkit-agent: ${(e as Error).message}\n`);
      process.exit(exitStatusFor(e));
    },
  );
}
