// Real XenAPI clients against the target: the lab host started by the CLI, or a real XenServer
// (XENKIT_E2E_URL …). Everything created is tagged xenkit-e2e and removed afterwards.
// `xenkit xapi …` command tests slot in beside this file using support/cli.ts and support/target.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { createClient } from 'xen-api';
import { startLabProcess, type LabProcess } from './support/cli.js';
import { E2E_TAG, onRealHost, openTarget, type Target } from './support/target.js';
import { applyTrust, pythonTrustEnv, tlsOptions, type Trust } from './support/tls.js';

interface Xapi {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  call(method: string, ...args: unknown[]): Promise<unknown>;
  callAsync(method: string, ...args: unknown[]): Promise<unknown>;
  getAllRecords(type: string): Promise<Record<string, Record<string, unknown>>>;
  putResource(body: Buffer, path: string, opts: { query: Record<string, string> }): Promise<unknown>;
  getResource(path: string, opts: { query: Record<string, string> }): Promise<{ body: AsyncIterable<Buffer> }>;
  pool: { default_SR: string };
}

/** The npm client with TLS verified as `trust` says; it never runs with allowUnauthorized. */
async function xenApi(url: string, user: string, password: string, trust: Trust, watchEvents: string[] = []): Promise<Xapi> {
  const client = createClient({ url, auth: { user, password }, allowUnauthorized: false, watchEvents });
  applyTrust(client, await tlsOptions(url, trust));
  return client as Xapi;
}

let target: Target;
let xapi: Xapi;
beforeAll(async () => {
  target = await openTarget();
  xapi = await xenApi(target.url, target.user, target.password, target.trust, ['task', 'VDI']);
  await xapi.connect();
});
afterAll(async () => {
  if (xapi) {
    // Remove everything this suite created, even after a failure half-way.
    for (const vdi of Object.values(await xapi.getAllRecords('VDI'))) {
      if ((vdi.tags as string[]).includes(E2E_TAG)) await xapi.call('VDI.destroy', vdi.$ref);
    }
    await xapi.disconnect();
  }
  await target?.close();
});

async function sr(): Promise<string> {
  return target.srUuid ? ((await xapi.call('SR.get_by_uuid', target.srUuid)) as string) : xapi.pool.default_SR;
}

describe('npm xen-api client', () => {
  it('imports and exports a raw VDI through /import_raw_vdi and /export_raw_vdi', async () => {
    const size = 4 * 1024 * 1024;
    const vdi = (await xapi.call('VDI.create', {
      name_label: 'xenkit e2e scratch', SR: await sr(), virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {}, tags: [E2E_TAG],
    })) as string;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.write(`xenkit-e2e block ${i / 4096}`, i);
    expect(await xapi.putResource(data, '/import_raw_vdi/', { query: { format: 'raw', vdi } })).toBe(vdi);
    const res = await xapi.getResource('/export_raw_vdi/', { query: { format: 'raw', vdi } });
    const parts: Buffer[] = [];
    for await (const c of res.body) parts.push(c);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('runs an Async VDI.clone as a task and resolves to the new VDI', async () => {
    const vdi = (await xapi.call('VDI.create', {
      name_label: 'xenkit e2e clone source', SR: await sr(), virtual_size: 1024 * 1024, type: 'user', sharable: false, read_only: false, other_config: {}, tags: [E2E_TAG],
    })) as string;
    const clone = (await xapi.callAsync('VDI.clone', vdi, {})) as string;
    expect(clone).toMatch(/^OpaqueRef:/);
    expect(await xapi.call('VDI.get_tags', clone)).toContain(E2E_TAG);
  });
});

// Credentials and trust reach Python through its environment, never its argv (visible in ps) or
// our error messages (which quote argv). TLS: system roots, XENKIT_PY_CA, or a SHA-256 pin.
const PY_LIST_VMS = `
import hashlib, json, os, ssl, sys, urllib.parse, xmlrpc.client
from os_xenapi.client import XenAPI
url = os.environ["XENKIT_PY_URL"]
transport = None
if url.startswith("https:"):
    ca, pin = os.environ.get("XENKIT_PY_CA"), os.environ.get("XENKIT_PY_PIN")
    if pin:
        u = urllib.parse.urlsplit(url)
        pem = ssl.get_server_certificate((u.hostname, u.port or 443))
        got = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        if got != pin:
            sys.exit("certificate SHA-256 %s does not match the pin" % got)
        ctx = ssl.create_default_context(cadata=pem)
        ctx.check_hostname = False
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    else:
        ctx = ssl.create_default_context(cafile=ca)
    transport = xmlrpc.client.SafeTransport(context=ctx)
s = XenAPI.Session(url, transport=transport)
s.xenapi.login_with_password(os.environ["XENKIT_PY_USER"], os.environ["XENKIT_PY_PASSWORD"], "2.21", "xenkit-e2e")
print(json.dumps({"vms": len(s.xenapi.VM.get_all_records())}))
s.xenapi.session.logout()
`;

function pythonListVms(url: string, user: string, password: string, trust: Trust) {
  requireTools('/usr/bin/python3');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', XENKIT_PY_URL: url, XENKIT_PY_USER: user, XENKIT_PY_PASSWORD: password, ...pythonTrustEnv(trust) };
  return execAsync('/usr/bin/python3', ['-c', PY_LIST_VMS], { env, timeoutMs: 60_000, allowFailure: true });
}

describe("Debian's python3-os-xenapi", () => {
  it('logs in and lists VMs, with the password only in its environment', async () => {
    const r = await pythonListVms(target.url, target.user, target.password, target.trust);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { vms: number }).vms).toBeGreaterThan(0);
  });
});

