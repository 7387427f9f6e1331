import { afterAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { runChecks } from '../check.js';
import { openTreeTarget } from '../target.js';
import { goodDebian, withChanges, writeTree, type TreeSpec } from '../test-helpers/trees.js';

const tmp = tempDir('xenkit-review-');
afterAll(() => tmp.cleanup());
let n = 0;

async function check(spec: TreeSpec, id: string) {
  const dir = writeTree(`${tmp.path}/t${n++}`, spec);
  const report = await runChecks(await openTreeTarget(dir), { only: [id] });
  const r = report.checks[0];
  if (!r) throw new Error('no result');
  return { ...r, dir };
}

const good = goodDebian();
const systemd = { '/lib/systemd/systemd': '\x7fELF' };

describe('sysvinit links beside native systemd units', () => {
  it('a masked ssh.service with a leftover rc link is not enabled (as systemctl --root says)', async () => {
    requireTools('systemctl');
    const spec = withChanges(
      good,
      { ...systemd, '/etc/init.d/ssh': '#!/bin/sh\n' },
      { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/systemd/system/ssh.service': '/dev/null', '/etc/rc2.d/S01ssh': '../init.d/ssh' },
    );
    const r = await check(spec, 'ssh-server');
    const real = await execAsync('systemctl', ['--root', r.dir, 'is-enabled', 'ssh.service'], { allowFailure: true });
    expect(String(real.stdout).trim()).toBe('masked');
    expect(r.status).toBe('fail');
  });
  it('an rc link does not enable a script shadowed by a native unit under systemd', async () => {
    const spec = withChanges(good, { ...systemd, '/etc/init.d/ssh': '#!/bin/sh\n' }, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/rc2.d/S01ssh': '../init.d/ssh' });
    expect((await check(spec, 'ssh-server')).status).toBe('fail');
    // Without systemd (a sysvinit image shipping unit files) the rc link rules.
    const sysv = withChanges(good, { '/etc/init.d/ssh': '#!/bin/sh\n' }, { '/etc/systemd/system/multi-user.target.wants/ssh.service': null, '/etc/rc2.d/S01ssh': '../init.d/ssh' });
    expect((await check(sysv, 'ssh-server')).status).toBe('pass');
  });
});

describe('files that exist but cannot be read', () => {
  const pad = (s: string) => s + '#'.repeat(5 * 1024 * 1024);
  it('a persistent-net rules file padded past the read cap is an error, not empty', async () => {
    const rules = pad('SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n');
    const r = await check(withChanges(good, { '/etc/udev/rules.d/70-persistent-net.rules': rules }), 'mac-persistence');
    expect(r.status).toBe('error');
    expect(r.evidence.join('\n')).toContain('70-persistent-net.rules: E_FS_TOO_LARGE');
  });
  it('an oversized sshd include is an error, not a silent pass', async () => {
    const r = await check(withChanges(good, { '/etc/ssh/sshd_config.d/10-nokeys.conf': `PubkeyAuthentication no\n${pad('')}` }), 'ssh-server');
    expect(r.status).toBe('error');
  });
});
