import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElfKernel, buildImage, buildTree, compressWith, execAsync, makeBzImage, requireTools, tempDir, type TreeEntry } from '@xenkit/fixtures';
import { bundle } from '../build/bundle.mjs';
import { runCaptured } from './test-helpers/capture.js';

// The production CLI — one esbuild bundle run by its code-cache loader — as a user runs it: a child
// `node`, real trees, images and kernels made by real tools, compared with the same argv run
// in-process from source. Any difference is a bundling bug (a lost export, an external that does
// not resolve, a stale version).
const tmp = tempDir('xenkit-cli-bundle-');
// Inside the workspace, so the packages the bundle leaves external resolve through node_modules.
const outdir = mkdtempSync(join(import.meta.dirname, '..', 'dist', '.test-bundle-'));
const cacheHome = join(tmp.path, 'cache');
let exe: string;

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  execAsync(process.execPath, [exe, ...args], { env: { PATH: process.env.PATH, HOME: tmp.path, XDG_CACHE_HOME: cacheHome, ...env }, allowFailure: true });
const cacheFiles = () => (existsSync(join(cacheHome, 'xenkit', 'v8')) ? readdirSync(join(cacheHome, 'xenkit', 'v8')) : []);

const CONSOLE = 'console=tty0 console=ttyS0,115200n8';
// A Debian cloud image root: everything the checks look at, with cloud-init's config in YAML that
// only parses with a working `yaml` module (a block list, a flow list, a nested mapping).
function cloudTree(dir: string): string {
  const files: Record<string, TreeEntry> = {
    '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    '/etc/debian_version': '12.5\n',
    '/etc/hostname': 'cloud1\n',
    '/etc/hosts': '127.0.0.1 localhost\n',
    '/etc/fstab': 'LABEL=root / ext4 defaults 0 1\n',
    '/bin': { symlink: 'usr/bin' },
    '/usr/bin/cloud-init': '#!/usr/bin/python3\n',
    '/usr/bin/growpart': '#!/bin/sh\n',
    '/usr/sbin/sshd': '',
    '/lib/systemd/system/ssh.service': '[Unit]\n[Install]\nWantedBy=multi-user.target\n',
    '/etc/systemd/system/multi-user.target.wants/ssh.service': { symlink: '/lib/systemd/system/ssh.service' },
    '/lib/systemd/system/cloud-init.service': '[Unit]\n',
    '/lib/systemd/system/cloud-init-local.service': '[Unit]\n',
    '/etc/systemd/system/cloud-init.target.wants/cloud-init.service': { symlink: '/lib/systemd/system/cloud-init.service' },
    '/etc/systemd/system/cloud-init.target.wants/cloud-init-local.service': { symlink: '/lib/systemd/system/cloud-init-local.service' },
    '/etc/cloud/cloud.cfg':
      'users:\n  - default\ncloud_init_modules:\n  - growpart\n  - resizefs\n  - ssh\nsystem_info:\n  distro: debian\n  default_user:\n    name: debian\n',
    '/etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ ConfigDrive, OpenStack, None ]\n',
    '/etc/default/grub': `GRUB_CMDLINE_LINUX_DEFAULT="${CONSOLE}"\n`,
    '/boot/grub/grub.cfg': `set default="0"\nmenuentry 'Debian' {\n\tlinux /boot/vmlinuz-6.1.0 root=LABEL=root ro ${CONSOLE}\n}\n`,
    '/var/lib/dpkg/status': 'Package: cloud-init\nStatus: install ok installed\nVersion: 22.4.2-1\nArchitecture: all\nDescription: cloud-init\n',
  };
  return buildTree(dir, files);
}

let root: string;
beforeAll(async () => {
  exe = await bundle({ outdir });
  root = cloudTree(join(tmp.path, 'root'));
}, 60_000);
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  tmp.cleanup();
});

