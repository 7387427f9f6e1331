// `npm run bench -- image-check`: `xenkit check` on a ~4 GiB Debian-like sparse image, node start-up
// included, with the bytes it read; against virt-inspector on the same image when libguestfs is
// installed. Targets: ≥ 100× faster than virt-inspector, reading ≤ 1 % of the image's allocated data.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocatedBytes, buildImage, ensureDebianKernel, kernelVersionString, tempDir, which } from '@xenkit/fixtures';
import { goodDebian, ROOT_UUID, writeTree, type TreeSpec } from '../src/test-helpers/trees.js';

const RUNS = 11;
const tmp = tempDir('xenkit-bench-check-');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; stdout: string; status: number; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

/** The inventory fields both tools report, compared element by element. */
function compareInventories(theirs: string, ours: string): string {
  const fields = ['root', 'name', 'arch', 'distro', 'product_name', 'major_version', 'minor_version', 'package_format', 'package_management', 'hostname', 'osinfo'];
  const pick = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
  const apps = (xml: string) => [...xml.matchAll(/<application>\s*<name>([^<]*)<\/name>/g)].map((m) => m[1]).join(',');
  const diffs = fields.filter((f) => pick(theirs, f) !== pick(ours, f)).map((f) => `${f}: virt-inspector ${pick(theirs, f)} vs xenkit ${pick(ours, f)}`);
  if (apps(theirs) !== apps(ours)) diffs.push('application lists differ');
  return diffs.length === 0 ? `inventories agree (${fields.length} fields, ${apps(ours).split(',').length} applications)` : `DIFFERENCES: ${diffs.join('; ')}`;
}

