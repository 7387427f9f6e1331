// `xenkit lab` as users run it: a subprocess of the real CLI, checked with real tools.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { startLabProcess, type LabProcess } from './support/cli.js';

async function rpc(url: string, method: string, params: unknown[]): Promise<{ result?: unknown; error?: { message: string; data: string[] } }> {
  const r = await fetch(`${url}/jsonrpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await r.json()) as { result?: unknown; error?: { message: string; data: string[] } };
}

const running: LabProcess[] = [];
afterAll(async () => {
  for (const lab of running) await lab.stop();
});

describe('xenkit lab (CLI subprocess)', () => {
  it('starts, answers XML-RPC and JSON-RPC, and exits 0 on SIGTERM', async () => {
    const lab = await startLabProcess(['--vms', '1']);
    const login = await rpc(lab.url, 'session.login_with_password', [lab.user, lab.password]);
    expect(login.result).toMatch(/^OpaqueRef:/);
    const xml = await fetch(`${lab.url}/`, {
      method: 'POST',
      body: `<?xml version="1.0"?><methodCall><methodName>VM.get_all</methodName><params><param><value>${login.result as string}</value></param></params></methodCall>`,
    });
    expect(xml.headers.get('content-type')).toBe('text/xml');
    expect(await xml.text()).toContain('<name>Status</name><value>Success</value>');
    expect(await lab.stop()).toBe(0);
  });

  it('--tls serves the certificate whose SHA-256 fingerprint it printed (checked with openssl)', async () => {
    requireTools('openssl');
    const lab = await startLabProcess(['--tls', '--vms', '0']);
    running.push(lab);
    const { hostname, port } = new URL(lab.url);
    const conn = await execAsync('openssl', ['s_client', '-connect', `${hostname}:${port}`, '-showcerts'], { input: '', allowFailure: true, timeoutMs: 20_000 });
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(conn.stdout)?.[0];
    expect(pem, conn.stderr).toBeDefined();
    const fp = await execAsync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: `${pem as string}\n` });
    expect(fp.stdout.trim().split('=')[1]).toBe(lab.fingerprint);
  });

  it('--tls --hosts 2: each host serves its own certificate, the one whose fingerprint it printed (checked with openssl)', async () => {
    requireTools('openssl');
    const lab = await startLabProcess(['--tls', '--hosts', '2', '--vms', '0']);
    running.push(lab);
    expect(lab.fingerprints).toHaveLength(2);
    expect(lab.fingerprints?.[0]).toBe(lab.fingerprint);
    const served: string[] = [];
    for (const url of lab.urls) {
      const { hostname, port } = new URL(url);
      const conn = await execAsync('openssl', ['s_client', '-connect', `${hostname}:${port}`, '-showcerts'], { input: '', allowFailure: true, timeoutMs: 20_000 });
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(conn.stdout)?.[0];
      expect(pem, conn.stderr).toBeDefined();
      const fp = await execAsync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-subject'], { input: `${pem as string}\n` });
      expect(fp.stdout).toMatch(new RegExp(`subject=\\s*CN\\s*=\\s*${hostname.replace(/\./g, '\\.')}\\s*$`, 'm'));
      served.push(/Fingerprint=(\S+)/.exec(fp.stdout)?.[1] as string);
    }
    expect(served).toEqual(lab.fingerprints);
    expect(new Set(served).size).toBe(2);
  });

  it('--hosts 2: the member answers HOST_IS_SLAVE with the master address', async () => {
    const lab = await startLabProcess(['--hosts', '2', '--vms', '0']);
    running.push(lab);
    expect(lab.urls).toHaveLength(2);
    const r = await rpc(lab.urls[1] as string, 'session.login_with_password', [lab.user, lab.password]);
    expect(r.error).toMatchObject({ message: 'HOST_IS_SLAVE', data: [new URL(lab.url).hostname] });
  });

  it('--state DIR keeps VMs and VDI files across restarts', async () => {
    const dir = tempDir('xenkit-e2e-state-');
    try {
      const first = await startLabProcess(['--state', dir.path, '--vms', '1']);
      const s = (await rpc(first.url, 'session.login_with_password', [first.user, first.password])).result as string;
      const [template] = (await rpc(first.url, 'VM.get_by_name_label', [s, 'Debian Bookworm 12'])).result as string[];
      const clone = (await rpc(first.url, 'VM.clone', [s, template, 'kept across restarts'])).result as string;
      const sr = ((await rpc(first.url, 'SR.get_all', [s])).result as string[])[0];
      const vdi = (await rpc(first.url, 'VDI.create', [s, { SR: sr, name_label: 'kept', virtual_size: 1048576, type: 'user' }])).result as string;
      const vdiUuid = (await rpc(first.url, 'VDI.get_uuid', [s, vdi])).result as string;
      expect(await first.stop()).toBe(0);
      expect(existsSync(join(dir.path, 'db.json'))).toBe(true);
      expect(readdirSync(join(dir.path, 'vdis'))).toContain(`${vdiUuid}.raw`);

      const second = await startLabProcess(['--state', dir.path]);
      const s2 = (await rpc(second.url, 'session.login_with_password', [second.user, second.password])).result as string;
      expect((await rpc(second.url, 'VM.get_name_label', [s2, clone])).result).toBe('kept across restarts');
      expect((await rpc(second.url, 'VDI.get_by_uuid', [s2, vdiUuid])).result).toBe(vdi);
      expect((await rpc(second.url, 'VDI.get_virtual_size', [s2, vdi])).result).toBe(1048576);
      expect(await second.stop()).toBe(0);
    } finally {
      dir.cleanup();
    }
  });
});
