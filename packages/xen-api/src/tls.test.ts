// TLS options and the scheme they go with, pinning, and where transfers may be redirected.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from './index.js';
import { http1 } from './http1.js';
import { MiniDb, seedPool, startMiniXapi, type MiniOptions, type MiniXapi } from './test-helpers/mini-xapi.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function mini(opts: MiniOptions = {}, shared?: MiniDb): Promise<MiniXapi & { refs: Record<string, string> }> {
  const db = shared ?? new MiniDb();
  const refs = shared ? {} : seedPool(db);
  const m = await startMiniXapi(opts, db);
  cleanup.push(() => m.close());
  return Object.assign(m, { refs });
}

/** A plain HTTP listener that records every request it gets (to prove none arrived). */
async function recorder(): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, requests, server };
}

describe('TLS options with an http: URL', () => {
  it('connect() refuses them with a usage error before sending anything', async () => {
    const m = await mini();
    for (const tls of [{ fingerprint: 'AB'.repeat(32) }, { insecure: true }, { ca: 'pem' }]) {
      await expect(connect({ url: m.url, password: 'secret', tls })).rejects.toMatchObject({ code: 'E_XAPI_CONFIG', category: 'usage' });
    }
    expect(m.calls).toHaveLength(0);
  });

  it('an HTTP handler request refuses them instead of crashing on a plain socket', async () => {
    const r = await recorder();
    const url = new URL(`${r.url}/import_raw_vdi?session_id=OpaqueRef:secret`);
    await expect(http1(url, { method: 'GET', headers: {}, tls: { fingerprint: 'AB'.repeat(32) } })).rejects.toMatchObject({
      code: 'E_XAPI_CONFIG',
    });
    expect(r.requests).toHaveLength(0);
  });
});
