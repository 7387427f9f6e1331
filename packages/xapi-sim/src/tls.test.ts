import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { startLab, type RunningLab } from './index.js';

/** JSON-RPC v2 over HTTPS, trusting only `ca` when given (the lab's certificates are self-signed). */
function rpc(url: string, method: string, params: unknown[], ca?: string): Promise<{ result?: unknown; error?: { message: string; data: unknown[] } }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(`${url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, ...(ca ? { ca } : { rejectUnauthorized: false }) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(JSON.parse(text) as { result?: unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The DER bytes a listener presents, fetched with the certificate check on and `ca` as the only trust anchor. */
function servedCertificate(url: string, ca: string): Promise<Buffer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca }, () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(raw);
    });
    s.on('error', reject);
  });
}

describe('--tls with several hosts', () => {
  let lab: RunningLab;
  beforeAll(async () => {
    requireTools('openssl');
    lab = await startLab({ hosts: 3, tls: true, vms: 0, authFailureDelayMs: 0 });
  });
  afterAll(() => lab?.close());

  it('gives each host its own certificate and serves it; host.get_server_certificate returns that PEM', async () => {
    const session = (await rpc(lab.url, 'session.login_with_password', ['root', 'xenkit'])).result as string;
    const hosts = (await rpc(lab.url, 'host.get_all_records', [session])).result as Record<string, { address: string }>;
    expect(Object.keys(hosts)).toHaveLength(3);
    expect(lab.fingerprints).toHaveLength(3);
    expect(new Set(lab.fingerprints).size).toBe(3);
    expect(lab.fingerprint).toBe(lab.fingerprints?.[0]);
    const seen: string[] = [];
    for (const [ref, host] of Object.entries(hosts)) {
      const pem = (await rpc(lab.url, 'host.get_server_certificate', [session, ref])).result as string;
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
      const x = new X509Certificate(pem);
      expect(x.subject).toBe(`CN=${host.address}`);
      expect(x.checkIP(host.address)).toBe(host.address);
      const url = lab.urls.find((u) => new URL(u).hostname === host.address) as string;
      // Verified TLS with only this PEM trusted: the listener must present exactly it, for its own address.
      expect((await servedCertificate(url, pem)).equals(x.raw)).toBe(true);
      expect(lab.fingerprints?.[lab.urls.indexOf(url)]).toBe(x.fingerprint256);
      seen.push(x.fingerprint256);
    }
    expect(new Set(seen).size).toBe(3);
    // Another host's certificate does not open this host's listener.
    const other = (await rpc(lab.url, 'host.get_server_certificate', [session, Object.keys(hosts)[1]])).result as string;
    await expect(servedCertificate(lab.url, other)).rejects.toThrow();
  });

  it('answers HANDLE_INVALID for an unknown host, as xapi', async () => {
    const session = (await rpc(lab.url, 'session.login_with_password', ['root', 'xenkit'])).result as string;
    const r = await rpc(lab.url, 'host.get_server_certificate', [session, 'OpaqueRef:nope']);
    expect(r.error?.message).toBe('HANDLE_INVALID');
  });
});

describe('--tls with --state DIR', () => {
  it('serves the same per-host certificates after a restart, so pinned fingerprints keep working', async () => {
    requireTools('openssl');
    const dir = tempDir('xenkit-lab-tls-state-');
    try {
      const first = await startLab({ hosts: 2, tls: true, vms: 0, stateDir: dir.path, authFailureDelayMs: 0 });
      const before = first.fingerprints;
      await first.close();
      const second = await startLab({ hosts: 2, tls: true, vms: 0, stateDir: dir.path, authFailureDelayMs: 0 });
      try {
        expect(second.fingerprints).toEqual(before);
        expect(new Set(second.fingerprints).size).toBe(2);
      } finally {
        await second.close();
      }
      // A certificate for another address is not reused: it would fail hostname checks.
      const moved = await startLab({ hosts: 2, tls: true, vms: 0, stateDir: dir.path, bind: '127.0.0.5', authFailureDelayMs: 0 });
      try {
        expect(moved.fingerprints?.some((f) => before?.includes(f))).toBe(false);
        expect(new X509Certificate(readFileSync(join(dir.path, 'lab-cert.pem'))).subject).toBe('CN=127.0.0.5');
      } finally {
        await moved.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
