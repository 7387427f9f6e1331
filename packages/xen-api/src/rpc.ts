import type { Dispatcher } from 'undici';
import { redactText, type Logger } from '@xenkit/core';
import { XapiError, XapiProtocolError } from './errors.js';
import { transportError } from './http.js';
import { formatXapiDate } from './wire/datetime.js';
import { parseJsonLossless, stringifyJson } from './wire/json.js';
import { encodeXmlRpcCall } from './wire/xmlrpc-encode.js';
import { XmlRpcDecoder } from './wire/xmlrpc-decode.js';

export type TransportKind = 'auto' | 'json-rpc' | 'xml-rpc';

export interface RpcRequestOptions {
  signal?: AbortSignal;
  /** Per-call override of the response timeout, ms. */
  timeout?: number;
}

/**
 * Sends one call to one host and returns XAPI's `Value` (or throws XapiError with its
 * ErrorDescription). JSON-RPC 2.0 goes to `/jsonrpc`, XML-RPC to `/`. In `auto` mode the first reply
 * that is not `application/json` (an old host answers `/jsonrpc` from its `/` handler) switches this
 * transport to XML-RPC for good, and the call is sent again that way.
 */
export class RpcTransport {
  private mode: TransportKind;
  private nextId = 1;

  constructor(
    readonly baseUrl: URL,
    private readonly dispatcher: Dispatcher,
    mode: TransportKind,
    private readonly logger: Logger,
    private readonly userAgent = 'xenkit',
  ) {
    this.mode = mode;
  }

  get kind(): TransportKind {
    return this.mode;
  }

  async call(method: string, params: readonly unknown[], options: RpcRequestOptions = {}): Promise<unknown> {
    if (this.mode === 'xml-rpc') return this.callXml(method, params, options);
    const reply = await this.callJson(method, params, options);
    if (reply.fallback) {
      this.logger.info({ host: this.baseUrl.host }, 'host does not speak JSON-RPC; using XML-RPC');
      this.mode = 'xml-rpc';
      return this.callXml(method, params, options);
    }
    return reply.value;
  }

  private async post(path: string, body: string, contentType: string, options: RpcRequestOptions) {
    const url = new URL(path, this.baseUrl);
    try {
      return await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': contentType, accept: contentType, 'user-agent': this.userAgent },
        body,
        signal: options.signal,
        headersTimeout: options.timeout,
        bodyTimeout: options.timeout,
      });
    } catch (e) {
      throw transportError(e, `POST ${url.origin}${url.pathname}`);
    }
  }

  private async callJson(method: string, params: readonly unknown[], options: RpcRequestOptions) {
    const id = this.nextId++;
    const body = stringifyJson({ jsonrpc: '2.0', method, params, id }, formatXapiDate);
    const res = await this.post('/jsonrpc', body, 'application/json', options);
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) {
      await res.body.dump().catch(() => undefined);
      if (this.mode === 'auto' && (res.statusCode === 200 || /xml|html/.test(type))) return { fallback: true, value: undefined };
      throw new XapiProtocolError('E_XAPI_HTTP', `${this.baseUrl.host} answered JSON-RPC with HTTP ${res.statusCode} ${type}`, {
        status: res.statusCode,
        method,
      });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw transportError(e, `reading the ${method} response from ${this.baseUrl.host}`);
    }
    if (res.statusCode !== 200) {
      throw new XapiProtocolError('E_XAPI_HTTP', `${this.baseUrl.host} answered ${method} with HTTP ${res.statusCode}`, {
        status: res.statusCode,
        method,
        body: redactText(text.slice(0, 200)),
      });
    }
    const reply = parseJsonLossless(text) as { result?: unknown; error?: unknown } | null;
    if (!reply || typeof reply !== 'object') throw new XapiProtocolError('E_XAPI_JSON', `${method}: the JSON-RPC reply is not an object`);
    if (reply.error !== undefined && reply.error !== null) {
      const err = XapiError.from(reply.error, method);
      if (err) throw err;
      throw new XapiProtocolError('E_XAPI_JSON', `${method}: unrecognised JSON-RPC error shape`, { error: JSON.stringify(reply.error).slice(0, 200) });
    }
    if (!('result' in reply)) throw new XapiProtocolError('E_XAPI_JSON', `${method}: the JSON-RPC reply has neither result nor error`);
    return { fallback: false, value: reply.result };
  }

  private async callXml(method: string, params: readonly unknown[], options: RpcRequestOptions): Promise<unknown> {
    const res = await this.post('/', encodeXmlRpcCall(method, params), 'text/xml', options);
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !/xml/.test(type)) {
      const text = await res.body.text().catch(() => '');
      throw new XapiProtocolError('E_XAPI_HTTP', `${this.baseUrl.host} answered ${method} with HTTP ${res.statusCode} ${type}`, {
        status: res.statusCode,
        method,
        body: redactText(text.slice(0, 200)),
      });
    }
    const decoder = new XmlRpcDecoder();
    try {
      for await (const chunk of res.body) decoder.write(chunk as Buffer);
    } catch (e) {
      res.body.destroy();
      throw transportError(e, `reading the ${method} response from ${this.baseUrl.host}`);
    }
    const message = decoder.end();
    return unwrapXmlRpc(message.kind, message.params, method);
  }
}

/** XAPI's `{Status, Value | ErrorDescription}` envelope; anything else (system.listMethods) as is. */
export function unwrapXmlRpc(kind: string, params: unknown[], method: string): unknown {
  if (kind === 'fault') {
    const f = (params[0] ?? {}) as { faultCode?: unknown; faultString?: unknown };
    throw new XapiProtocolError('E_XAPI_RESPONSE', `${method}: XML-RPC fault ${String(f.faultCode)}: ${String(f.faultString)}`);
  }
  if (params.length !== 1) throw new XapiProtocolError('E_XAPI_RESPONSE', `${method}: expected one response param, got ${params.length}`);
  const top = params[0] as { Status?: unknown; Value?: unknown; ErrorDescription?: unknown } | null;
  if (!top || typeof top !== 'object' || Array.isArray(top) || typeof top.Status !== 'string') return top;
  if (top.Status === 'Success') return top.Value;
  if (top.Status === 'Failure') {
    const err = XapiError.from(top.ErrorDescription, method);
    if (err) throw err;
  }
  throw new XapiProtocolError('E_XAPI_RESPONSE', `${method}: unrecognised XML-RPC envelope (Status ${String(top.Status)})`);
}
