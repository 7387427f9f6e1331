import { Command, Option } from 'commander';
import { UsageError } from '@xenkit/core';
import { emit, type CliContext } from '../context.js';
import type { CommandModule } from '../program.js';

interface LabOptions {
  port: string;
  bind: string;
  hosts: string;
  state?: string;
  tls: boolean;
  vms: string;
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError('E_USAGE', `--${name} must be an integer from ${min} to ${max}, got "${text}"`, { details: { option: name } });
  }
  return n;
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM, so the lab closes cleanly (state saved, files removed). */
function stopOnSignals(onStop: (signal: string) => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const dispose = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  const stop = (signal: string) => {
    dispose();
    onStop(signal);
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { signal: ac.signal, dispose };
}

export const labCommand: CommandModule = (ctx: CliContext) =>
  new Command('lab')
    .description('start the embedded XenServer lab host (XML-RPC, JSON-RPC, tasks, events, VDI import/export) and serve until stopped')
    .addOption(new Option('--port <n>', 'TCP port of the first host (0 picks a free one)').default('0'))
    .addOption(new Option('--bind <address>', 'address to listen on; more hosts take the next loopback addresses').default('127.0.0.1'))
    .addOption(new Option('--hosts <n>', 'pool members; the first is master, the others answer HOST_IS_SLAVE').default('1'))
    .option('--state <dir>', 'keep the database and VDI files in DIR across runs')
    .option('--tls', 'serve HTTPS with a self-signed certificate (its SHA-256 fingerprint is printed)', false)
    .addOption(new Option('--vms <n>', 'seeded VMs').default('3'))
    .action(async (opts: LabOptions) => {
      const port = integer('port', opts.port, 0, 65535);
      const hosts = integer('hosts', opts.hosts, 1, 16);
      const vms = integer('vms', opts.vms, 0, 100_000);
      // Without XENKIT_LAB_PASSWORD, startLab picks 'xenkit' on loopback and a random password elsewhere.
      const password = ctx.env.XENKIT_LAB_PASSWORD;
      const { startLab } = await import('@xenkit/xapi-sim');
      const stop = stopOnSignals((signal) => ctx.logger.info({ signal }, 'lab: stopping'));
      const lab = await startLab({
        port,
        bind: opts.bind,
        hosts,
        vms,
        tls: opts.tls,
        ...(password === undefined ? {} : { password }),
        stopSignal: stop.signal,
        logger: ctx.logger,
        ...(opts.state === undefined ? {} : { stateDir: opts.state }),
      }).catch((e: unknown) => {
        stop.dispose();
        throw e;
      });
      const data = {
        url: lab.url,
        urls: lab.urls,
        user: lab.user,
        password: lab.password,
        ...(lab.fingerprint ? { fingerprint: lab.fingerprint } : {}),
        // Each host has its own certificate, as on XenServer; pin the one of the host you connect to.
        ...(lab.fingerprints ? { fingerprints: lab.fingerprints } : {}),
        state: opts.state ?? null,
      };
      emit(ctx, data, (d, style) =>
        [
          `${style.bold('xenkit lab')} — XenServer lab host, ${hosts} host(s), ${vms} seeded VM(s)`,
          `  url          ${d.url}`,
          ...d.urls.slice(1).map((u, i) => `  member ${i + 2}     ${u}`),
          `  user         ${d.user}`,
          `  password     ${d.password}`,
          ...(d.fingerprint ? [`  fingerprint  ${d.fingerprint} (SHA-256)`] : []),
          ...(d.fingerprints ?? []).slice(1).map((f, i) => `  member ${i + 2} fingerprint  ${f} (SHA-256)`),
          `  state        ${d.state ?? 'temporary (removed on exit)'}`,
          '',
          `  XENKIT_URL=${d.url} XENKIT_USER=${d.user} XENKIT_PASSWORD=${d.password}`,
          style.dim('Serving until Ctrl-C (SIGINT) or SIGTERM.'),
        ].join('\n'),
      );
      await lab.closed;
    });
