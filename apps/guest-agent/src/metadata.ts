import { request } from 'node:http';
import { OperationError, silentLogger, type Logger } from '@xenkit/core';
import { normalizePublicKeys } from './instance-data.js';
import type { InstanceData } from './instance-data.js';

export const METADATA_URL = 'http://169.254.169.254';
export const EC2_VERSION = '2009-04-04';

export interface FetchOptions {
  /** Largest body accepted; a longer one (or one that never ends) is cut off. */
  maxBytes?: number;
  /** Deadline for the whole request, headers and body. */
  timeoutMs?: number;
}

export class MetadataError extends OperationError {
  constructor(
    code: string,
    message: string,
    readonly status?: number,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details: { ...details, status } });
    this.name = 'MetadataError';
  }
}

/**
 * GET one metadata URL. Redirects are never followed (the metadata address is the only host we
 * trust, and the link-local service never needs one); the body is capped and the whole exchange has
 * a deadline, so a server that streams forever or trickles bytes cannot hold the agent.
 */
export function fetchText(url: string, options: FetchOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { accept: '*/*', 'user-agent': 'xenkit-agent' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.destroy();
        return finish(new MetadataError('E_AGENT_MD_REDIRECT', `${url} answered a ${status} redirect; metadata redirects are never followed`, status, { url }));
      }
      if (status !== 200) {
        res.destroy();
        return finish(new MetadataError(status === 404 ? 'E_AGENT_MD_NOT_FOUND' : 'E_AGENT_MD_HTTP', `${url} answered HTTP ${status}`, status, { url }));
      }
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > maxBytes) {
        res.destroy();
        return finish(new MetadataError('E_AGENT_MD_TOO_LARGE', `${url} declares ${declared} bytes, over the ${maxBytes}-byte limit`, status, { url }));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBytes) {
          res.destroy();
          finish(new MetadataError('E_AGENT_MD_TOO_LARGE', `${url} sent more than ${maxBytes} bytes`, status, { url }));
          return;
        }
        chunks.push(d);
      });
      res.on('end', () => finish(undefined, Buffer.concat(chunks)));
      res.on('error', (e) => finish(new MetadataError('E_AGENT_MD_IO', `${url}: ${e.message}`, status, { url })));
    });
    let done = false;
    const timer = setTimeout(() => {
      req.destroy();
      finish(new MetadataError('E_AGENT_MD_TIMEOUT', `${url}: no complete answer within ${timeoutMs} ms`, undefined, { url }));
    }, timeoutMs);
    function finish(err?: Error, body?: Buffer): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(body as Buffer);
    }
    req.on('error', (e) => finish(new MetadataError('E_AGENT_MD_CONNECT', `${url}: ${e.message}`, undefined, { url })));
    req.end();
  });
}

export interface RetryPolicy {
  attempts: number;
  intervalMs: number;
}

/** cloud-init's seed policy for the metadata service: 30 tries, 5 s apart. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 30, intervalMs: 5000 };

async function tryFetch(url: string, options: FetchOptions): Promise<Buffer | undefined> {
  try {
    return await fetchText(url, options);
  } catch (e) {
    if (e instanceof MetadataError && e.status === 404) return undefined;
    throw e;
  }
}

/** One pass over the service: OpenStack's meta_data.json first, EC2 2009-04-04 paths otherwise. */
export async function readMetadataOnce(base: string, options: FetchOptions = {}): Promise<InstanceData> {
  const root = base.replace(/\/+$/, '');
  const os = await tryFetch(`${root}/openstack/latest/meta_data.json`, options);
  if (os) {
    let md: Record<string, unknown>;
    try {
      md = JSON.parse(os.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new MetadataError('E_AGENT_MD_BAD_JSON', `${root}/openstack/latest/meta_data.json is not JSON`);
    }
    const userData = await tryFetch(`${root}/openstack/latest/user_data`, options);
    return {
      source: `${root}/openstack`,
      instanceId: typeof md.uuid === 'string' ? md.uuid : undefined,
      hostname: typeof md.hostname === 'string' ? md.hostname : undefined,
      keys: normalizePublicKeys(md.public_keys ?? md['public-keys']),
      userData,
    };
  }
  const md = `${root}/${EC2_VERSION}/meta-data`;
  const text = async (p: string): Promise<string | undefined> => (await tryFetch(`${md}/${p}`, options))?.toString('utf8').trim();
  const instanceId = await text('instance-id');
  if (instanceId === undefined) throw new MetadataError('E_AGENT_MD_NOT_FOUND', `${root} serves neither OpenStack nor EC2 ${EC2_VERSION} metadata`, 404);
  const keys: string[] = [];
  for (const line of ((await text('public-keys/')) ?? '').split('\n').slice(0, 32)) {
    const idx = /^(\d+)=/.exec(line.trim())?.[1];
    if (idx === undefined) continue;
    const key = await text(`public-keys/${idx}/openssh-key`);
    if (key) keys.push(...normalizePublicKeys(key));
  }
  return { source: `${root}/${EC2_VERSION}`, instanceId, hostname: await text('hostname'), keys, userData: await tryFetch(`${root}/${EC2_VERSION}/user-data`, options) };
}

/** Reads the metadata service, retrying while it is unreachable or failing (not on bad answers). */
export async function readMetadata(base = METADATA_URL, retry: RetryPolicy = DEFAULT_RETRY, options: FetchOptions = {}, logger: Logger = silentLogger): Promise<InstanceData> {
  let last: unknown;
  for (let attempt = 1; attempt <= retry.attempts; attempt++) {
    try {
      return await readMetadataOnce(base, options);
    } catch (e) {
      last = e;
      const code = e instanceof MetadataError ? e.code : '';
      // A redirect, an oversize or malformed answer will not improve by asking again.
      if (['E_AGENT_MD_REDIRECT', 'E_AGENT_MD_TOO_LARGE', 'E_AGENT_MD_BAD_JSON'].includes(code)) throw e;
      logger.info({ attempt, of: retry.attempts, err: (e as Error).message }, 'metadata service not ready');
      if (attempt < retry.attempts) await new Promise((r) => setTimeout(r, retry.intervalMs));
    }
  }
  throw last instanceof Error ? last : new MetadataError('E_AGENT_MD_UNREACHABLE', `metadata service ${base} unreachable`);
}
