import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { XapiConfigError, XapiProtocolError } from './errors.js';

export interface TlsOptions {
  /**
   * SHA-256 fingerprint(s) of the host certificates to trust (`AB:CD:…` or plain hex, as `openssl
   * x509 -fingerprint -sha256` prints it). XenServer hosts ship self-signed certificates, one per
   * host: pin the host you connect to (the others are then learnt from the master over the pinned
   * connection, `host.get_server_certificate`), or list every member's. With a fingerprint, the CA
   * chain is not consulted.
   */
  fingerprint?: string | readonly string[];
  /** Accept any certificate. Only when explicitly asked for; never the default. */
  insecure?: boolean;
  /** Extra CA certificate(s) (PEM) to verify the host against. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface HttpTimeouts {
  /** TCP + TLS connect, ms (default 10 s). */
  connect?: number;
  /** Waiting for a call's response headers and between body chunks, ms (default 5 min). */
  call?: number;
}

/** True when any TLS option is set: they only mean something for https:. */
export function hasTlsOptions(tls: TlsOptions | undefined): boolean {
  return !!tls && (tls.fingerprint !== undefined || tls.insecure === true || tls.ca !== undefined);
}

/**
 * Refuse TLS options on an http: URL: the pin would be silently ignored and the password sent in
 * the clear, which is exactly what the pin was given to prevent.
 */
export function assertTlsMatchesScheme(url: URL, tls: TlsOptions | undefined): void {
  if (url.protocol !== 'https:' && hasTlsOptions(tls)) {
    throw new XapiConfigError(`TLS options (fingerprint, insecure, ca) were given with ${url.protocol}//${url.host}: use https:// or drop them`, {
      url: url.origin,
    });
  }
}

export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/^sha256[:=]?/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new XapiConfigError('tls.fingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  }
  return hex;
}

/**
 * The certificates a pinned client trusts: the fingerprints it was given (good for any host) and, per
 * host address, the ones learnt from the pool master. A host with a learnt pin must present exactly
 * that certificate.
 */
export class Pins {
  private readonly given: ReadonlySet<string>;
  private readonly byHost = new Map<string, string>();

  constructor(tls: TlsOptions = {}) {
    const list = tls.fingerprint === undefined ? [] : typeof tls.fingerprint === 'string' ? [tls.fingerprint] : [...tls.fingerprint];
    if (tls.fingerprint !== undefined && list.length === 0) throw new XapiConfigError('tls.fingerprint is an empty list');
    this.given = new Set(list.map(normalizeFingerprint));
  }

  /** Whether pinning is on (and so the CA chain is not consulted). */
  get active(): boolean {
    return this.given.size > 0;
  }

  /** Trust `pem` (the certificate XAPI reports for that host) for connections to `host`. */
  learn(host: string, pem: string): string {
    const fp = normalizeFingerprint(new X509Certificate(pem).fingerprint256);
    this.byHost.set(bareHost(host), fp);
    return fp;
  }

  accepts(host: string, got: string | undefined): boolean {
    if (!got) return false;
    const learnt = this.byHost.get(bareHost(host));
    return learnt !== undefined ? learnt === got : this.given.has(got);
  }

  /** The pin failure for `socket` on `host`, or undefined when its certificate is trusted. */
  check(host: string, socket: TLSSocket): XapiProtocolError | undefined {
    const got = socket.getPeerCertificate?.()?.fingerprint256?.replace(/:/g, '').toUpperCase();
    if (this.accepts(host, got)) return undefined;
    return new XapiProtocolError('E_XAPI_TLS', `certificate of ${host} does not match a pinned SHA-256 fingerprint`, {
      host,
      expected: this.byHost.get(bareHost(host)) ?? [...this.given].join(','),
      got,
    });
  }
}

const bareHost = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * One undici Agent per client: keep-alive connections to every pool member it talks to, with TLS
 * verification on by default, fingerprint pinning checked on each new connection before any request
 * (so no credential is sent to an impostor), or verification off only when `insecure` says so.
 */
export function createDispatcher(tls: TlsOptions = {}, timeouts: HttpTimeouts = {}, pins = new Pins(tls)): Dispatcher {
  const pinned = pins.active;
  const connector = buildConnector({
    rejectUnauthorized: !(pinned || tls.insecure),
    ca: tls.ca,
    timeout: timeouts.connect ?? 10_000,
    // A resumed TLS session carries no peer certificate to compare with the pin: every connection
    // to a pinned host does a full handshake.
    ...(pinned ? { maxCachedSessions: 0 } : {}),
  });
  const connect: buildConnector.connector = (options, callback) => {
    connector(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('connect failed'), null);
      if (pinned && options.protocol === 'https:') {
        const e = pins.check(options.hostname, socket as TLSSocket);
        if (e) {
          socket.destroy();
          return callback(e, null);
        }
      }
      callback(null, socket);
    });
  };
  const callTimeout = timeouts.call ?? 300_000;
  return new Agent({ connect, headersTimeout: callTimeout, bodyTimeout: callTimeout, keepAliveTimeout: 30_000 });
}

/** Turn undici/Node failures into coded errors that say which host and what happened. */
export function transportError(error: unknown, what: string): Error {
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  if (e && typeof e === 'object' && (e as { category?: string }).category) return error as Error;
  const code = e?.code ?? e?.cause?.code ?? '';
  const message = e?.message ?? String(error);
  if (e?.name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') {
    return new XapiProtocolError('E_XAPI_ABORTED', `${what}: aborted`, {}, error);
  }
  if (/TIMEOUT/.test(code)) return new XapiProtocolError('E_XAPI_TIMEOUT', `${what}: timed out (${code})`, { errno: code }, error);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
    return new XapiProtocolError(
      'E_XAPI_TLS',
      `${what}: TLS verification failed (${code}); pin the host's certificate with its SHA-256 fingerprint or pass its CA`,
      { errno: code },
      error,
    );
  }
  return new XapiProtocolError('E_XAPI_TRANSPORT', `${what}: ${message}${code ? ` (${code})` : ''}`, { errno: code }, error);
}
