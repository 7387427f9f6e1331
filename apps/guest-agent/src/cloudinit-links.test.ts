import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@xenkit/fixtures';
import { cloudInitDone, detectCloudInit, waitForCloudInit } from './cloudinit.js';
import { detectStack } from './network.js';
import { makeGuestTree } from './test-helpers/tree.js';

const WITH_SSH = 'cloud_init_modules:\n - migrator\n - ssh\n';
const WITHOUT_SSH = 'cloud_init_modules:\n - migrator\n - write_files\n';

function put(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

function link(root: string, rel: string, target: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  symlinkSync(target, join(root, rel));
}

// Each tree links a cloud-init input to a HOST temp path whose contents would flip the decision if
// the link were followed on the host; with --root, links must resolve inside the tree.
describe('cloud-init detection resolves symlinks inside ROOT, never on the host', () => {
  let tree: { root: string; cleanup: () => void };
  let host: { path: string; cleanup: () => void };
  beforeEach(() => {
    tree = makeGuestTree();
    host = tempDir('xenkit-agent-host-');
    put(tree.root, 'usr/bin/cloud-init', '#!/usr/bin/python3\n');
  });
  afterEach(() => {
    tree.cleanup();
    host.cleanup();
  });

  it('cloud.cfg linked to an absolute host path: the in-tree file at that path decides', async () => {
    put(host.path, 'cloud.cfg', WITH_SSH);
    link(tree.root, 'etc/cloud/cloud.cfg', join(host.path, 'cloud.cfg'));
    // Nothing at that path inside the tree: the host file with the ssh module must not be read.
    const absent = await detectCloudInit(tree.root, '');
    expect(absent).toMatchObject({ installed: true, sshModule: false, ownsKeys: false });
    // The same absolute target, present inside the tree without the ssh module.
    put(tree.root, join(host.path, 'cloud.cfg'), WITHOUT_SSH);
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ sshModule: false, ownsKeys: false });
    // And the reverse: the in-tree target lists ssh while the host one does not.
    put(tree.root, join(host.path, 'cloud.cfg'), WITH_SSH);
    put(host.path, 'cloud.cfg', WITHOUT_SSH);
    const owned = await detectCloudInit(tree.root, '');
    expect(owned).toMatchObject({ sshModule: true, ownsKeys: true });
    expect(owned.evidence).toContain('ssh module listed in /etc/cloud/cloud.cfg');
  });

  it('a relative link climbing out with ../ stops at ROOT', async () => {
    put(host.path, 'cloud.cfg', WITH_SSH);
    const climb = `${'../'.repeat(20)}${relative('/', host.path)}/cloud.cfg`;
    link(tree.root, 'etc/cloud/cloud.cfg', climb);
    expect(existsSync(join(tree.root, 'etc/cloud/cloud.cfg'))).toBe(true); // the host would follow it
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ sshModule: false, ownsKeys: false });
  });

  it('cloud.cfg.d linked to a host directory: only the in-tree directory is listed', async () => {
    put(tree.root, 'etc/cloud/cloud.cfg', WITHOUT_SSH);
    put(host.path, 'd/99-ssh.cfg', WITH_SSH);
    link(tree.root, 'etc/cloud/cloud.cfg.d', join(host.path, 'd'));
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ sshModule: false, ownsKeys: false });
    put(tree.root, join(host.path, 'd/50-in-tree.cfg'), WITH_SSH);
    const r = await detectCloudInit(tree.root, '');
    expect(r).toMatchObject({ sshModule: true, ownsKeys: true });
    expect(r.evidence).toContain('ssh module listed in /etc/cloud/cloud.cfg.d/50-in-tree.cfg');
  });

  it('a cloud.cfg.d file linked to another in-tree file (as Debian ships them) is followed', async () => {
    put(tree.root, 'etc/cloud/cloud.cfg', WITHOUT_SSH);
    put(tree.root, 'usr/share/cloud/ssh.cfg', WITH_SSH);
    link(tree.root, 'etc/cloud/cloud.cfg.d/90-ssh.cfg', '/usr/share/cloud/ssh.cfg');
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ sshModule: true, ownsKeys: true });
  });

  it('disable markers linked to /etc/passwd-like absolute paths resolve inside ROOT', async () => {
    put(tree.root, 'etc/cloud/cloud.cfg', WITH_SSH);
    // /etc/os-release exists on the host; the tree has none, so this marker dangles in the tree.
    expect(existsSync('/etc/os-release')).toBe(true);
    link(tree.root, 'etc/cloud/cloud-init.disabled', '/etc/os-release');
    expect(await detectCloudInit(tree.root, '')).toMatchObject({ disabledBy: [], ownsKeys: true });
    // /etc/passwd exists in both: the in-tree one makes the marker present.
    link(tree.root, 'run/cloud-init/disabled', '/etc/passwd');
    expect((await detectCloudInit(tree.root, '')).disabledBy).toEqual(['/run/cloud-init/disabled exists (ds-identify found no datasource)']);
  });

  it('result.json linked to a host file: cloud-init has not finished in the tree', async () => {
    put(host.path, 'result.json', '{"v1":{"errors":[]}}');
    link(tree.root, 'run/cloud-init/result.json', join(host.path, 'result.json'));
    expect(await cloudInitDone(tree.root)).toBe(false);
    expect(await waitForCloudInit(tree.root, 150, undefined, 50)).toBe(false);
    put(tree.root, join(host.path, 'result.json'), '{"v1":{"errors":[]}}');
    expect(await cloudInitDone(tree.root)).toBe(true);
    expect(await waitForCloudInit(tree.root, 150, undefined, 50)).toBe(true);
  });

  it('result.json linked to an in-tree path the host lacks: finished', async () => {
    const inTreeOnly = `/var/lib/cloud/${relative('/', host.path).replace(/\//g, '_')}/result.json`;
    expect(existsSync(inTreeOnly)).toBe(false);
    put(tree.root, inTreeOnly, '{"v1":{"errors":[]}}');
    link(tree.root, 'run/cloud-init/result.json', inTreeOnly);
    expect(await cloudInitDone(tree.root)).toBe(true);
  });

  it('the network stack probe resolves links inside ROOT too', async () => {
    mkdirSync(join(host.path, 'netplan'));
    link(tree.root, 'etc/netplan', join(host.path, 'netplan'));
    put(tree.root, 'etc/network/interfaces', 'auto lo\n');
    expect(await detectStack(tree.root)).toBe('ifupdown');
    mkdirSync(join(tree.root, host.path, 'netplan'), { recursive: true });
    expect(await detectStack(tree.root)).toBe('netplan');
  });
});