try {
  // A Debian-like root: the guide-compliant tree with Debian's real cloud kernel (a 14 MB lz4 bzImage,
  // the one `npm run fixtures` pins) as its default boot entry, ~600 packages in dpkg status and ~1 GiB
  // of ordinary files, in one ext4 partition of a 4 GiB sparse disk.
  const debian = ensureDebianKernel();
  const kernel = readFileSync(debian.vmlinuz);
  const release = (kernelVersionString(kernel) ?? '').split(' ')[0] as string;
  const base = goodDebian();
  const status = Array.from({ length: 600 }, (_, i) => `Package: pkg${i}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.${i}-1\nDescription: package ${i}\n ${'long description '.repeat(40)}\n\n`).join('');
  // The tree names its kernel 6.1.0-18-amd64 everywhere (grub.cfg, /vmlinuz, dpkg): rename it to the real one.
  const rename = (text: string) => text.replaceAll('6.1.0-18-amd64', release);
  const spec: TreeSpec = { files: {}, links: {}, ...(base.modes ? { modes: base.modes } : {}) };
  for (const [path, content] of Object.entries(base.files)) spec.files[rename(path)] = typeof content === 'string' ? rename(content) : content;
  for (const [path, target] of Object.entries(base.links)) spec.links[rename(path)] = rename(target);
  spec.files[`/boot/vmlinuz-${release}`] = kernel;
  spec.files['/var/lib/dpkg/status'] = `${spec.files['/var/lib/dpkg/status'] as string}${status}`;
  const dir = writeTree(join(tmp.path, 'root'), spec);
  mkdirSync(join(dir, 'usr/share/bulk'), { recursive: true });
  const chunk = Buffer.alloc(16 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let i = 0; i < 64; i++) writeFileSync(join(dir, `usr/share/bulk/blob${i}`), chunk);
  process.stdout.write('building a 4 GiB image with ~1 GiB of data (mke2fs -d)…\n');
  const img = buildImage({ dir: join(tmp.path, 'img'), name: 'debian', table: 'mbr', sizeMiB: 4096, partitions: [{ sizeMiB: 4094, fs: 'ext4', tree: dir, uuid: ROOT_UUID }] });
  const allocated = allocatedBytes(img.path);
  // Let the gigabyte just written reach the disk first, so neither tool is timed against writeback.
  time('sync', []);

  // The CLI as installed (`bin`) and as `npm start` runs it: the bundle behind its V8 code-cache loader.
  // The first run writes the cache and is reported as the cold number; the timed runs follow.
  // Built by running its build script, not by importing it: the CLI depends on image-check, never the reverse.
  const built = time(process.execPath, [join(import.meta.dirname, '../../../apps/cli/build/bundle.mjs')]);
  if (built.status !== 0) throw new Error(`building the CLI bundle failed: ${built.stderr}`);
  const main = built.stdout.trim();
  const cold = time(process.execPath, [main, '--json', 'check', img.path]);
  const runs = Array.from({ length: RUNS }, () => time(process.execPath, [main, '--json', 'check', img.path]));
  const last = runs[runs.length - 1] as { stdout: string; stderr: string; status: number };
  const report = JSON.parse(last.stdout) as { verdict: string; source: { bytesRead?: number }; checks: { id: string; status: string }[] };
  const bytesRead = report.source.bytesRead ?? NaN;
  const ms = median(runs.map((r) => r.ms));
  const lines = [
    `image: 4 GiB virtual, ${(allocated / 2 ** 20).toFixed(0)} MiB allocated`,
    `xenkit check: ${ms.toFixed(0)} ms wall (median of ${RUNS}, node start included; first run ${cold.ms.toFixed(0)} ms, writing the code cache), verdict ${report.verdict}, ${report.checks.map((c) => `${c.id}=${c.status}`).join(' ')}`,
    `kernel: Debian ${debian.package} ${debian.version} (${(kernel.length / 2 ** 20).toFixed(1)} MiB, ${debian.codec})`,
    `bytes read: ${(bytesRead / 2 ** 20).toFixed(2)} MiB = ${((100 * bytesRead) / allocated).toFixed(3)} % of allocated data (target ≤ 1 %)`,
  ];
  const vi = which('virt-inspector');
  if (vi) {
    // Without a host kernel the appliance is built from the Debian kernel above
    // (tools/scripts/libguestfs-setup.sh installs its modules). Without usable KVM (a Xen dom0, a
    // container) libguestfs must emulate: KVM is tried first, TCG only when it fails.
    const hostKernel = existsSync('/boot') && readdirSync('/boot').some((f) => f.startsWith('vmlinuz'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LIBGUESTFS_BACKEND: process.env.LIBGUESTFS_BACKEND ?? 'direct',
      ...(hostKernel || process.env.SUPERMIN_KERNEL ? {} : { SUPERMIN_KERNEL: debian.vmlinuz, SUPERMIN_MODULES: `/lib/modules/${release}` }),
    };
    let peer = time(vi, ['--format=raw', '-a', img.path], env);
    if (peer.status !== 0 && !env.LIBGUESTFS_BACKEND_SETTINGS) {
      lines.push(`virt-inspector with KVM failed (${peer.stderr.trim().split('\n').at(-1)}); measuring it with TCG (force_tcg), as on a machine without KVM`);
      env.LIBGUESTFS_BACKEND_SETTINGS = 'force_tcg';
      peer = time(vi, ['--format=raw', '-a', img.path], env);
    }
    if (peer.status !== 0) {
      lines.push(`virt-inspector failed (exit ${peer.status}): ${peer.stderr.trim().split('\n')[0]} — on a machine without a host kernel run tools/scripts/libguestfs-setup.sh as root first`);
    } else {
      // The peer's best of two runs (its appliance cache is warm by then), against xenkit's median.
      const again = time(vi, ['--format=raw', '-a', img.path], env);
      if (again.status === 0 && again.ms < peer.ms) peer = again;
      lines.push(`virt-inspector: ${peer.ms.toFixed(0)} ms (best of 2) → xenkit check is ${(peer.ms / ms).toFixed(0)}× faster (target ≥ 100×)`);
      const ours = time(process.execPath, [main, 'inspect', '--xml', img.path]);
      lines.push(`xenkit inspect --xml: ${ours.ms.toFixed(0)} ms → ${(peer.ms / ours.ms).toFixed(0)}× faster than virt-inspector; ${compareInventories(peer.stdout, ours.stdout)}`);
    }
  } else {
    lines.push('virt-inspector: not installed — measured xenkit alone; run tools/scripts/libguestfs-setup.sh (as root) to compare');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  if (process.env.BENCH_KEEP) process.stdout.write(`kept ${tmp.path} (BENCH_KEEP)\n`);
  else tmp.cleanup();
}
