import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreServer } from '@xenkit/xenstore';
import { startMetadataServer, type FakeMetadata } from './test-helpers/metadata-server.js';
import { genKey, makeGuestTree } from './test-helpers/tree.js';
// @ts-expect-error plain ESM build script without types
import { bundle } from '../build/bundle.mjs';

// The deployable artefact: one bundled .mjs run by plain node, installed into an image tree and run
// against our xenstored, a loopback metadata service and config-drive images made by real tools.
describe('bundled xenkit-agent', () => {
  const dir = tempDir('xenkit-deploy-');
  const out = join(dir.path, 'xenkit-agent.mjs');
  beforeAll(async () => {
    requireTools('genisoimage', 'mkfs.vfat', 'mcopy', 'mmd', 'xenstore-write', 'xenstore-read', 'ssh-keygen');
    await (bundle as (o: string) => Promise<string>)(out);
  });
  afterAll(() => dir.cleanup());
  const agent = (args: string[], env: NodeJS.ProcessEnv = {}) => execAsync(process.execPath, [out, ...args], { env: { PATH: process.env.PATH, ...env }, allowFailure: true });

  it('install --root lays out the unit, enable link, bundle and launcher', async () => {
    const tree = makeGuestTree();
    try {
      const r = await agent(['install', '--root', tree.root]);
      expect(r.status).toBe(0);
      const root = tree.root;
      expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/xenkit-agent.service'))).toBe('/etc/systemd/system/xenkit-agent.service');
      const unit = readFileSync(join(root, 'etc/systemd/system/xenkit-agent.service'), 'utf8');
      expect(unit).toMatch(/ExecStart=\/usr\/local\/bin\/xenkit-agent run/);
      expect(unit).toMatch(/After=.*cloud-init-local\.service/);
      expect(readFileSync(join(root, 'usr/local/lib/xenkit-agent/xenkit-agent.mjs'))).toEqual(readFileSync(out));
      expect(statSync(join(root, 'usr/local/bin/xenkit-agent')).mode & 0o111).not.toBe(0);
      // The launcher is valid sh pointing at the guest path; the installed bundle runs on plain node.
      exec('sh', ['-n', join(root, 'usr/local/bin/xenkit-agent')]);
      expect(readFileSync(join(root, 'usr/local/bin/xenkit-agent'), 'utf8')).toContain('/usr/local/lib/xenkit-agent/xenkit-agent.mjs');
      const v = exec(process.execPath, [join(root, 'usr/local/lib/xenkit-agent/xenkit-agent.mjs'), 'version']);
      expect(v.stdout.trim()).toMatch(/xenkit/);
      // systemd's own verifier, against the tree: the image's unit search path holds Debian's real
      // systemd units (sysinit.target, network-online.target, ... that the unit depends on), and
      // ExecStart= is checked for an executable inside the tree. Unknown keys are only warnings
      // (exit 0), so the output must be free of any line about the unit too.
      requireTools('systemd-analyze');
      cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
      const verify = exec('systemd-analyze', ['verify', '--man=no', `--root=${root}`, '/etc/systemd/system/xenkit-agent.service'], { allowFailure: true });
      expect(verify.status, verify.stderr).toBe(0);
      expect(verify.stderr.split('\n').filter((l) => /xenkit-agent/.test(l))).toEqual([]);
      expect(verify.stdout.trim()).toBe('');
    } finally {
      tree.cleanup();
    }
  });

  for (const kind of ['iso9660', 'vfat'] as const) {
    it(`provision reads keys from a ${kind} config-drive image without mounting it`, async () => {
      const tree = makeGuestTree();
      const key = genKey(`cd-${kind}`);
      const src = join(dir.path, `cd-${kind}`);
      mkdirSync(join(src, 'openstack/latest'), { recursive: true });
      writeFileSync(join(src, 'openstack/latest/meta_data.json'), JSON.stringify({ uuid: `uuid-${kind}`, hostname: `cd-${kind}`, public_keys: { k: key } }));
      const img = join(dir.path, `cd-${kind}.img`);
      if (kind === 'iso9660') exec('genisoimage', ['-quiet', '-o', img, '-V', 'config-2', '-J', '-R', src]);
      else {
        exec('mkfs.vfat', ['-C', '-n', 'config-2', img, '2048']);
        const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
        exec('mmd', ['-i', img, '::openstack', '::openstack/latest'], { env });
        exec('mcopy', ['-i', img, join(src, 'openstack/latest/meta_data.json'), '::openstack/latest/'], { env });
      }
      try {
        const r = await agent(['provision', '--root', tree.root, '--config-drive', img, '--no-metadata']);
        expect(r.status, r.stderr).toBe(0);
        expect(readFileSync(join(tree.root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${key}\n`);
        expect(readFileSync(join(tree.root, 'etc/hostname'), 'utf8')).toBe(`cd-${kind}\n`);
        // Logs are pino JSON lines on stderr naming the decision, never the key.
        const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
        expect(lines.some((l) => /the agent injects keys/.test(l.msg))).toBe(true);
        expect(r.stderr).not.toContain(key.split(' ')[1]);
      } finally {
        tree.cleanup();
      }
    });
  }

  it('run: serves nova over xenstore and injects the metadata key', async () => {
    const tree = makeGuestTree();
    const xs = new XenstoreServer();
    const dom0 = join(dir.path, 'd0.sock');
    const dom9 = join(dir.path, 'd9.sock');
    await xs.listen(dom0, 0);
    await xs.listen(dom9, 9);
    const key = genKey('run');
    let md: FakeMetadata | undefined;
    md = await startMetadataServer({ '/openstack/latest/meta_data.json': JSON.stringify({ uuid: 'u', public_keys: { k: key } }) });
    const child = spawn(process.execPath, [out, 'run', '--root', tree.root, '--xenstore', dom9, '--metadata-url', md.url, '--attempts', '2', '--interval-ms', '100'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const env = { ...process.env, XENSTORED_PATH: dom0 };
      await execAsync('xenstore-write', ['/local/domain/9/data/host/abc', '{"name":"version","value":"agent"}'], { env });
      let reply = '';
      for (let i = 0; i < 200 && !reply; i++) {
        const r = await execAsync('xenstore-read', ['/local/domain/9/data/guest/abc'], { env, allowFailure: true });
        if (r.status === 0) reply = r.stdout;
        else await new Promise((res) => setTimeout(res, 25));
      }
      expect(JSON.parse(reply)).toMatchObject({ returncode: '0' });
      for (let i = 0; i < 200 && !log.includes('provisioning done'); i++) await new Promise((res) => setTimeout(res, 25));
      expect(readFileSync(join(tree.root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${key}\n`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      await md.close();
      await xs.close();
      tree.cleanup();
    }
  });
});
