import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@xenkit/fixtures';
import { installAgent } from './install.js';
import { makeGuestTree } from './test-helpers/tree.js';

// Hostile image trees: directories on the install path are symlinks to "host" directories (temp
// dirs standing in for /usr/local and /etc/systemd), which must stay empty.
describe('install --root into an untrusted tree', () => {
  let tree: { root: string; cleanup: () => void };
  let host: { path: string; cleanup: () => void };
  let bundle: string;
  beforeEach(() => {
    tree = makeGuestTree();
    host = tempDir('xenkit-host-');
    bundle = join(host.path, 'bundle.mjs');
    writeFileSync(bundle, '// xenkit-agent bundle\nconsole.log("xenkit-agent");\n');
    mkdirSync(join(host.path, 'usr-local'));
    mkdirSync(join(host.path, 'etc-systemd'));
  });
  afterEach(() => {
    tree.cleanup();
    host.cleanup();
  });
  const hostEntries = () => [...readdirSync(join(host.path, 'usr-local')), ...readdirSync(join(host.path, 'etc-systemd'))];

  it('refuses usr/local and etc/systemd symlinked to host directories, writing nothing there', async () => {
    mkdirSync(join(tree.root, 'usr'));
    symlinkSync(join(host.path, 'usr-local'), join(tree.root, 'usr/local'));
    symlinkSync(join(host.path, 'etc-systemd'), join(tree.root, 'etc/systemd'));
    await expect(installAgent(tree.root, bundle)).rejects.toMatchObject({ code: 'E_AGENT_INSTALL_SYMLINK' });
    expect(hostEntries()).toEqual([]);
  });

  it('refuses etc/systemd symlinked to a host directory even when usr/local is real', async () => {
    symlinkSync(join(host.path, 'etc-systemd'), join(tree.root, 'etc/systemd'));
    await expect(installAgent(tree.root, bundle)).rejects.toMatchObject({ code: 'E_AGENT_INSTALL_SYMLINK' });
    expect(hostEntries()).toEqual([]);
  });

  it('refuses a symlinked multi-user.target.wants (the enable link directory)', async () => {
    mkdirSync(join(tree.root, 'etc/systemd/system'), { recursive: true });
    symlinkSync(join(host.path, 'etc-systemd'), join(tree.root, 'etc/systemd/system/multi-user.target.wants'));
    await expect(installAgent(tree.root, bundle)).rejects.toMatchObject({ code: 'E_AGENT_INSTALL_SYMLINK' });
    expect(hostEntries()).toEqual([]);
  });

  it('refuses a unit file that is a symlink to a host file', async () => {
    mkdirSync(join(tree.root, 'etc/systemd/system'), { recursive: true });
    const hostUnit = join(host.path, 'etc-systemd', 'victim');
    writeFileSync(hostUnit, 'host\n');
    symlinkSync(hostUnit, join(tree.root, 'etc/systemd/system/xenkit-agent.service'));
    await expect(installAgent(tree.root, bundle)).rejects.toMatchObject({ code: 'E_AGENT_INSTALL_SYMLINK' });
    expect(readFileSync(hostUnit, 'utf8')).toBe('host\n');
  });

  it('installs into a clean tree and reinstalls over its own files and link', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await installAgent(tree.root, bundle);
      expect(r.files).toContain('/etc/systemd/system/xenkit-agent.service');
    }
    expect(readlinkSync(join(tree.root, 'etc/systemd/system/multi-user.target.wants/xenkit-agent.service'))).toBe('/etc/systemd/system/xenkit-agent.service');
    expect(readFileSync(join(tree.root, 'usr/local/lib/xenkit-agent/xenkit-agent.mjs'))).toEqual(readFileSync(bundle));
    expect(readdirSync(join(tree.root, 'etc/systemd/system/multi-user.target.wants'))).toEqual(['xenkit-agent.service']);
  });
});
