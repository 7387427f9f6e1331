import { buildTree } from '@xenkit/fixtures';

/**
 * A small Debian 12 root for command tests: sshd enabled, ufw on, no cloud-init and no boot loader,
 * and one package in dpkg's database.
 */
export function debianTree(dir: string): string {
  return buildTree(dir, {
    '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    '/etc/debian_version': '12.4\n',
    '/etc/hostname': 'web1\n',
    '/etc/fstab': 'LABEL=root / ext4 defaults 0 1\n',
    '/bin': { symlink: 'usr/bin' },
    '/usr/bin/ls': '',
    '/usr/sbin/sshd': '',
    '/lib/systemd/system/ssh.service': '[Unit]\n',
    '/etc/systemd/system/multi-user.target.wants/ssh.service': { symlink: '/lib/systemd/system/ssh.service' },
    '/etc/ufw/ufw.conf': 'ENABLED=yes\n',
    '/var/lib/dpkg/status': 'Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\nArchitecture: amd64\nDescription: secure shell server\n',
  });
}
