// JSON-RPC as XAPI speaks it on /jsonrpc: v1 and v2 (chosen by "jsonrpc":"2.0"), positional params,
// a mandatory id, int64 as integer literals, errors as ErrorDescription arrays (v1) or {code: 1} (v2).
import { MalformedRequest } from './failure.js';
import { I32, isStruct, putKey, XDate, type Struct, type Value } from './values.js';

export interface JsonCall {
  method: string;
  params: Value[];
  id: string | number;
  v2: boolean;
}

function fromJson(v: unknown, depth: number): Value {
  if (depth > 64) throw new MalformedRequest('values nested too deeply');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => fromJson(x, depth + 1));
  const out: Struct = {};
  for (const [k, x] of Object.entries(v as object)) putKey(out, k, fromJson(x, depth + 1));
  return out;
}

export function parseJsonCall(text: string): JsonCall {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new MalformedRequest(`Jsonrpc.Malformed_method_request(${(e as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MalformedRequest('not a JSON-RPC object');
  const { method, params, id, jsonrpc } = body as Record<string, unknown>;
  if (typeof method !== 'string') throw new MalformedRequest('missing method');
  if (typeof id !== 'string' && typeof id !== 'number') throw new MalformedRequest('missing id');
  if (params !== undefined && !Array.isArray(params)) throw new MalformedRequest('params must be an array');
  return { method, params: params === undefined ? [] : (fromJson(params, 0) as Value[]), id, v2: jsonrpc === '2.0' };
}

/** Yojson prints floats with a decimal point; keep that so Python clients see floats as floats. */
function jsonNumber(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  const s = JSON.stringify(n);
  return Number.isInteger(n) && !s.includes('e') ? `${s}.0` : s;
}

export function writeJson(v: Value | undefined, out: string[]): void {
  if (v === undefined || v === null) out.push('null');
  else if (typeof v === 'string') out.push(JSON.stringify(v));
  else if (typeof v === 'bigint') out.push(v.toString());
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (typeof v === 'number') out.push(jsonNumber(v));
  else if (v instanceof XDate) out.push(JSON.stringify(v.text));
  else if (v instanceof I32) out.push(String(v.value));
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i > 0) out.push(',');
      writeJson(x, out);
    });
    out.push(']');
  } else if (isStruct(v)) {
    out.push('{');
    let first = true;
    for (const k of Object.keys(v)) {
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(k), ':');
      writeJson(v[k], out);
    }
    out.push('}');
  }
}

export function toJsonText(v: Value): string {
  const out: string[] = [];
  writeJson(v, out);
  return out.join('');
}

export function jsonSuccess(call: Pick<JsonCall, 'id' | 'v2'>, v: Value): string {
  const id = JSON.stringify(call.id);
  return call.v2 ? `{"jsonrpc":"2.0","result":${toJsonText(v)},"id":${id}}` : `{"result":${toJsonText(v)},"error":null,"id":${id}}`;
}

export function jsonFailure(call: Pick<JsonCall, 'id' | 'v2'>, description: string[]): string {
  const id = JSON.stringify(call.id);
  if (!call.v2) return `{"result":null,"error":${JSON.stringify(description)},"id":${id}}`;
  const [message, ...data] = description;
  // code is always 1: "some JsonRpc clients consider error.code 0 as no error" (xapi api_server_common.ml).
  return `{"jsonrpc":"2.0","error":{"code":1,"message":${JSON.stringify(message)},"data":${JSON.stringify(data)}},"id":${id}}`;
}
