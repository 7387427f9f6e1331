import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '@xenkit/core';
import type { TransportKind, Xapi } from '@xenkit/xen-api';
import type { CliContext } from '../../context.js';
import { bytes as formatBytes, table as formatTable } from '../../format.js';

export interface ConnectionFlags {
  url?: string;
  user?: string;
  passwordFile?: string;
  fingerprint?: string[];
  insecure?: boolean;
  transport?: TransportKind;
}

/** The flags every `xenkit xapi` command takes, as `xe`'s -s -u -pwf. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'XAPI host (https://host), default $XENKIT_URL, else the embedded lab host')
    .option('--user <name>', 'user name, default $XENKIT_USER or root')
    .option('--password-file <file>', 'read the password from this file (else $XENKIT_PASSWORD)')
    .option(
      '--fingerprint <sha256>',
      "pin a host certificate's SHA-256 fingerprint (self-signed hosts); repeat for pool members, whose certificates are otherwise learnt from the master",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--insecure', 'accept any TLS certificate (not recommended)', false)
    .option('--transport <kind>', 'auto | json-rpc | xml-rpc', 'auto');
}

/** The XenAPI client library, loaded by the command that runs rather than on every start. */
export type XenApi = typeof import('@xenkit/xen-api');
export const loadXenApi = (): Promise<XenApi> => import('@xenkit/xen-api');

/**
 * Where the embedded lab keeps its pool between commands when no XAPI host is named:
 * $XENKIT_LAB_STATE, else $XDG_STATE_HOME/xenkit/lab (~/.local/state/xenkit/lab).
 */
export function embeddedLabState(env: NodeJS.ProcessEnv): string {
  if (env.XENKIT_LAB_STATE) return env.XENKIT_LAB_STATE;
  return join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'xenkit', 'lab');
}

interface Target {
  url: string;
  user: string;
  password?: string;
  close(): Promise<void>;
}

/**
 * The host to talk to: --url / $XENKIT_URL, or — when neither is given — the embedded lab host, started
 * in this process on a free loopback port over a persistent state directory, so `xenkit xapi` works out
 * of the box and successive commands see the same pool. A warning says which one is in use.
 */
async function resolveTarget(ctx: CliContext, flags: ConnectionFlags): Promise<Target> {
  const url = flags.url ?? ctx.env.XENKIT_URL;
  if (url) {
    const password = flags.passwordFile === undefined ? ctx.env.XENKIT_PASSWORD : undefined;
    if (flags.passwordFile === undefined && password === undefined) {
      throw new UsageError('E_XAPI_NO_PASSWORD', 'no password: pass --password-file FILE or set XENKIT_PASSWORD');
    }
    return { url, user: flags.user ?? ctx.env.XENKIT_USER ?? 'root', password, close: async () => undefined };
  }
  const stateDir = embeddedLabState(ctx.env);
  const { startLab } = await import('@xenkit/xapi-sim');
  const lab = await startLab({ stateDir, logger: ctx.logger });
  ctx.logger.warn({ url: lab.url, stateDir }, 'no XAPI host given (--url or XENKIT_URL): using the embedded lab host');
  return { url: lab.url, user: lab.user, password: lab.password, close: () => lab.close() };
}

/** Connect from flags and environment, run `fn` (given the library too), always log out. */
export async function withXapi<T>(ctx: CliContext, flags: ConnectionFlags, fn: (xapi: Xapi, signal: AbortSignal, lib: XenApi) => Promise<T>): Promise<T> {
  if (flags.transport && !['auto', 'json-rpc', 'xml-rpc'].includes(flags.transport)) {
    throw new UsageError('E_USAGE', `--transport must be auto, json-rpc or xml-rpc, not ${flags.transport}`);
  }
  const target = await resolveTarget(ctx, flags);
  try {
    const lib = await loadXenApi();
    const xapi = await lib.connect({
      url: target.url,
      user: target.user,
      password: target.password,
      passwordFile: target.password === undefined ? flags.passwordFile : undefined,
      transport: flags.transport,
      tls: { fingerprint: flags.fingerprint, insecure: Boolean(flags.insecure) },
      originator: 'xenkit-cli',
      logger: ctx.logger,
    });
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      return await fn(xapi, ac.signal, lib);
    } finally {
      process.removeListener('SIGINT', onSigint);
      await xapi.close();
    }
  } finally {
    await target.close();
  }
}

/** Plain text table of records: a header row and aligned columns, flush left. */
export function table(rows: Array<Record<string, unknown>>, columns: Array<[key: string, title: string]>): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map(([k]) => String(r[k] ?? '')));
  return formatTable([columns.map(([, t]) => t), ...cells], '').join('\n');
}

/** A size for people; values that are not numbers are shown as they are. */
export function bytes(n: unknown): string {
  const v = Number(n);
  return Number.isFinite(v) ? formatBytes(v) : String(n);
}