// Against a real host the trust settings are exercised by every test above; here the lab plays a
// self-signed XenServer so both outcomes of each check are seen.
describe.runIf(!onRealHost)('TLS trust (embedded lab with --tls)', () => {
  let lab: LabProcess;
  const state = tempDir('xenkit-e2e-tls-');
  const ca = (): Trust => ({ kind: 'ca', caFile: join(state.path, 'lab-cert.pem') });
  beforeAll(async () => {
    lab = await startLabProcess(['--tls', '--vms', '1', '--state', state.path]);
  });
  afterAll(async () => {
    await lab?.stop();
    state.cleanup();
  });
  const fp = () => lab.fingerprint as string;
  const wrong = () => `${fp().slice(0, -2)}${fp().endsWith('00') ? '11' : '00'}`;

  it('refuses the self-signed lab by default, accepts it pinned, refuses a wrong pin (xen-api)', async () => {
    const plain = await xenApi(lab.url, lab.user, lab.password, { kind: 'system' });
    await expect(plain.connect()).rejects.toThrow();
    const pinned = await xenApi(lab.url, lab.user, lab.password, { kind: 'pin', fingerprint: fp().replace(/:/g, '').toLowerCase() });
    await pinned.connect();
    expect(Object.keys(await pinned.getAllRecords('VM')).length).toBeGreaterThan(0);
    await pinned.disconnect();
    const bad = await xenApi(lab.url, lab.user, lab.password, { kind: 'pin', fingerprint: wrong().replace(/:/g, '').toLowerCase() });
    await expect(bad.connect()).rejects.toThrow();
    const withCa = await xenApi(lab.url, lab.user, lab.password, ca());
    await withCa.connect();
    await withCa.disconnect();
  });

  it('python verifies too: default refuses, the pin accepts, a wrong pin refuses', async () => {
    const pin = (f: string): Trust => ({ kind: 'pin', fingerprint: f.replace(/:/g, '').toLowerCase() });
    expect((await pythonListVms(lab.url, lab.user, lab.password, { kind: 'system' })).status).not.toBe(0);
    const ok = await pythonListVms(lab.url, lab.user, lab.password, pin(fp()));
    expect(ok.status, ok.stderr).toBe(0);
    const bad = await pythonListVms(lab.url, lab.user, lab.password, pin(wrong()));
    expect(bad.stderr).toContain('does not match the pin');
    const withCa = await pythonListVms(lab.url, lab.user, lab.password, ca());
    expect(withCa.status, withCa.stderr).toBe(0);
  });
});
