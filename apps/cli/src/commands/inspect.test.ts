import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, tempDir } from '@xenkit/fixtures';
import { runCaptured } from '../test-helpers/capture.js';
import { debianTree } from '../test-helpers/debian-tree.js';

const tmp = tempDir('xenkit-cli-inspect-');
afterAll(() => tmp.cleanup());

const tree = debianTree(`${tmp.path}/root`);

describe('xenkit inspect', () => {
  it('prints the inventory and virt-inspector XML', async () => {
    const r = await runCaptured(['inspect', '--root', tree]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/hostname\s+web1/);
    const x = await runCaptured(['inspect', '--root', tree, '--xml']);
    expect(x.stdout).toContain('<operatingsystems>');
    expect(x.stdout).toContain('<distro>debian</distro>');
    expect(x.stdout).toContain('<major_version>12</major_version>');
    expect(x.stdout).toContain('<minor_version>4</minor_version>');
    expect(x.stdout).toContain('<name>openssh-server</name>');
    expect(x.stdout).toContain('<epoch>1</epoch>');
  });

  it('inspects an image: --json carries the filesystems with label and uuid', async () => {
    const img = buildImage({ dir: `${tmp.path}/img`, name: 'i', table: 'gpt', format: 'vhd', partitions: [{ sizeMiB: 24, fs: 'ext4', tree, label: 'root' }] });
    const r = await runCaptured(['--json', 'inspect', img.path]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { operatingSystems: { root: string; filesystems: { device: string; type: string; label: string; uuid: string }[]; applications: { name: string }[] }[] };
    expect(j.operatingSystems[0]?.root).toBe('/dev/sda1');
    expect(j.operatingSystems[0]?.filesystems[0]).toMatchObject({ device: '/dev/sda1', type: 'ext4', label: 'root' });
    expect(j.operatingSystems[0]?.applications.map((a) => a.name)).toEqual(['openssh-server']);
  });
  it('refuses --xml with --json (exit 2) instead of silently printing JSON', async () => {
    const r = await runCaptured(['--json', 'inspect', '--root', tree, '--xml']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_USAGE' } });
    expect(r.stdout).not.toContain('operatingSystems');
  });
  it('exits 2 on a file that is not an image', async () => {
    const r = await runCaptured(['inspect', `${tmp.path}/root/etc/hostname`]);
    expect(r.status).toBe(2);
  });
});
