import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '@xenkit/fixtures';

/** One node of a tree mkfs.xfs writes from a protofile (`-p`), without mounting anything. */
export type ProtoNode =
  | { kind: 'file'; content: Uint8Array | string; mode?: number; uid?: number; gid?: number; setuid?: boolean }
  | { kind: 'dir'; entries: Record<string, ProtoNode>; mode?: number; uid?: number; gid?: number; setgid?: boolean }
  | { kind: 'symlink'; target: string }
  | { kind: 'char'; major: number; minor: number }
  | { kind: 'fifo' };

const perm = (m: number | undefined, dflt: number): string => ((m ?? dflt) & 0o777).toString(8).padStart(3, '0');

// Protofile (mkfs.xfs(8)): a boot-image line, a blocks/inodes line, the root's mode/uid/gid, then one
// line per entry — name, a 6-character mode (type, setuid, setgid, 3 octal digits), uid, gid and a
// source file, link target or device numbers — with "$" closing each directory.
function protoLines(node: Extract<ProtoNode, { kind: 'dir' }>, srcDir: string, counter: { n: number }, out: string[]): void {
  for (const [name, child] of Object.entries(node.entries)) {
    if (child.kind === 'dir') {
      out.push(`${name} d${child.setgid ? '-g' : '--'}${perm(child.mode, 0o755)} ${child.uid ?? 0} ${child.gid ?? 0}`);
      protoLines(child, srcDir, counter, out);
    } else if (child.kind === 'file') {
      const src = join(srcDir, `f${counter.n++}`);
      writeFileSync(src, child.content);
      out.push(`${name} -${child.setuid ? 'u' : '-'}-${perm(child.mode, 0o644)} ${child.uid ?? 0} ${child.gid ?? 0} ${src}`);
    } else if (child.kind === 'symlink') {
      out.push(`${name} l--777 0 0 ${child.target}`);
    } else if (child.kind === 'char') {
      out.push(`${name} c--666 0 0 ${child.major} ${child.minor}`);
    } else {
      out.push(`${name} p--644 0 0`);
    }
  }
  out.push('$');
}

/** Build an XFS image of `sizeMiB` holding `root`, through `mkfs.xfs -p`; returns its path. */
export function buildXfs(dir: string, name: string, root: Extract<ProtoNode, { kind: 'dir' }>, sizeMiB: number, mkfsArgs: string[] = []): string {
  const srcDir = join(dir, `${name}-src`);
  mkdirSync(srcDir, { recursive: true });
  const lines = ['/dev/null', '0 0', `d--${perm(root.mode, 0o755)} ${root.uid ?? 0} ${root.gid ?? 0}`];
  protoLines(root, srcDir, { n: 0 }, lines);
  const proto = join(dir, `${name}.proto`);
  writeFileSync(proto, `${lines.join('\n')}\n`);
  const img = join(dir, `${name}.img`);
  exec('truncate', ['-s', `${sizeMiB}M`, img]);
  // xfsprogs refuses filesystems under 300 MiB unless it believes it runs under its own test suite.
  exec('mkfs.xfs', ['-q', ...mkfsArgs, '-p', proto, img], { env: { ...process.env, TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' } });
  return img;
}
