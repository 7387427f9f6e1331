// TLS options and the scheme they go with, pinning, and where transfers may be redirected.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferSource } from '@xenkit/disk';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { connect } from './index.js';
import { http1 } from './http1.js';
import { ZERO_BLOCK } from './chunked.js';
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

/** A self-signed certificate for `ip`, made by openssl(1); returns PEMs and its SHA-256 fingerprint. */
function selfSigned(ip: string): { key: string; cert: string; fingerprint: string } {
  requireTools('openssl');
  const dir = tempDir();
  cleanup.push(dir.cleanup);
  const key = join(dir.path, 'key.pem');
  const cert = join(dir.path, 'cert.pem');
  exec('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`, '-keyout', key, '-out', cert]);
  const pem = readFileSync(cert, 'utf8');
  const fp = exec('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).stdout.trim().replace(/^.*=/, '');
  expect(fp).toBe(new X509Certificate(pem).fingerprint256);
  return { key: readFileSync(key, 'utf8'), cert: pem, fingerprint: fp };
}

/** A plain HTTP listener that records every request it gets (to prove none arrived). */
async function recorder(host = '127.0.0.1'): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const addr = server.address() as { port: number };
  return { url: `http://${host}:${addr.port}`, requests, server };
}

describe('TLS options with an http: URL', () => {
  it('connect() refuses them with a usage error before sending anything', async () => {
    const m = await mini();
    for (const tls of [{ fingerprint: 'AB'.repeat(32) }, { insecure: true }, { ca: 'pem' }]) {
      await expect(connect({ url: m.url, password: 'secret', tls })).rejects.toMatchObject({ code: 'E_XAPI_CONFIG', category: 'usage' });
    }
    expect(m.calls).toHaveLength(0);
  });

  it('other unusable connect() options are usage errors too', async () => {
    for (const options of [{ url: 'ftp://xs1', password: 'x' }, { url: 'https://root:pw@xs1', password: 'x' }, { url: 'https://xs1' }]) {
      await expect(connect(options)).rejects.toMatchObject({ code: 'E_XAPI_CONFIG', category: 'usage' });
    }
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

describe('redirects of a transfer (the URL carries the session)', () => {
  const image = Buffer.alloc(ZERO_BLOCK, 7);

  it('refuses a redirect to a host outside the pool and sends it nothing', async () => {
    const outsider = await recorder('127.0.0.9');
    const m = await mini({ redirectTransfersTo: outsider.url });
    const c = await connect({ url: m.url, password: 'secret', transport: 'json-rpc', timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    await expect(c.importVdi({ vdi: m.refs.vdi!, source: new BufferSource(image) })).rejects.toMatchObject({ code: 'E_XAPI_REDIRECT' });
    expect(outsider.requests).toHaveLength(0);
    expect(m.db.table('task').size).toBe(0);
  });

  it('refuses an https → http downgrade, even to the same host', async () => {
    const plain = await recorder('127.0.0.1');
    const cert = selfSigned('127.0.0.1');
    const m = await mini({ tls: cert, redirectTransfersTo: plain.url });
    const c = await connect({ url: m.url, password: 'secret', tls: { fingerprint: cert.fingerprint }, timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    await expect(c.importVdi({ vdi: m.refs.vdi!, source: new BufferSource(image) })).rejects.toMatchObject({ code: 'E_XAPI_REDIRECT' });
    expect(plain.requests).toHaveLength(0);
  });

  it('follows a redirect to another member of the pool, keeping the query', async () => {
    const db = new MiniDb();
    const refs = seedPool(db);
    db.add('host', { name_label: 'xs2', address: '127.0.0.3' });
    const member = await mini({ host: '127.0.0.3' }, db);
    const m = await mini({ redirectTransfersTo: member.url }, db);
    const c = await connect({ url: m.url, password: 'secret', transport: 'json-rpc', timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    member.sessions.set(await c.connection.sessionRef(), { originator: 'x' });
    await c.importVdi({ vdi: refs.vdi!, source: new BufferSource(image) });
    expect(member.imports).toHaveLength(1);
    expect(member.imports[0]!.query.get('vdi')).toBe(refs.vdi);
  });
});

describe('a pool of hosts with self-signed certificates of their own', () => {
  /** Master at .2 and member at .3 on one port, one database, each with its own openssl certificate. */
  async function pool(opts: { certsFromMaster: boolean; lie?: boolean }) {
    const db = new MiniDb();
    const refs = seedPool(db);
    for (const [ref] of db.table('host')) db.table('host').delete(ref);
    const hostA = db.add('host', { name_label: 'a', address: '127.0.0.2' });
    const hostB = db.add('host', { name_label: 'b', address: '127.0.0.3' });
    const certA = selfSigned('127.0.0.2');
    const certB = selfSigned('127.0.0.3');
    const other = opts.lie ? selfSigned('127.0.0.3') : certB;
    const member = await mini({ host: '127.0.0.3', tls: certB, slaveOf: '127.0.0.2' }, db);
    const master = await mini({ host: '127.0.0.2', port: member.port, tls: certA, redirectTransfersTo: member.url }, db);
    if (opts.certsFromMaster) {
      master.handlers.set('host.get_server_certificate', ([h]) => (h === hostA ? certA.cert : h === hostB ? other.cert : ''));
    }
    return { master, member, certA, certB, refs };
  }

  it('accepts a list of pins: HOST_IS_SLAVE from a member to the master, each with its own certificate', async () => {
    const { member, master, certA, certB } = await pool({ certsFromMaster: false });
    const c = await connect({ url: member.url, password: 'secret', tls: { fingerprint: [certB.fingerprint, certA.fingerprint] }, timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    expect(c.url).toBe(`${master.url}/`);
    expect(await c.VM.get_all()).toHaveLength(2);
    // one pin is not enough for the hop
    await expect(connect({ url: member.url, password: 'secret', tls: { fingerprint: certB.fingerprint } })).rejects.toMatchObject({ code: 'E_XAPI_TLS' });
  });

  it("pins each member's certificate as the pinned master reports it: a 302 to the member that sees the SR works", async () => {
    const { master, member, certA, refs } = await pool({ certsFromMaster: true });
    const c = await connect({ url: master.url, password: 'secret', tls: { fingerprint: certA.fingerprint }, timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    expect(master.calls.filter((x) => x.method === 'host.get_server_certificate')).toHaveLength(2);
    member.sessions.set(await c.connection.sessionRef(), { originator: 'x' });
    const image = Buffer.alloc(ZERO_BLOCK, 5);
    await c.importVdi({ vdi: refs.vdi!, source: new BufferSource(image) });
    expect(member.imports).toHaveLength(1);
  });

  it('refuses a member whose certificate is not the one the master reports', async () => {
    const { master, member, certA, refs } = await pool({ certsFromMaster: true, lie: true });
    const c = await connect({ url: master.url, password: 'secret', tls: { fingerprint: certA.fingerprint }, timeouts: { eventWait: 1 } });
    cleanup.push(() => c.close());
    member.sessions.set(await c.connection.sessionRef(), { originator: 'x' });
    await expect(c.importVdi({ vdi: refs.vdi!, source: new BufferSource(Buffer.alloc(ZERO_BLOCK, 5)) })).rejects.toMatchObject({ code: 'E_XAPI_TLS' });
    expect(member.imports).toHaveLength(0);
  });
});
