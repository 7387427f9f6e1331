import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, tempDir } from '@xenkit/fixtures';
import { checkIds } from '@xenkit/image-check';
import { CHECK_IDS } from './check.js';
import { runCaptured } from '../test-helpers/capture.js';
import { debianTree } from '../test-helpers/debian-tree.js';

const tmp = tempDir('xenkit-cli-check-');
afterAll(() => tmp.cleanup());

const tree = debianTree(`${tmp.path}/root`);

describe('xenkit check', () => {
  it('prints one row per check, exits 1 when a check fails', async () => {
    const r = await runCaptured(['check', '--root', tree]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/✗ firewall\s+a firewall is enabled at boot/);
    expect(r.stdout).toMatch(/✓ ssh-server/);
    expect(r.stdout).toContain('fix: Disable it');
    expect(r.stdout).toMatch(/FAIL: \d+ passed, \d+ failed/);
  });

  it('exits 0 when the selected checks pass, and --json carries the report contract', async () => {
    const r = await runCaptured(['--json', 'check', '--root', tree, '--only', 'ssh-server,mac-persistence']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { source: unknown; os: { distro: string }; checks: { id: string; status: string; summary: string; evidence: string[]; fix: string }[]; verdict: string };
    expect(j.verdict).toBe('pass');
    expect(j.os.distro).toBe('debian');
    expect(j.checks.map((c) => [c.id, c.status])).toEqual([
      ['mac-persistence', 'pass'],
      ['ssh-server', 'pass'],
    ]);
    for (const c of j.checks) expect(Object.keys(c)).toEqual(expect.arrayContaining(['id', 'status', 'summary', 'evidence', 'fix']));
  });

  it('--skip leaves checks out and --junit writes one testcase per check', async () => {
    const junit = `${tmp.path}/out.xml`;
    const r = await runCaptured(['check', '--root', tree, '--skip', 'firewall', '--junit', junit]);
    expect(r.stdout).not.toContain('firewall');
    const xml = readFileSync(junit, 'utf8');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(8);
    expect(xml).toContain('<testcase classname="xenkit.image-check" name="cloud-init">');
    expect(xml).toContain('<failure message="cloud-init is not installed');
  });

  it('--help lists exactly the check ids image-check knows', async () => {
    expect(CHECK_IDS).toEqual(checkIds());
    const r = await runCaptured(['check', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(checkIds().join(', '));
  });

  it('exits 2 on unknown check ids, missing input and a file that is no image', async () => {
    const unknown = await runCaptured(['check', '--root', tree, '--only', 'nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('E_UNKNOWN_CHECK');
    expect((await runCaptured(['check'])).status).toBe(2);
    const missing = await runCaptured(['check', `${tmp.path}/missing.qcow2`]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('missing.qcow2');
    const notOs = await runCaptured(['check', '--root', `${tmp.path}`]);
    expect(notOs.status).toBe(2);
    expect(notOs.stderr).toContain('E_NO_OS');
    expect(existsSync(`${tmp.path}/missing.qcow2`)).toBe(false);
  });

  it('checks an image: nova\'s reason for a two-partition disk', async () => {
    const img = buildImage({ dir: `${tmp.path}/img`, name: 'two', table: 'mbr', format: 'qcow2', partitions: [{ sizeMiB: 8, fs: 'swap' }, { sizeMiB: 24, fs: 'ext4', tree, label: 'root' }] });
    const r = await runCaptured(['--json', 'check', img.path, '--only', 'auto-disk-config']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { checks: { summary: string }[]; os: { root: string } };
    expect(j.checks[0]?.summary).toBe('nova would log: "Disk must have only one partition."');
    expect(j.os.root).toBe('/dev/sda2');
  });

  it('exits 2 when the image has no readable root, the disk-level result in --json error details', async () => {
    const img = buildImage({ dir: `${tmp.path}/noroot`, name: 'noroot', table: 'mbr', partitions: [{ sizeMiB: 8, fs: 'swap' }, { sizeMiB: 8, fs: 'ext2' }] });
    const r = await runCaptured(['--json', 'check', img.path]);
    expect(r.status).toBe(2);
    const j = JSON.parse(r.stdout) as { error: { code: string; details: { checks: { id: string; summary: string }[] } } };
    expect(j.error.code).toBe('E_NO_OS');
    expect(j.error.details.checks[0]).toMatchObject({ id: 'auto-disk-config', summary: 'nova would log: "Disk must have only one partition."' });
  });
});
