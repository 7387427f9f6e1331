/**
 * A small Debian 12 root for command tests: sshd enabled, ufw on, no cloud-init and no boot loader,
 * and one package in dpkg's database.
 */
export declare function debianTree(dir: string): string;
//# sourceMappingURL=debian-tree.d.ts.map