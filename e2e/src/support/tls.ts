// How the suite trusts the target's TLS certificate. Verified by default (system roots); a private
// CA with XENKIT_E2E_CA (PEM file) or a SHA-256 certificate pin with XENKIT_E2E_FINGERPRINT. Only
// the embedded lab over plain HTTP has nothing to verify.
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { connect, rootCertificates, type PeerCertificate } from 'node:tls';

export type Trust =
  | { kind: 'system' }
  | { kind: 'ca'; caFile: string }
  | { kind: 'pin'; fingerprint: string }
  /** Plain HTTP to the embedded lab: no certificate exists. */
  | { kind: 'none' };

/** `AB:CD:…` or `abcd…` → lower-case hex without separators. */
export const normalFingerprint = (f: string) => f.replace(/[:\s]/g, '').toLowerCase();

export function trustFromEnv(env: NodeJS.ProcessEnv): Trust {
  if (env.XENKIT_E2E_CA && env.XENKIT_E2E_FINGERPRINT) throw new Error('set XENKIT_E2E_CA or XENKIT_E2E_FINGERPRINT, not both');
  if (env.XENKIT_E2E_CA) return { kind: 'ca', caFile: env.XENKIT_E2E_CA };
  if (env.XENKIT_E2E_FINGERPRINT) {
    const fingerprint = normalFingerprint(env.XENKIT_E2E_FINGERPRINT);
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error('XENKIT_E2E_FINGERPRINT must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
    return { kind: 'pin', fingerprint };
  }
  return { kind: 'system' };
}

/** The server's leaf certificate, fetched without trusting it; only ever used together with a pin check. */
function peerPem(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = connect({ host, port: Number(url.port || 443), servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    });
    socket.once('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error(`TLS handshake with ${url.host} timed out`)));
  });
}

export interface TlsConnectOptions {
  ca?: string[];
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * Options for every TLS connection to the target. A pin replaces the host-name check with a check of
 * the certificate's SHA-256 on every connection; the fetched certificate only joins the roots so a
 * self-signed host passes chain verification, and is useless to anyone without the pinned key.
 */
export async function tlsOptions(url: string, trust: Trust): Promise<TlsConnectOptions> {
  if (trust.kind === 'ca') return { ca: [readFileSync(trust.caFile, 'utf8')] };
  if (trust.kind !== 'pin') return {};
  const pem = await peerPem(new URL(url));
  return {
    ca: [...rootCertificates, pem],
    checkServerIdentity: (_host, cert) =>
      normalFingerprint(cert.fingerprint256) === trust.fingerprint ? undefined : new Error(`certificate SHA-256 ${cert.fingerprint256} does not match XENKIT_E2E_FINGERPRINT`),
  };
}

interface XenApiInternals {
  _undiciDispatcher?: object;
  _httpAgent?: unknown;
  _url?: URL;
  _setUrl?: (url: URL) => void;
}

/**
 * The npm xen-api client verifies TLS (allowUnauthorized: false) but takes no CA or pin option, so
 * with one its two connection pools are replaced by verifying ones built from the client's own undici.
 */
export function applyTrust(client: unknown, options: TlsConnectOptions): void {
  if (!options.ca) return;
  const c = client as XenApiInternals;
  const Dispatcher = c._undiciDispatcher?.constructor as (new (o: object) => object) | undefined;
  if (!Dispatcher || !c._url || typeof c._setUrl !== 'function') throw new Error('xen-api client internals changed: cannot apply XENKIT_E2E_CA/XENKIT_E2E_FINGERPRINT');
  const connect = { minVersion: 'TLSv1.2', rejectUnauthorized: true, ...options };
  c._undiciDispatcher = new Dispatcher({ bodyTimeout: 600_000, headersTimeout: 600_000, connect });
  c._httpAgent = new HttpsAgent(connect as ConstructorParameters<typeof HttpsAgent>[0]);
  // The RPC transport captured the old dispatcher when the URL was set; set it again to rebuild it.
  c._setUrl(c._url);
}

/** Environment for the Python client script: the same trust, expressed as XENKIT_PY_* variables. */
export function pythonTrustEnv(trust: Trust): Record<string, string> {
  if (trust.kind === 'ca') return { XENKIT_PY_CA: trust.caFile };
  if (trust.kind === 'pin') return { XENKIT_PY_PIN: trust.fingerprint };
  return {};
}
