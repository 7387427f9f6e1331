/** Minimal raw-wire helpers for tests that must see exact bytes, not a client's interpretation. */
export async function postRaw(url: string, path: string, body: string, contentType = 'text/xml') {
  const r = await fetch(url + path, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

export function xmlCall(method: string, params: string[]): string {
  const ps = params.map((p) => `<param><value>${p}</value></param>`).join('');
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${ps}</params></methodCall>`;
}

export async function jsonCall(url: string, method: string, params: unknown[], v2 = true) {
  const body = JSON.stringify({ ...(v2 ? { jsonrpc: '2.0' } : {}), id: 7, method, params });
  const r = await postRaw(url, '/jsonrpc', body, 'application/json');
  return JSON.parse(r.text) as { result?: unknown; error?: unknown };
}

export async function login(url: string, user = 'root', password = 'xenkit'): Promise<string> {
  const r = await jsonCall(url, 'session.login_with_password', [user, password]);
  return r.result as string;
}

/** A JSON-RPC v2 caller bound to one session; failures come back as {error} rather than throwing. */
export function caller(url: string, session: string) {
  return {
    async call<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
      const r = await jsonCall(url, method, [session, ...params]);
      if (r.error) throw Object.assign(new Error(JSON.stringify(r.error)), { xapi: r.error });
      return r.result as T;
    },
    async fail(method: string, ...params: unknown[]): Promise<unknown[]> {
      const r = (await jsonCall(url, method, [session, ...params])) as { error?: { message: string; data: unknown[] } };
      if (!r.error) throw new Error(`${method} unexpectedly succeeded`);
      return [r.error.message, ...r.error.data];
    },
  };
}
