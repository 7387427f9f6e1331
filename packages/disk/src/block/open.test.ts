import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisk, type Disk } from './open.js';
import { expectMatchesQemu } from './test-helpers/compare.js';
import { qemuInfo } from './test-helpers/qemu.js';
import { writeBaseRaw } from './test-helpers/content.js';

const MiB = 1024 * 1024;

async function withDisk<T>(path: string, fn: (d: Disk) => Promise<T>): Promise<T> {
  const d = await openDisk(path);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

describe('openDisk against qemu-img', () => {
  const tmp = tempDir('xenkit-formats-');
  const p = (n: string): string => join(tmp.path, n);
  beforeAll(() => {
    requireTools('qemu-img', 'qemu-io');
    writeBaseRaw(p('base.raw'));
    const q = (...args: string[]): void => void exec('qemu-img', args);
    q('convert', '-O', 'qcow2', '-o', 'compat=0.10', p('base.raw'), p('v2.qcow2'));
    q('convert', '-O', 'qcow2', '-o', 'compat=1.1,cluster_size=4096', p('base.raw'), p('v3.qcow2'));
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -z 10M 512k', '-c', 'write -z -u 12M 64k', '-c', 'discard 3M 64k', p('v3.qcow2')]);
    q('convert', '-c', '-O', 'qcow2', p('base.raw'), p('zlib.qcow2'));
    q('convert', '-c', '-O', 'qcow2', '-o', 'compression_type=zstd', p('base.raw'), p('zstd.qcow2'));
    q('convert', '-O', 'vpc', '-o', 'subformat=fixed', p('base.raw'), p('fixed.vhd'));
    q('convert', '-O', 'vpc', '-o', 'subformat=dynamic', p('base.raw'), p('dynamic.vhd'));
    // A 3-layer chain with relative backing names in its own directory; the top is larger than the base.
    mkdirSync(p('chain'));
    q('convert', '-O', 'qcow2', p('base.raw'), p('chain/base.qcow2'));
    q('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=16384', '-b', 'base.qcow2', '-F', 'qcow2', p('chain/mid.qcow2'));
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xaa 2M 100k', '-c', 'write -P 0x55 11M 64k', p('chain/mid.qcow2')]);
    q('create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', p('chain/top.qcow2'), '32M');
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x11 0 4k', '-c', 'write -z 10M 1M', '-c', 'write -P 0x22 30M 128k', p('chain/top.qcow2')]);
    // Cluster-size extremes (512 B and 2 MiB, compressed), an internal snapshot, a VHD under a qcow2.
    q('convert', '-O', 'qcow2', '-o', 'cluster_size=512', p('base.raw'), p('c512.qcow2'));
    q('convert', '-c', '-O', 'qcow2', '-o', 'cluster_size=2M', p('base.raw'), p('c2m-zlib.qcow2'));
    q('convert', '-O', 'qcow2', p('base.raw'), p('snap.qcow2'));
    q('snapshot', '-c', 'before', p('snap.qcow2'));
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x77 1M 1M', '-c', 'write -z 10M 64k', p('snap.qcow2')]);
    q('create', '-q', '-f', 'qcow2', '-b', 'dynamic.vhd', '-F', 'vpc', p('over-vhd.qcow2'));
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x44 100k 8k', p('over-vhd.qcow2')]);
    // A raw base under a qcow2 overlay (declared raw).
    q('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', p('over-raw.qcow2'));
    exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x33 5M 1M', p('over-raw.qcow2')]);
  });
  afterAll(() => tmp.cleanup());

  it('raw', async () => {
    await withDisk(p('base.raw'), async (d) => {
      expect(d.format).toBe('raw');
      await expectMatchesQemu(d, p('base.raw'), tmp.path);
    });
  });

  it.each(['v2.qcow2', 'v3.qcow2', 'zlib.qcow2', 'zstd.qcow2', 'c512.qcow2', 'c2m-zlib.qcow2', 'snap.qcow2'])('qcow2 %s', async (name) => {
    await withDisk(p(name), async (d) => {
      expect(d.format).toBe('qcow2');
      expect(d.chain).toHaveLength(1);
      await expectMatchesQemu(d, p(name), tmp.path);
      if (name.includes('zlib') || name.includes('zstd')) {
        // qemu-img map lists compressed clusters as data without a host offset: make sure there are some.
        const map = JSON.parse(exec('qemu-img', ['map', '--output=json', p(name)]).stdout) as { data: boolean; offset?: number }[];
        expect(map.filter((e) => e.data && e.offset === undefined).length).toBeGreaterThan(0);
        expect(qemuInfo(p(name))['format-specific']?.data?.['compression-type']).toBe(name.includes('zlib') ? 'zlib' : 'zstd');
      }
    });
  });

  it('v3 zero clusters read as zeros and map as zero', async () => {
    await withDisk(p('v3.qcow2'), async (d) => {
      const z = await d.read(10 * MiB, 512 * 1024);
      expect(z.every((b) => b === 0)).toBe(true);
      expect((await d.extents()).some((e) => e.kind === 'zero' && e.offset <= 10 * MiB && e.offset + e.length >= 10.5 * MiB)).toBe(true);
    });
  });

  it('a 3-layer relative backing chain, top larger than base', async () => {
    await withDisk(p('chain/top.qcow2'), async (d) => {
      expect(d.chain.map((l) => [l.path.split('/').pop(), l.format, l.backingFile])).toEqual([
        ['top.qcow2', 'qcow2', 'mid.qcow2'],
        ['mid.qcow2', 'qcow2', 'base.qcow2'],
        ['base.qcow2', 'qcow2', null],
      ]);
      expect(d.size).toBe(32 * MiB);
      await expectMatchesQemu(d, p('chain/top.qcow2'), tmp.path);
      expect(d.bytesRead).toBeGreaterThan(0);
    });
  });

  it('qcow2 over a declared raw backing file', async () => {
    await withDisk(p('over-raw.qcow2'), async (d) => {
      expect(d.chain.map((l) => l.format)).toEqual(['qcow2', 'raw']);
      await expectMatchesQemu(d, p('over-raw.qcow2'), tmp.path);
    });
  });

  it('qcow2 over a VHD declared as "vpc"', async () => {
    await withDisk(p('over-vhd.qcow2'), async (d) => {
      expect(d.chain.map((l) => [l.format, l.backingFormat])).toEqual([
        ['qcow2', 'vhd'],
        ['vhd', null],
      ]);
      await expectMatchesQemu(d, p('over-vhd.qcow2'), tmp.path);
    });
  });

  it('VHD fixed (qemu must be told -f vpc: it probes only the cookie at offset 0)', async () => {
    await withDisk(p('fixed.vhd'), async (d) => {
      expect(d.format).toBe('vhd');
      // qemu-img convert writes the fixed image sparse; make it dense so qemu-img map reports data like we do.
      writeFileSync(p('fixed-dense.vhd'), readFileSync(p('fixed.vhd')));
      await expectMatchesQemu(d, p('fixed.vhd'), tmp.path, { qemuFormat: 'vpc', extents: false });
    });
    await withDisk(p('fixed-dense.vhd'), (d) => expectMatchesQemu(d, p('fixed-dense.vhd'), tmp.path, { qemuFormat: 'vpc' }));
  });

  it('VHD dynamic', async () => {
    await withDisk(p('dynamic.vhd'), async (d) => {
      expect(d.format).toBe('vhd');
      await expectMatchesQemu(d, p('dynamic.vhd'), tmp.path);
    });
  });

  it('parallel reads return what sequential reads return (shared table caches)', async () => {
    for (const name of ['chain/top.qcow2', 'zstd.qcow2', 'dynamic.vhd']) {
      const offs = Array.from({ length: 64 }, (_, i) => ((i * 2654435761) >>> 0) % (20 * MiB));
      const seq = await withDisk(p(name), async (d) => {
        const out: Buffer[] = [];
        for (const o of offs) out.push(Buffer.from(await d.read(o, 70_000)));
        return out;
      });
      const par = await withDisk(p(name), (d) => Promise.all(offs.map(async (o) => Buffer.from(await d.read(o, 70_000)))));
      expect(par.every((b, i) => b.equals(seq[i] as Buffer)), name).toBe(true);
    }
  });

  it('syncReads: blocking reads return the same bytes, and count them the same, on every format', async () => {
    const offs = Array.from({ length: 48 }, (_, i) => ((i * 2654435761) >>> 0) % (20 * MiB));
    for (const name of ['base.raw', 'chain/top.qcow2', 'zstd.qcow2', 'dynamic.vhd', 'over-vhd.qcow2']) {
      const read = async (syncReads: boolean) => {
        const d = await openDisk(p(name), { syncReads });
        try {
          const out: Buffer[] = [];
          for (const o of offs) out.push(Buffer.from(await d.read(o, 70_000)));
          return { out, bytesRead: d.bytesRead };
        } finally {
          await d.close();
        }
      };
      const [a, b] = [await read(false), await read(true)];
      expect(b.out.every((x, i) => x.equals(a.out[i] as Buffer)), name).toBe(true);
      expect(b.bytesRead, name).toBe(a.bytesRead);
    }
  });

  it('reads only what it needs: opening a chain and one 4 KiB read stay small', async () => {
    await withDisk(p('chain/top.qcow2'), async (d) => {
      const before = d.bytesRead;
      expect(before).toBeLessThan(3 * 8192); // three headers and L1 tables
      await d.read(11 * MiB, 4096);
      expect(d.bytesRead - before).toBeLessThan(3 * 64 * 1024 + 3 * 4096 + 16384);
    });
  });
});
