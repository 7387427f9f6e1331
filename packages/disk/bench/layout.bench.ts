// Probe the layout of a 4 GiB sparse image (MBR: ext4 root + LVM PV holding an ext4 LV and swap):
// xenkit's probeDisk (wall time, bytes read) against what the standard tools need for the same answer
// — `sfdisk --json` for the table plus `blkid -p` on the disk and on every partition and LV — in one run.
import { performance } from 'node:perf_hooks';
import { buildImage, buildTree, exec, requireTools, tempDir } from '@xenkit/fixtures';
import { RawSource, openExtFileSystem, probeDisk } from '../src/index.js';

const RUNS = 15;
const GiB = 1024 ** 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

requireTools('sfdisk', 'blkid', 'mke2fs', 'pvcreate', 'qemu-img', 'debugfs');
const tmp = tempDir('xenkit-bench-layout-');
try {
  const img = buildImage({
    dir: tmp.path,
    name: 'bench4g',
    table: 'mbr',
    sizeMiB: 4096,
    partitions: [
      { sizeMiB: 1024, fs: 'ext4', bootable: true, tree: buildTree(`${tmp.path}/tree`, { 'etc/fstab': 'LABEL=root / ext4 defaults 0 1\n' }) },
      { sizeMiB: 3000, fs: 'lvm' },
    ],
    lvm: { vg: 'benchvg', lvs: [{ name: 'root', sizeMiB: 2048, fs: 'ext4' }, { name: 'swap', sizeMiB: 512, fs: 'swap' }] },
  });
  const ours: number[] = [];
  let bytesRead = 0;
  let volumes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const src = await RawSource.open(img.rawPath);
    const layout = await probeDisk(src);
    await src.close();
    ours.push(performance.now() - t0);
    bytesRead = layout.bytesRead;
    volumes = layout.volumes.filter((v) => v.filesystem).length;
  }
  const targets = [0, ...img.partitions.map((p) => p.offset), ...img.lvs.map((l) => l.segments[0]?.offset ?? 0)];
  const peer: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    exec('sfdisk', ['--json', img.rawPath]);
    for (const off of targets) exec('blkid', ['-p', '-o', 'export', '-O', String(off), img.rawPath], { allowFailure: true });
    peer.push(performance.now() - t0);
  }
  // Open the ext4 on partition 1 and read one file, against debugfs doing the same from the image.
  const extTimes: number[] = [];
  let extBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const src = await RawSource.open(img.rawPath);
    const layout = await probeDisk(src);
    const fs = await openExtFileSystem(src, layout.volumes.find((v) => v.partition === 1));
    await fs.readFile('/etc/fstab');
    await fs.close();
    extBytes = src.bytesRead;
    await src.close();
    extTimes.push(performance.now() - t0);
  }
  const debugfs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    exec('debugfs', ['-R', 'cat /etc/fstab', `${img.rawPath}?offset=${img.partitions[0]?.offset}`]);
    debugfs.push(performance.now() - t0);
  }
  const o = median(ours);
  const p = median(peer);
  console.log(`image: ${img.size / GiB} GiB sparse raw, MBR + ext4 + LVM (2 LVs); ${volumes} volumes identified`);
  console.log(`xenkit probeDisk          median ${o.toFixed(2)} ms   bytes read ${bytesRead} (${(bytesRead / 1024).toFixed(1)} KiB; target <= 1 MiB: ${bytesRead <= 1024 * 1024 ? 'met' : 'MISSED'})`);
  console.log(`sfdisk --json + ${targets.length}x blkid -p  median ${p.toFixed(2)} ms`);
  console.log(`ratio peer/xenkit: ${(p / o).toFixed(1)}x`);
  const e = median(extTimes);
  const d = median(debugfs);
  console.log(`xenkit probe + open ext4 + read /etc/fstab  median ${e.toFixed(2)} ms, ${(extBytes / 1024).toFixed(1)} KiB read`);
  console.log(`debugfs -R 'cat /etc/fstab' IMG?offset=N   median ${d.toFixed(2)} ms   ratio debugfs/xenkit: ${(d / e).toFixed(1)}x`);
} finally {
  tmp.cleanup();
}
