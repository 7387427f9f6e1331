import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exec, tempDir } from '@xenkit/fixtures';

/**
 * A minimal guest root tree: root and bob (uid 1000) with homes, passwd/shadow/group. The tree is
 * world-traversable so writer children running as bob can reach it, as on a real guest.
 */
export function makeGuestTree(): { root: string; cleanup: () => void } {
  const dir = tempDir('xenkit-agent-tree-');
  chmodSync(dir.path, 0o755);
  const root = dir.path;
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob:/home/bob:/bin/bash\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nbob:!:19000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nbob:x:1000:\n');
  mkdirSync(join(root, 'root'), { mode: 0o700 });
  mkdirSync(join(root, 'home/bob'), { recursive: true, mode: 0o755 });
  chownSync(join(root, 'home/bob'), 1000, 1000);
  return { root, cleanup: dir.cleanup };
}

/** A fresh OpenSSH public key line made by ssh-keygen. */
export function genKey(comment: string, type = 'ed25519'): string {
  const dir = tempDir('xenkit-key-');
  try {
    exec('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', join(dir.path, 'k')]);
    return readFileSync(join(dir.path, 'k.pub'), 'utf8').trim();
  } finally {
    dir.cleanup();
  }
}

/**
 * Copies host binaries and the shared libraries `ldd` names into the tree at the same paths, plus a
 * real /dev/null (sh redirects background jobs to it), so a script can run inside `chroot ROOT`.
 */
export function addBinaries(root: string, binaries: readonly string[]): void {
  const files = new Set<string>();
  for (const bin of binaries) {
    files.add(bin);
    for (const m of exec('ldd', [realpathSync(bin)]).stdout.matchAll(/(\/\S+) \(0x/g)) files.add(m[1] as string);
  }
  for (const f of files) {
    const dest = join(root, f);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(f), dest);
    chmodSync(dest, 0o755);
  }
  mkdirSync(join(root, 'dev'), { recursive: true });
  if (!existsSync(join(root, 'dev/null'))) exec('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
}