describe('bundled xenkit', () => {
  it('--version prints the manifest version, help lists the commands', async () => {
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const v = await run(['--version']);
    expect(v).toMatchObject({ status: 0, stdout: `${manifest.version}\n`, stderr: '' });
    const help = await run(['--help']);
    expect(help.status).toBe(0);
    for (const cmd of ['check', 'inspect', 'disk', 'kernel', 'xapi', 'lab', 'cache']) expect(help.stdout).toContain(`  ${cmd} `);
  });

  it('check --root parses cloud-init YAML and answers exactly as the source does', async () => {
    const argv = ['--json', 'check', '--root', root];
    const r = await run(argv);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; evidence: string[] }[]; verdict: string };
    const cloud = report.checks.find((c) => c.id === 'cloud-init');
    expect(cloud?.status).toBe('pass');
    expect(cloud?.evidence).toEqual(expect.arrayContaining(['default user: debian', 'datasource_list: [ConfigDrive, OpenStack, None]']));
    expect(cloud?.evidence.join('\n')).not.toMatch(/not valid YAML/);
    const source = await runCaptured(argv);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(source.stdout));
    expect(r.status).toBe(source.status);
    expect(r.status).toBe(report.verdict === 'pass' ? 0 : 1);
  });

  it('check IMAGE reads ext4 through libext2fs (external to the bundle) as the source does', async () => {
    requireTools('sfdisk', 'mke2fs', 'qemu-img');
    const image = buildImage({ dir: tmp.path, name: 'cloud', table: 'mbr', partitions: [{ sizeMiB: 8, fs: 'ext4', tree: root }] });
    const argv = ['--json', 'check', image.rawPath];
    const [r, source] = [await run(argv), await runCaptured(argv)];
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { source: { format: string }; checks: { id: string; status: string }[] };
    expect(report.source.format).toBe('raw');
    expect(report.checks.find((c) => c.id === 'auto-disk-config')?.status).toBe('pass');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(source.stdout));
    expect(r.status).toBe(source.status);
    // libext2fs's glue was compiled once, through the loader's preload hook, and cached beside the bundle's
    // code; a second run reuses both and answers the same.
    const glue = cacheFiles().filter((f) => f.startsWith('check-') && f.split('-').length > 7);
    expect(glue, cacheFiles().join(' ')).toHaveLength(1);
    expect((await run(argv)).stdout).toBe(r.stdout);
    for (const other of [['--json', 'disk', image.rawPath], ['inspect', '--xml', image.rawPath]]) {
      const [b, s] = [await run(other), await runCaptured(other)];
      expect({ status: b.status, stdout: b.stdout }).toEqual({ status: s.status, stdout: s.stdout });
      expect(b.stdout.length).toBeGreaterThan(100);
    }
  });

  it('kernel decodes bzImages through lazily loaded codecs (bzip2 via seek-bzip, xz) as the source does', async () => {
    const notes = [
      { type: 6, str: 'linux' }, { type: 7, str: '2.6' }, { type: 5, str: 'xen-3.0' },
      { type: 3, num: 0xffffffff80000000n }, { type: 4, num: 0xffffffff80000000n }, { type: 1, num: 0xffffffff80200000n },
    ];
    const elf = buildElfKernel(tmp.path, 'vmlinux-xen', { bits: 64, notes, banner: 'Linux version 3.2.0-4-amd64 (debian-kernel@lists.debian.org)' });
    for (const codec of ['bzip2', 'xz']) {
      const payload = compressWith(codec, elf, join(tmp.path, `payload.${codec}`));
      const file = join(tmp.path, `bzImage-${codec}`);
      writeFileSync(file, makeBzImage({ protocol: 0x20a, kernelVersion: '3.2.0-4-amd64 (debian-kernel@lists.debian.org) #1 SMP', payload }));
      const argv = ['--json', 'kernel', file];
      const [r, source] = [await run(argv), await runCaptured(argv)];
      expect(r.stderr).toBe('');
      const analysis = JSON.parse(r.stdout) as { codec: string; verdict: { pv: boolean } };
      expect(analysis).toMatchObject({ codec, verdict: { pv: true } });
      expect(analysis).toEqual(JSON.parse(source.stdout));
      expect(r.status).toBe(0);
    }
  });

  it('input and usage errors keep their codes and exit 2', async () => {
    const missing = await run(['--json', 'check', join(tmp.path, 'nope.raw')]);
    expect(missing.status).toBe(2);
    expect((JSON.parse(missing.stdout) as { error: { code: string; category: string } }).error).toMatchObject({ category: 'input' });
    const usage = await run(['check']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^E_USAGE: give an IMAGE or --root DIR/);
    const unknown = await run(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^E_USAGE: /);
  });
});

describe('code cache', () => {
  const argv = ['--json', 'check', '--root'];

  it('is written after the first run of a command, reused unchanged, and replaced when corrupt', async () => {
    rmSync(cacheHome, { recursive: true, force: true });
    const first = await run([...argv, root]);
    const files = cacheFiles().filter((f) => f.startsWith('check-'));
    expect(files).toHaveLength(1);
    const file = join(cacheHome, 'xenkit', 'v8', files[0] as string);
    const written = readFileSync(file);
    const mtime = statSync(file).mtimeMs;
    const second = await run([...argv, root]);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(file).mtimeMs).toBe(mtime); // accepted by V8, so not rewritten
    writeFileSync(file, Buffer.alloc(written.length, 0x5a));
    const third = await run([...argv, root]);
    expect(third.stdout).toBe(first.stdout);
    expect(readFileSync(file).equals(Buffer.alloc(written.length, 0x5a))).toBe(false);
    expect(cacheFiles().filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // One file per command word; none for a run that ends in a usage error.
    await run(['--log-level', 'error', '--version']);
    await run(['--log-level', 'error', 'frobnicate']);
    expect(cacheFiles().map((f) => f.split('-')[0]).sort()).toEqual(['check', 'none']);
  });

  it('is neither read nor written in a directory others may write to', async () => {
    const shared = join(tmp.path, 'shared-cache');
    const dir = join(shared, 'xenkit', 'v8');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const r = await run([...argv, root], { XDG_CACHE_HOME: shared });
    expect(r.stderr).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unusable cache directory or XENKIT_CODE_CACHE=0 costs only speed', async () => {
    const reference = (await run([...argv, root])).stdout;
    const blocker = join(tmp.path, 'not-a-dir');
    writeFileSync(blocker, '');
    const blocked = await run([...argv, root], { XDG_CACHE_HOME: blocker });
    expect(blocked).toMatchObject({ stdout: reference, stderr: '' });
    const off = join(tmp.path, 'off-cache');
    const disabled = await run([...argv, root], { XDG_CACHE_HOME: off, XENKIT_CODE_CACHE: '0' });
    expect(disabled).toMatchObject({ stdout: reference, stderr: '' });
    expect(existsSync(off)).toBe(false);
  });
});
