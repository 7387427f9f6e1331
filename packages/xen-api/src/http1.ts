import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { redactText } from '@xenkit/core';
import { XapiProtocolError } from './errors.js';
import { Pins, assertTlsMatchesScheme, transportError, type HttpTimeouts, type TlsOptions } from './http.js';

export interface Http1Options {
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  body?: Readable;
  signal?: AbortSignal;
  tls?: TlsOptions;
  /** The pins to check (with those learnt from the pool); default: made from `tls`. */
  pins?: Pins;
  timeouts?: HttpTimeouts;
}

export interface Http1Response {
  statusCode: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  /** Settles when the request body has been sent (at once for GET). */
  sent: Promise<void>;
}

/**
 * One HTTP/1.1 exchange on a connection of its own, for XAPI's transfer handlers. They answer before
 * reading the body and close the connection after (keep-alive off), which undici's pooled parser does
 * not survive reliably (an assertion when the socket ends while it is paused); node:http does. TLS is
 * checked exactly as for calls: CA verification by default, or the pinned fingerprint, before any byte
 * (the URL carries the session) is written.
 */
export async function http1(url: URL, options: Http1Options): Promise<Http1Response> {
  const what = `${options.method} ${redactText(url.origin + url.pathname)}`;
  const tls = options.tls ?? {};
  assertTlsMatchesScheme(url, tls);
  const pins = options.pins ?? new Pins(tls);
  const pinned = pins.active;
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const common = { method: options.method, host, port: url.port, path: url.pathname + url.search, headers: options.headers, agent: false as const };
  // Nothing is written until the request is ended or written to: the headers (and the session in
  // the query) go out only after the socket is connected and, for a pinned host, checked.
  const req = secure
    ? httpsRequest({ ...common, rejectUnauthorized: !(pinned || tls.insecure), ca: tls.ca, servername: isIP(host) ? undefined : host })
    : httpRequest(common);
  const onAbort = () => req.destroy(new XapiProtocolError('E_XAPI_ABORTED', `${what}: aborted`));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
  const idle = options.timeouts?.call ?? 300_000;
  const connectTimeout = options.timeouts?.connect ?? 10_000;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  response.catch(() => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), connectTimeout);
      req.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.once('socket', (socket: Socket) => {
        socket.setTimeout(idle, () => req.destroy(new XapiProtocolError('E_XAPI_TIMEOUT', `${what}: no data for ${idle} ms`)));
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          if (pinned && secure) {
            const e = pins.check(host, socket as TLSSocket);
            if (e) {
              req.destroy(e);
              return reject(e);
            }
          }
          resolve();
        });
      });
    });
  } catch (e) {
    throw transportError(e, what);
  }
  let sent: Promise<void>;
  if (options.body) {
    sent = pipeline(options.body, req);
  } else {
    req.end();
    sent = Promise.resolve();
  }
  // A failed upload shows as the response failing too; keep an unhandled copy from surfacing.
  sent.catch(() => undefined);
  try {
    const res = await response;
    return { statusCode: res.statusCode ?? 0, headers: res.headers, body: res, sent };
  } catch (e) {
    req.destroy();
    throw transportError(e, what);
  }
}
