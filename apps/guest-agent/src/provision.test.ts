import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureDebianPackage, exec, requireTools, type DebianPackage } from '@xenkit/fixtures';
import { detectCloudInit, listsSshModule } from './cloudinit.js';
import { fetchText, readMetadata } from './metadata.js';
import { provision } from './provision.js';
import { ec2Routes, startMetadataServer, type FakeMetadata } from './test-helpers/metadata-server.js';
import { addBinaries, genKey, makeGuestTree } from './test-helpers/tree.js';

const FAST = { attempts: 3, intervalMs: 50 };

function withCloudInit(root: string, opts: { disabledFile?: boolean; runDisabled?: boolean; result?: boolean; sshModule?: boolean } = {}): void {
  mkdirSync(join(root, 'etc/cloud/cloud.cfg.d'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/cloud-init'), '#!/usr/bin/python3\n');
  const modules = opts.sshModule === false ? ' - migrator\n - write_files\n' : ' - migrator\n - users_groups\n - ssh\n';
  writeFileSync(join(root, 'etc/cloud/cloud.cfg'), `users:\n - default\ndisable_root: true\ncloud_init_modules:\n${modules}cloud_config_modules:\n - runcmd\n`);
  if (opts.disabledFile) writeFileSync(join(root, 'etc/cloud/cloud-init.disabled'), '');
  mkdirSync(join(root, 'run/cloud-init'), { recursive: true });
  if (opts.runDisabled) writeFileSync(join(root, 'run/cloud-init/disabled'), '');
  if (opts.result) writeFileSync(join(root, 'run/cloud-init/result.json'), '{"v1":{"datasource":"DataSourceConfigDrive","errors":[]}}');
}

describe('metadata fetching', () => {
  let md: FakeMetadata | undefined;
  afterEach(async () => md?.close());

  it('reads EC2 2009-04-04 keys, instance id and hostname when OpenStack paths 404', async () => {
    requireTools('ssh-keygen');
    const key = genKey('ec2');
    md = await startMetadataServer(ec2Routes(key));
    const d = await readMetadata(md.url, FAST);
    expect(d).toMatchObject({ instanceId: 'i-0000002a', hostname: 'ec2-host.example.org', keys: [key] });
    expect(md.hits[0]).toBe('/openstack/latest/meta_data.json');
  });

  it('prefers OpenStack meta_data.json public_keys', async () => {
    const key = genKey('os');
    md = await startMetadataServer({ '/openstack/latest/meta_data.json': JSON.stringify({ uuid: 'u-1', hostname: 'os-host', public_keys: { k: key } }) });
    expect(await readMetadata(md.url, FAST)).toMatchObject({ instanceId: 'u-1', hostname: 'os-host', keys: [key] });
  });

  it('never follows a redirect', async () => {
    md = await startMetadataServer({ '/openstack/latest/meta_data.json': { status: 302, headers: { location: 'http://127.0.0.2:9/evil' } } });
    await expect(readMetadata(md.url, FAST)).rejects.toMatchObject({ code: 'E_AGENT_MD_REDIRECT' });
    expect(md.hits).toEqual(['/openstack/latest/meta_data.json']);
  });

  it('cuts off a body that streams forever', async () => {
    md = await startMetadataServer({ '/openstack/latest/meta_data.json': 'stream-forever' });
    const t0 = Date.now();
    await expect(fetchText(`${md.url}/openstack/latest/meta_data.json`, { maxBytes: 64 * 1024, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'E_AGENT_MD_TOO_LARGE' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('retries an unreachable service the configured number of times', async () => {
    const t0 = Date.now();
    await expect(readMetadata('http://127.0.0.1:9', { attempts: 3, intervalMs: 100 })).rejects.toMatchObject({ code: 'E_AGENT_MD_CONNECT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });
});

describe('cloud-init coexistence', () => {
  let tree: { root: string; cleanup: () => void };
  let md: FakeMetadata;
  let key: string;
  beforeEach(async () => {
    tree = makeGuestTree();
    key = genKey('metadata');
    md = await startMetadataServer(ec2Routes(key));
  });
  afterEach(async () => {
    await md.close();
    tree.cleanup();
  });
  const keysFile = () => join(tree.root, 'root/.ssh/authorized_keys');

  it('cloud-init absent: the agent injects the key and sets the hostname', async () => {
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '' });
    expect(r.decision).toBe('agent');
    expect(r.cloudInit.evidence.join(' ')).toContain('not installed');
    expect(readFileSync(keysFile(), 'utf8')).toBe(`${key}\n`);
    expect(readFileSync(join(tree.root, 'etc/hostname'), 'utf8')).toBe('ec2-host.example.org\n');
  });

  it('cloud-init active and finished: it owns the keys; the agent does not touch them', async () => {
    withCloudInit(tree.root, { result: true });
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '' });
    expect(r.decision).toBe('cloud-init');
    expect(r.cloudInit.evidence).toEqual(expect.arrayContaining([expect.stringContaining('ssh module listed'), expect.stringContaining('result.json present')]));
    expect(existsSync(keysFile())).toBe(false);
    expect(md.hits).toEqual([]);
  });

  it('cloud-init active and still running: the agent waits for result.json before deciding', async () => {
    withCloudInit(tree.root, {});
    const t0 = Date.now();
    setTimeout(() => writeFileSync(join(tree.root, 'run/cloud-init/result.json'), '{"v1":{"errors":[]}}'), 300);
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', cloudInitWaitMs: 10_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r).toMatchObject({ decision: 'cloud-init', cloudInit: { finished: true } });
  });

  for (const [how, setup, cmdline] of [
    ['/etc/cloud/cloud-init.disabled', { disabledFile: true }, ''],
    ['/run/cloud-init/disabled', { runDisabled: true }, ''],
    ['cloud-init=disabled on the kernel command line', {}, 'ro root=/dev/xvda1 cloud-init=disabled quiet'],
    ['no ssh module', { sshModule: false }, ''],
  ] as const) {
    it(`cloud-init installed but not owning keys (${how}): the agent injects`, async () => {
      withCloudInit(tree.root, setup);
      const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline, cloudInitWaitMs: 100 });
      expect(r.decision).toBe('agent');
      expect(readFileSync(keysFile(), 'utf8')).toBe(`${key}\n`);
    });
  }

  it('reads the ssh module from flow and block lists', async () => {
    expect(listsSshModule('cloud_init_modules: [migrator, ssh]\n')).toBe(true);
    expect(listsSshModule('cloud_init_modules:\n  - [ssh, always]\n')).toBe(true);
    expect(listsSshModule('cloud_init_modules:\n  - ssh_import_id\n  - ssh-authkey-fingerprints\n')).toBe(false);
    expect((await detectCloudInit(tree.root, '')).installed).toBe(false);
  });

  it('a #! user-data script runs once per instance id (opt-in inside --root)', async () => {
    requireTools('sh', 'ldd', 'chroot', 'mknod');
    addBinaries(tree.root, ['/bin/sh']);
    await md.close();
    md = await startMetadataServer(ec2Routes(key, { '/2009-04-04/user-data': '#!/bin/sh\necho ran >> "$XENKIT_ROOT/ran.log"\n' }));
    const o = { root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', runUserData: true };
    expect((await provision(o)).userDataRan).toBe(true);
    expect((await provision(o)).userDataRan).toBe(false);
    expect(readFileSync(join(tree.root, 'ran.log'), 'utf8')).toBe('ran\n');
    expect(exec('stat', ['-c', '%a', join(tree.root, 'var/lib/xenkit-agent')]).stdout.trim()).toBe('700');
  });

  it('with --root, user-data runs inside chroot ROOT: its /proof lands in the tree, not on the host', async () => {
    requireTools('sh', 'ldd', 'chroot', 'mknod');
    addBinaries(tree.root, ['/bin/sh']);
    const proof = `xenkit-proof-${randomUUID()}`;
    await md.close();
    md = await startMetadataServer(ec2Routes(key, { '/2009-04-04/user-data': `#!/bin/sh\necho "inside $XENKIT_ROOT" > /${proof}\n` }));
    try {
      const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', runUserData: true });
      expect(r.userDataRan).toBe(true);
      expect(readFileSync(join(tree.root, proof), 'utf8')).toBe('inside /\n');
      expect(existsSync(`/${proof}`)).toBe(false);
    } finally {
      rmSync(`/${proof}`, { force: true });
    }
  });

  it('a user-data script that never ends is killed (with its children) at the timeout', async () => {
    requireTools('sh', 'sleep', 'ldd', 'chroot', 'mknod');
    addBinaries(tree.root, ['/bin/sh', '/bin/sleep']);
    await md.close();
    md = await startMetadataServer(ec2Routes(key, { '/2009-04-04/user-data': '#!/bin/sh\nsleep 100000 &\necho $! > /sleeper.pid\nwait\necho never > /after\n' }));
    const t0 = Date.now();
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', runUserData: true, userDataTimeoutMs: 800 });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r).toMatchObject({ userDataRan: true, userDataTimedOut: true });
    expect(existsSync(join(tree.root, 'after'))).toBe(false);
    const pid = Number(readFileSync(join(tree.root, 'sleeper.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(1);
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      alive = stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
      if (alive) await new Promise((res) => setTimeout(res, 20));
    }
    expect(alive).toBe(false);
  });
});

// The same decisions against Debian's real cloud-init package (apt-get download + dpkg-deb -x):
// its /etc/cloud/cloud.cfg (with cloud.cfg.d), /usr/bin/cloud-init and systemd units.
describe('coexistence with Debian\'s real cloud-init package', () => {
  let pkg: DebianPackage;
  let tree: { root: string; cleanup: () => void };
  let md: FakeMetadata;
  let key: string;
  beforeAll(() => {
    pkg = ensureDebianPackage('cloud-init');
  }, 300_000);
  beforeEach(async () => {
    tree = makeGuestTree();
    key = genKey('metadata');
    md = await startMetadataServer(ec2Routes(key));
    for (const rel of ['etc/cloud', 'usr/bin/cloud-init', 'lib/systemd/system']) {
      cpSync(join(pkg.root, rel), join(tree.root, rel), { recursive: true, verbatimSymlinks: true });
    }
    mkdirSync(join(tree.root, 'run/cloud-init'), { recursive: true });
  });
  afterEach(async () => {
    await md.close();
    tree.cleanup();
  });
  const keysFile = () => join(tree.root, 'root/.ssh/authorized_keys');

  it('the package really ships what the detection reads', async () => {
    expect(existsSync(join(tree.root, 'lib/systemd/system/cloud-init.service'))).toBe(true);
    expect(listsSshModule(readFileSync(join(tree.root, 'etc/cloud/cloud.cfg'), 'utf8'))).toBe(true);
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ installed: true, sshModule: true, ownsKeys: true, disabledBy: [] });
  });

  it(`active and finished: cloud-init owns the keys`, async () => {
    writeFileSync(join(tree.root, 'run/cloud-init/result.json'), '{"v1":{"datasource":"DataSourceConfigDrive","errors":[]}}');
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', cloudInitWaitMs: 1000 });
    expect(r).toMatchObject({ decision: 'cloud-init', cloudInit: { finished: true } });
    expect(r.cloudInit.evidence.join(' ')).toContain('/usr/bin/cloud-init');
    expect(existsSync(keysFile())).toBe(false);
    expect(md.hits).toEqual([]);
  });

  for (const [how, setup, cmdline] of [
    ['/etc/cloud/cloud-init.disabled', 'etc/cloud/cloud-init.disabled', ''],
    ['/run/cloud-init/disabled', 'run/cloud-init/disabled', ''],
    ['cloud-init=disabled on the kernel command line', undefined, 'BOOT_IMAGE=/vmlinuz root=/dev/xvda1 cloud-init=disabled'],
  ] as const) {
    it(`disabled by ${how}: the agent injects`, async () => {
      if (setup) writeFileSync(join(tree.root, setup), '');
      const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline, cloudInitWaitMs: 100 });
      expect(r.decision).toBe('agent');
      expect(r.cloudInit.disabledBy).toHaveLength(1);
      expect(readFileSync(keysFile(), 'utf8')).toBe(`${key}\n`);
    });
  }

  it('ssh module removed from the real cloud.cfg: the agent injects', async () => {
    const cfg = join(tree.root, 'etc/cloud/cloud.cfg');
    const text = readFileSync(cfg, 'utf8');
    const without = text.replace(/^ - ssh\n/m, '');
    expect(without).not.toBe(text);
    writeFileSync(cfg, without);
    writeFileSync(join(tree.root, 'run/cloud-init/result.json'), '{"v1":{"errors":[]}}');
    const r = await provision({ root: tree.root, metadataUrl: md.url, retry: FAST, cmdline: '', cloudInitWaitMs: 100 });
    expect(r).toMatchObject({ decision: 'agent', cloudInit: { installed: true, sshModule: false } });
    expect(readFileSync(keysFile(), 'utf8')).toBe(`${key}\n`);
  });
});
