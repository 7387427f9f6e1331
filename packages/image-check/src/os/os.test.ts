import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HostTreeFileSystem } from '@xenkit/disk';
import { buildImage, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { inspectImage } from '../inspect.js';
import { miniKernel } from '../test-helpers/kernel.js';
import { writeTree } from '../test-helpers/trees.js';
import { parseFstab } from './fstab.js';
import { detectDistro } from './release.js';
import { elfArchitecture, isLinuxRoot } from './root.js';
import { resolveSpec, type GuestVolume } from './volumes.js';

const tmp = tempDir('xenkit-os-');
afterAll(() => tmp.cleanup());
let n = 0;
const tree = (files: Record<string, string>, links: Record<string, string> = {}) => HostTreeFileSystem.open(writeTree(`${tmp.path}/t${n++}`, { files, links }));

describe('libguestfs root rule', () => {
  it('needs /etc, /bin (dir or link to usr/bin) and fstab or hosts', async () => {
    expect(await isLinuxRoot(await tree({ '/etc/fstab': '', '/bin/ls': '' }))).toBe(true);
    expect(await isLinuxRoot(await tree({ '/etc/hosts': '', '/usr/bin/ls': '' }, { '/bin': 'usr/bin' }))).toBe(true);
    expect(await isLinuxRoot(await tree({ '/etc/hosts': '', '/usr/sbin/x': '' }, { '/bin': 'usr/sbin' }))).toBe(false);
    expect(await isLinuxRoot(await tree({ '/etc/motd': '', '/bin/ls': '' }))).toBe(false);
    expect(await isLinuxRoot(await tree({ '/bin/ls': '', '/fstab': '' }))).toBe(false);
  });
});

describe('distro detection (libguestfs order)', () => {
  const cases: [string, Record<string, string>, Record<string, unknown>][] = [
    ['Ubuntu os-release', { '/etc/os-release': 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n' }, { distro: 'ubuntu', majorVersion: 22, minorVersion: 4, productName: 'Ubuntu 22.04.4 LTS', osinfo: 'ubuntu22.04', packageFormat: 'deb', packageManagement: 'apt' }],
    ['Debian: os-release lacks a minor, debian_version supplies it', { '/etc/os-release': 'ID=debian\nVERSION_ID="11"\nPRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n', '/etc/debian_version': '11.9\n' }, { distro: 'debian', majorVersion: 11, minorVersion: 9, productName: '11.9', prettyName: 'Debian GNU/Linux 11 (bullseye)', osinfo: 'debian11' }],
    ['CentOS 6 redhat-release only', { '/etc/redhat-release': 'CentOS release 6.10 (Final)\n', '/usr/bin/yum': '' }, { distro: 'centos', majorVersion: 6, minorVersion: 10, productName: 'CentOS release 6.10 (Final)', osinfo: 'centos6.10', packageFormat: 'rpm', packageManagement: 'yum' }],
    ['RHEL 5 Update', { '/etc/redhat-release': 'Red Hat Enterprise Linux Server release 5 (Tikanga) Update 11\n' }, { distro: 'rhel', majorVersion: 5, minorVersion: 11 }],
    ['Fedora os-release with dnf', { '/etc/os-release': 'ID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39 (Cloud Edition)"\n', '/usr/bin/dnf': '' }, { distro: 'fedora', majorVersion: 39, minorVersion: 0, packageManagement: 'dnf' }],
    ['Alpine', { '/etc/os-release': 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' }, { distro: 'alpinelinux', majorVersion: 3, minorVersion: 19, packageFormat: 'apk' }],
    ['lsb-release only', { '/etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_DESCRIPTION="Ubuntu 12.04.5 LTS"\n' }, { distro: 'ubuntu', majorVersion: 12, minorVersion: 4, productName: 'Ubuntu 12.04.5 LTS' }],
  ];
  it.each(cases)('%s', async (_name, files, expected) => {
    expect(await detectDistro(await tree({ '/etc/hosts': '', ...files }))).toMatchObject(expected);
  });
});

describe('fstab', () => {
  const vols: GuestVolume[] = [
    { device: '/dev/sda1', kind: 'partition', partitionNumber: 1, uuid: 'AB12-CD34', label: 'BOOT', partuuid: '1234abcd-01', open: async () => null },
    { device: '/dev/sda2', kind: 'partition', partitionNumber: 2, uuid: '6d2231e4-0975-4f35-a94f-56738c1a8150', open: async () => null },
    { device: '/dev/my-vg/root', kind: 'lv', vg: 'my-vg', lv: 'root', open: async () => null },
  ];
  it('keeps real filesystems and drops swap, pseudo filesystems and removable media', () => {
    const t = 'UUID=x / ext4 defaults 0 1\nproc /proc proc defaults 0 0\n/dev/sda3 none swap sw 0 0\n/dev/cdrom /media/cdrom auto ro 0 0\nLABEL=my\\040data /srv/my\\040data xfs defaults 0 0\n';
    expect(parseFstab(t).map((e) => [e.spec, e.mountpoint])).toEqual([
      ['UUID=x', '/'],
      ['LABEL=my data', '/srv/my data'],
    ]);
  });
  it('resolves UUID=, LABEL=, PARTUUID=, by-uuid, mapper and device names', () => {
    const dev = (s: string) => resolveSpec(s, vols)?.device;
    expect(dev('UUID=6D2231E4-0975-4F35-A94F-56738C1A8150')).toBe('/dev/sda2');
    expect(dev('LABEL=BOOT')).toBe('/dev/sda1');
    expect(dev('PARTUUID=1234abcd-01')).toBe('/dev/sda1');
    expect(dev('/dev/disk/by-uuid/AB12-CD34')).toBe('/dev/sda1');
    expect(dev('/dev/mapper/my--vg-root')).toBe('/dev/my-vg/root');
    expect(dev('/dev/my-vg/root')).toBe('/dev/my-vg/root');
    expect(dev('/dev/xvda2')).toBe('/dev/sda2');
    expect(dev('/dev/vda1')).toBe('/dev/sda1');
    expect(dev('UUID=nope')).toBeUndefined();
  });
});

describe('architecture from the ELF header', () => {
  it('reads e_machine as file(1) does', () => {
    requireTools('file');
    const k = miniKernel('6.1.0', false);
    expect(elfArchitecture(k)).toBe('x86_64');
    const path = `${tmp.path}/elf${n++}`;
    writeFileSync(path, k);
    expect(exec('file', ['-b', path]).stdout).toContain('x86-64');
    const head = Buffer.from(k.subarray(0, 64));
    head.writeUInt16LE(0xb7, 18);
    expect(elfArchitecture(head)).toBe('aarch64');
    head.writeUInt16LE(0x03, 18);
    head[4] = 1;
    expect(elfArchitecture(head)).toBe('i386');
    expect(elfArchitecture(Buffer.from('#!/bin/sh\n'.padEnd(64)))).toBeUndefined();
  });
});

describe('inspect', () => {
  it('finds two operating systems on one disk with their filesystems, hostname and arch', async () => {
    const mk = (name: string, id: string, ver: string) =>
      writeTree(`${tmp.path}/${name}`, {
        files: { '/etc/os-release': `ID=${id}\nVERSION_ID="${ver}"\nPRETTY_NAME="${name}"\n`, '/etc/hostname': `${name}\n`, '/etc/fstab': `LABEL=${name} / ext4 defaults 0 1\n`, '/bin/bash': miniKernel('x', false) },
        links: {},
      });
    const img = buildImage({
      dir: `${tmp.path}/multi`,
      name: 'm',
      table: 'gpt',
      format: 'qcow2',
      partitions: [
        { sizeMiB: 16, fs: 'ext4', tree: mk('alpha', 'ubuntu', '22.04'), label: 'alpha' },
        { sizeMiB: 16, fs: 'ext4', tree: mk('beta', 'fedora', '39'), label: 'beta' },
      ],
    });
    const r = await inspectImage({ image: img.path });
    expect(r.operatingSystems.map((o) => [o.root, o.distro, o.hostname, o.arch, o.majorVersion, o.minorVersion])).toEqual([
      ['/dev/sda1', 'ubuntu', 'alpha', 'x86_64', 22, 4],
      ['/dev/sda2', 'fedora', 'beta', 'x86_64', 39, 0],
    ]);
    const blkid = exec('blkid', ['-p', '-o', 'export', '--offset', String(1024 * 1024), img.rawPath], { allowFailure: true }).stdout;
    const uuid = /^UUID=(.*)$/m.exec(blkid)?.[1];
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.operatingSystems[0]?.filesystems).toEqual([{ device: '/dev/sda1', type: 'ext4', label: 'alpha', uuid }]);
  });
});
