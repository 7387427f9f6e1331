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
