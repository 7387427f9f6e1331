// startLab: the pool's shared state, one HTTP(S) listener per host, optional TLS and persistence.
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InputError, OperationError, silentLogger, type Logger } from '@xenkit/core';
import type { Lab } from './api/context.js';
import { Store } from './api/store.js';
import { cancelAllTimers } from './api/tasks.js';
import { makeRequestHandler } from './http/server.js';
import { loadState, saveState } from './persist.js';
import { seedLab } from './seed.js';

const run = promisify(execFile);

export interface LabStartOptions {
  /** Port of the first host; 0 (default) picks a free one. */
  port?: number;
  /** Address of the first host (default 127.0.0.1). On IPv4 loopback, host N listens on the next address. */
  bind?: string;
  /** Pool members (default 1); only the first is master. */
  hosts?: number;
  /** Persist the database and VDI files here; default is a temporary directory removed on close. */
  stateDir?: string;
  /**
   * Serve HTTPS, each host with its own self-signed certificate made by `openssl` at start, written to
   * the state directory: lab-cert.pem for the master, lab-host-N-cert.pem for member N.
   */
  tls?: boolean;
  /** Seeded VMs (default 3). */
  vms?: number;
  user?: string;
  /**
   * Default: 'xenkit' on loopback; a random one when bound to any other address, since a lab
   * reachable from elsewhere must not take a password anyone can guess. Read it from RunningLab.
   */
  password?: string;
  /** Close the lab when this signal aborts (a CLI wires SIGINT/SIGTERM to it). */
  stopSignal?: AbortSignal;
  /** Delay before SESSION_AUTHENTICATION_FAILED (xapi: 5000 ms). */
  authFailureDelayMs?: number;
  /** How long Async tasks stay pending before running (default 0). */
  taskDelayMs?: number;
  /** event.from batching delay after a wake-up (xapi: 50 ms). */
  eventBatchDelayMs?: number;
  /** Sessions kept per originator (or per user without one) before the oldest is destroyed (xapi: 500). */
  maxSessionsPerOriginator?: number;
  /** Finished tasks are destroyed this long after finishing (xapi: 65 min). */
  finishedTaskTtlMs?: number;
  logger?: Logger;
}

export interface RunningLab {
  /** The master's URL. */
  url: string;
  /** Every host's URL, master first. */
  urls: string[];
  user: string;
  password: string;
  /** SHA-256 fingerprint of the master's TLS certificate (colon-separated hex), with `tls`. */
  fingerprint?: string;
  /** Every host's certificate fingerprint, in the order of `urls` (each host has its own), with `tls`. */
  fingerprints?: string[];
  /** Directory holding db.json (with stateDir) and the VDI files. */
  stateDir: string;
  /** Stop serving, save the state (with stateDir) or remove the temporary directory. Idempotent. */
  close(): Promise<void>;
  /** Settles once the lab has closed, whoever closed it (close() or stopSignal); rejects if saving failed. */
  closed: Promise<void>;
}

const isLoopback = (bind: string) => /^127\./.test(bind) || bind === '::1' || bind === 'localhost';

/** The password a lab on `bind` uses when the caller gives none. */
export function defaultLabPassword(bind: string): string {
  return isLoopback(bind) ? 'xenkit' : randomBytes(12).toString('base64url');
}

function nextAddress(bind: string, i: number): { address: string; samePort: boolean } {
  const m = /^127\.(\d+)\.(\d+)\.(\d+)$/.exec(bind);
  if (m && i > 0 && Number(m[3]) + i < 255) return { address: `127.${m[1]}.${m[2]}.${Number(m[3]) + i}`, samePort: true };
  return { address: bind, samePort: i === 0 };
}

interface HostCertificate {
  key: Buffer;
  cert: Buffer;
  fingerprint: string;
}

/** The certificate a previous run left in a kept state directory, if it still fits this host's address. */
function reuseCertificate(key: string, cert: string, address: string): HostCertificate | undefined {
  try {
    const pem = readFileSync(cert);
    const keyPem = readFileSync(key);
    const x = new X509Certificate(pem);
    const fits = isIP(address) ? x.checkIP(address) : x.checkHost(address);
    const live = Date.parse(x.validTo) > Date.now() + 86_400_000;
    if (fits && live && x.checkPrivateKey(createPrivateKey(keyPem))) return { key: keyPem, cert: pem, fingerprint: x.fingerprint256 };
  } catch {
    // Missing or unreadable: make a new one.
  }
  return undefined;
}

/**
 * One self-signed certificate per host, as each XenServer host has its own (CN and SAN = its address).
 * With `keep`, a restart on the same state directory serves the same certificate, as a XenServer host
 * keeps its certificate across toolstack restarts, so clients that pinned its fingerprint still connect.
 */
