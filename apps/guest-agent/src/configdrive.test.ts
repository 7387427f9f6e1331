import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { openConfigDrive, readConfigDrive, scanConfigDrives } from './configdrive.js';

describe('config drive', () => {
  const dir = tempDir('xenkit-cfgdrive-');
  const src = join(dir.path, 'src');
  const iso = join(dir.path, 'cd.iso');
  const wrongLabel = join(dir.path, 'other.iso');
  let loop = '';
  beforeAll(() => {
    requireTools('genisoimage', 'losetup');
    mkdirSync(join(src, 'openstack/2012-08-10'), { recursive: true });
    mkdirSync(join(src, 'openstack/2018-08-27'), { recursive: true });
    mkdirSync(join(src, 'ec2/2009-04-04'), { recursive: true });
    writeFileSync(join(src, 'openstack/2012-08-10/meta_data.json'), JSON.stringify({ uuid: 'old', public_keys: { a: 'ssh-rsa OLD' } }));
    writeFileSync(join(src, 'openstack/2018-08-27/meta_data.json'), JSON.stringify({ uuid: 'new', hostname: 'h', public_keys: { a: 'ssh-ed25519 NEW' } }));
    writeFileSync(join(src, 'openstack/2018-08-27/user_data'), '#!/bin/sh\n');
    writeFileSync(join(src, 'ec2/2009-04-04/meta-data.json'), JSON.stringify({ 'public-keys': { '0': { 'openssh-key': 'ssh-rsa EC2' } } }));
    exec('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-J', '-R', src]);
    exec('genisoimage', ['-quiet', '-o', wrongLabel, '-V', 'cidata', '-J', '-R', src]);
  });
  afterAll(() => {
    if (loop) exec('losetup', ['-d', loop], { allowFailure: true });
    dir.cleanup();
  });

  it('reads the newest OpenStack version, from a directory and from an image', async () => {
    for (const path of [src, iso]) {
      const fs = await openConfigDrive(path);
      expect(await readConfigDrive(fs)).toMatchObject({ instanceId: 'new', hostname: 'h', keys: ['ssh-ed25519 NEW'], userData: Buffer.from('#!/bin/sh\n') });
      await fs.close();
    }
  });

  it('refuses an image that is not labelled config-2', async () => {
    await expect(openConfigDrive(wrongLabel)).rejects.toMatchObject({ code: 'E_AGENT_CD_LABEL' });
  });

  it('finds the drive on a block device by probing labels (loop device standing in for /dev/xvdd)', async () => {
    loop = exec('losetup', ['-f', '-r', '--show', iso]).stdout.trim();
    const found = await scanConfigDrives('/sys/class/block', new RegExp(`^${loop.replace('/dev/', '')}$`));
    expect(found).toBe(loop);
    const fs = await openConfigDrive(loop);
    expect((await readConfigDrive(fs)).keys).toEqual(['ssh-ed25519 NEW']);
    await fs.close();
  });
});
