import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { parsePacmanDesc } from './pacman.js';

const tmp = tempDir('xenkit-apps-');
afterAll(() => tmp.cleanup());

const STATUS = `Package: openssh-server
Status: install ok installed
Priority: optional
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server, for secure access from remote machines
 This is the portable version of OpenSSH.
 .
 Second paragraph.
Homepage: https://www.openssh.com/

Package: old-removed
Status: deinstall ok config-files
Architecture: all
Version: 1.0-1
Description: left-over config

Package: cloud-init
Status: install ok installed
Architecture: all
Version: 22.4.2-1+deb12u1
Description: initialization and customization tool for cloud instances

Package: half-done
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1
Description: interrupted unpack

Package: libc6
Status: hold ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
`;

describe('dpkg status', () => {
  it('lists exactly the packages dpkg-query reports as installed, with epoch/version/release split', () => {
    requireTools('dpkg-query');
    const admin = `${tmp.path}/dpkg`;
    mkdirSync(`${admin}/info`, { recursive: true });
    writeFileSync(`${admin}/status`, STATUS);
    writeFileSync(`${admin}/available`, '');
    const real = exec('dpkg-query', [`--admindir=${admin}`, '-W', '-f', '${db:Status-Status} ${Package} ${Version}\\n'])
      .stdout.trim()
      .split('\n')
      .filter((l) => l.startsWith('installed '))
      .map((l) => l.split(' ').slice(1).join(' '))
      .sort();
    const apps = parseDpkgStatus(STATUS);
    const ours = apps.map((a) => `${a.name} ${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}`).sort();
    expect(ours).toEqual(real);
    expect(apps[0]).toMatchObject({ name: 'openssh-server', epoch: 1, version: '9.2p1', release: '2+deb12u2', arch: 'amd64', sourcePackage: 'openssh', url: 'https://www.openssh.com/' });
    expect(apps[0]?.description).toBe('This is the portable version of OpenSSH.\n\nSecond paragraph.');
  });
});

describe('apk and pacman databases', () => {
  it('parses /lib/apk/db/installed records', () => {
    const db = 'C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nT:the musl c library\nU:https://musl.libc.org/\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\n';
    expect(parseApkInstalled(db)).toEqual([
      { name: 'musl', version: '1.2.4_git20230717', release: 'r4', arch: 'x86_64', summary: 'the musl c library', url: 'https://musl.libc.org/' },
      { name: 'busybox', version: '1.36.1', release: 'r15', arch: 'x86_64' },
    ]);
  });
  it('parses a pacman local desc', () => {
    const desc = '%NAME%\nopenssh\n\n%VERSION%\n1:9.6p1-1\n\n%DESC%\nSSH protocol implementation\n\n%ARCH%\nx86_64\n';
    expect(parsePacmanDesc(desc)).toEqual({ name: 'openssh', epoch: 1, version: '9.6p1', release: '1', arch: 'x86_64', summary: 'SSH protocol implementation' });
  });
});
