// Random 4 KiB reads through qcow2 and VHD against raw, on the same 2 GiB sparse content.
// Goal: qcow2 and VHD within 2× of raw (xenkit's own raw reader, same process, same offsets).
// Peer: qemu-io reading the same offsets from each image (one process, commands on stdin).
import { openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exec, requireTools, rng, tempDir } from '@xenkit/fixtures';
import { openDisk } from '@xenkit/disk';

const MiB = 1024 * 1024;
const SIZE = 2048 * MiB;
const READS = 20_000;

requireTools('qemu-img', 'qemu-io');
const tmp = tempDir('xenkit-bench-formats-');
const p = (n: string): string => join(tmp.path, n);
try {
  // 128 scattered 1 MiB data chunks in a 2 GiB sparse raw file.
  const r = rng(42).next;
  const chunks = new Set<number>();
  while (chunks.size < 128) chunks.add(Math.floor(r() * (SIZE / MiB)));
  const fd = openSync(p('disk.raw'), 'w');
  ftruncateSync(fd, SIZE);
  const data = Buffer.alloc(MiB);
  for (const c of chunks) {
    for (let i = 0; i < MiB; i += 4) data.writeUInt32LE((c * 2654435761 + i) >>> 0, i);
    writeSync(fd, data, 0, MiB, c * MiB);
  }
  closeSync(fd);
  exec('qemu-img', ['convert', '-O', 'qcow2', p('disk.raw'), p('disk.qcow2')]);
  exec('qemu-img', ['convert', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', p('disk.raw'), p('disk.vhd')]);

  // Offsets: half inside data chunks, half anywhere (holes), 4 KiB aligned.
  const list = [...chunks];
  const inData = (): number => (list[Math.floor(r() * list.length)] as number) * MiB + Math.floor(r() * 256) * 4096;
  const scenarios: [string, number[]][] = [
    ['all reads hit data', Array.from({ length: READS }, inData)],
    ['half data, half holes', Array.from({ length: READS }, (_, i) => (i % 2 === 0 ? inData() : Math.floor(r() * (SIZE / 4096)) * 4096))],
  ];
  let offsets: number[] = [];

  // Best of three passes: the machine is shared, and the minimum is the least disturbed measurement.
  async function xenkit(path: string): Promise<{ perRead: number; bytesRead: number }> {
    const d = await openDisk(path);
    try {
      for (const o of offsets) await d.read(o, 4096); // warm page cache and tables
      let best = Infinity;
      let bytes = 0;
      for (let pass = 0; pass < 3; pass++) {
        const before = d.bytesRead;
        const t = performance.now();
        for (const o of offsets) await d.read(o, 4096);
        best = Math.min(best, (performance.now() - t) / READS);
        bytes = d.bytesRead - before;
      }
      return { perRead: best, bytesRead: bytes };
    } finally {
      await d.close();
    }
  }

  async function nodePread(path: string): Promise<number> {
    const h = await open(path, 'r');
    const buf = Buffer.alloc(4096);
    try {
      for (const o of offsets) await h.read(buf, 0, 4096, o);
      let best = Infinity;
      for (let pass = 0; pass < 3; pass++) {
        const t = performance.now();
        for (const o of offsets) await h.read(buf, 0, 4096, o);
        best = Math.min(best, (performance.now() - t) / READS);
      }
      return best;
    } finally {
      await h.close();
    }
  }

  function qemuIo(path: string, fmt: string): number {
    const cmds = offsets.map((o) => `read -q ${o} 4k`).join('\n') + '\nquit\n';
    exec('qemu-io', ['-f', fmt, path], { input: cmds }); // warm
    let best = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      const t = performance.now();
      exec('qemu-io', ['-f', fmt, path], { input: cmds });
      best = Math.min(best, (performance.now() - t) / READS);
    }
    return best;
  }

  for (const [scenario, offs] of scenarios) {
    offsets = offs;
    const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
    const rawNode = await nodePread(p('disk.raw'));
    const raw = await xenkit(p('disk.raw'));
    const qcow2 = await xenkit(p('disk.qcow2'));
    const vhd = await xenkit(p('disk.vhd'));
    const peers = { raw: qemuIo(p('disk.raw'), 'raw'), qcow2: qemuIo(p('disk.qcow2'), 'qcow2'), vhd: qemuIo(p('disk.vhd'), 'vpc') };

    console.log(`random 4 KiB reads, ${READS} per image, 2 GiB virtual, 128 MiB data — ${scenario} (per read, lower is better)`);
    console.log(`  node fs pread on raw          ${us(rawNode)}`);
    const rows: [string, { perRead: number; bytesRead: number }, number][] = [
      ['raw', raw, peers.raw],
      ['qcow2', qcow2, peers.qcow2],
      ['vhd', vhd, peers.vhd],
    ];
    for (const [name, x, peer] of rows) {
      console.log(
        `  xenkit ${name.padEnd(6)} ${us(x.perRead).padStart(10)}  ${(x.perRead / raw.perRead).toFixed(2)}× xenkit raw (goal ≤ 2×)` +
          `   qemu-io ${us(peer).padStart(10)}  xenkit/qemu-io ${(x.perRead / peer).toFixed(2)}×   host bytes ${(x.bytesRead / MiB).toFixed(1)} MiB`,
      );
    }
  }
} finally {
  tmp.cleanup();
}