async function makeCertificate(dir: string, name: string, address: string, keep: boolean): Promise<HostCertificate> {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  const kept = keep ? reuseCertificate(key, cert, address) : undefined;
  if (kept) return kept;
  const san = isIP(address) ? `IP:${address}` : `DNS:${address}`;
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${address}`, '-addext', `subjectAltName=${san}`]);
  } catch (e) {
    throw new OperationError('E_LAB_TLS', `could not make a TLS certificate with openssl: ${(e as Error).message}`);
  }
  const pem = readFileSync(cert);
  return { key: readFileSync(key), cert: pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export async function startLab(options: LabStartOptions = {}): Promise<RunningLab> {
  const bind = options.bind ?? '127.0.0.1';
  const hostCount = Math.max(1, Math.min(16, options.hosts ?? 1));
  const temporary = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'xenkit-lab-'));
  const vdiDir = join(stateDir, 'vdis');
  try {
    mkdirSync(vdiDir, { recursive: true });
  } catch (e) {
    throw new InputError('E_LAB_STATE_DIR', `cannot use ${stateDir} as the lab state directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a writable directory`, { details: { stateDir } });
  }
  const store = new Store();
  const lab: Lab = {
    store,
    logger: options.logger ?? silentLogger,
    vdiDir,
    masterRef: '',
    poolRef: '',
    hostAddress: new Map(),
    hostCertificate: new Map(),
    options: {
      user: options.user ?? 'root',
      password: options.password ?? defaultLabPassword(bind),
      authFailureDelayMs: options.authFailureDelayMs ?? 5000,
      taskDelayMs: options.taskDelayMs ?? 0,
      eventBatchDelayMs: options.eventBatchDelayMs ?? 50,
      maxSessionsPerOriginator: options.maxSessionsPerOriginator ?? 500,
      finishedTaskTtlMs: options.finishedTaskTtlMs ?? 65 * 60_000,
    },
  };
  const addresses = Array.from({ length: hostCount }, (_, i) => nextAddress(bind, i).address);
  const saved = temporary ? null : loadState(stateDir, store);
  if (saved) {
    lab.masterRef = saved.masterRef;
    lab.poolRef = saved.poolRef;
  } else {
    seedLab(lab, { hosts: addresses.map((address, i) => ({ address, hostname: `lab-host-${i + 1}` })), vms: options.vms ?? 3 });
  }
  const hostRefs = [...store.table('host').keys()];
  const tls = options.tls
    ? // The master's files keep the name they had when the lab had one certificate (lab-cert.pem), for CA pinning.
      await Promise.all(hostRefs.map((_, i) => makeCertificate(stateDir, i === 0 ? 'lab' : `lab-host-${i + 1}`, nextAddress(bind, i).address, !temporary)))
    : undefined;
  if (tls) hostRefs.forEach((ref, i) => lab.hostCertificate.set(ref, (tls[i] as HostCertificate).cert.toString('utf8')));
  const servers: Server[] = [];
  const urls: string[] = [];
  let port = options.port ?? 0;
  try {
    for (let i = 0; i < hostRefs.length; i++) {
      const hostRef = hostRefs[i] as string;
      const { address, samePort } = nextAddress(bind, i);
      const handler = makeRequestHandler(lab, hostRef);
      const cert = tls?.[i];
      const server = cert ? createHttps({ key: cert.key, cert: cert.cert }, handler) : createHttp(handler);
      server.keepAliveTimeout = 65_000;
      const bound = await listen(server, samePort ? port : 0, address);
      if (i === 0) port = bound;
      servers.push(server);
      const hostPart = address.includes(':') ? `[${address}]` : address;
      lab.hostAddress.set(hostRef, `${hostPart}:${bound}`);
      urls.push(`${tls ? 'https' : 'http'}://${hostPart}:${bound}`);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw new OperationError('E_LAB_LISTEN', `cannot listen on ${bind}:${port}: ${(e as Error).message}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const persist = () => {
    try {
      saveState(stateDir, store, { masterRef: lab.masterRef, poolRef: lab.poolRef });
    } catch (e) {
      throw new OperationError('E_LAB_STATE_WRITE', `cannot save the lab state in ${stateDir}: ${(e as Error).message}`, { details: { stateDir } });
    }
  };
  if (!temporary) {
    persist();
    store.onChange = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        try {
          persist();
        } catch (e) {
          lab.logger.error({ err: (e as Error).message }, 'lab: state not saved');
        }
      }, 200);
    };
  }
  lab.logger.info({ urls }, 'lab: listening');
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      cancelAllTimers(lab);
      if (timer) clearTimeout(timer);
      store.onChange = undefined;
      // Stop listening first: a failure to save below must not leave the process serving.
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      if (temporary) rmSync(stateDir, { recursive: true, force: true });
      else persist();
    })());
  let settle!: { ok: () => void; ko: (e: unknown) => void };
  const closed = new Promise<void>((ok, ko) => (settle = { ok, ko }));
  // Nobody may be awaiting `closed`; a save failure is still reported through close() itself.
  closed.catch(() => undefined);
  const stop = () => void close().then(settle.ok, settle.ko);
  if (options.stopSignal?.aborted) stop();
  else options.stopSignal?.addEventListener('abort', stop, { once: true });
  return {
    url: urls[0] as string,
    urls,
    user: lab.options.user,
    password: lab.options.password,
    ...(tls ? { fingerprint: (tls[0] as HostCertificate).fingerprint, fingerprints: tls.map((c) => c.fingerprint) } : {}),
    stateDir,
    close() {
      options.stopSignal?.removeEventListener('abort', stop);
      const p = close();
      p.then(settle.ok, settle.ko);
      return p;
    },
    closed,
  };
}
