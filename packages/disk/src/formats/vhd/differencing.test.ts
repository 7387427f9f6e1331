import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../block/open.js';
import { hashSource } from '../../block/test-helpers/compare.js';
import { patternBytes, qemuExtents, sha256File } from '../../block/test-helpers/qemu.js';
import { mergeKinds } from '../../block/test-helpers/qemu.js';
import { buildVhd, locator, type BuiltBlock } from '@xenkit/fixtures';

const MiB = 1024 * 1024;
const BLOCK = 2 * MiB;
const PY = '/usr/bin/python3'; // Debian's python, which has pyvhdi (python3-libvhdi)

/** libvhdi reads the child with its parent attached and writes the merged disk. */
const PYVHDI = `
import pyvhdi, sys
c = pyvhdi.file(); c.open(sys.argv[1])
p = pyvhdi.file(); p.open(sys.argv[2]); c.set_parent(p)
with open(sys.argv[3], 'wb') as out:
    size = c.get_media_size(); off = 0
    while off < size:
        n = min(1 << 20, size - off); out.write(c.read_buffer_at_offset(n, off)); off += n
`;

function bitmapWith(ranges: [number, number][]): Uint8Array {
  const b = new Uint8Array(512);
  for (const [from, to] of ranges) for (let s = from; s < to; s++) b[s >> 3] = (b[s >> 3] ?? 0) | (0x80 >> (s & 7));
  return b;
}

describe('VHD differencing (built by hand: qemu-img cannot create one; checked against libvhdi)', () => {
  const tmp = tempDir('xenkit-vhddiff-');
  const p = (n: string): string => join(tmp.path, n);
  let parentUuid: Buffer;
  let size: number;
  const blocks: BuiltBlock[] = [
    { index: 0, bitmap: bitmapWith([[0, 8], [100, 200]]), data: patternBytes(BLOCK, 11) },
    { index: 2, bitmap: bitmapWith([[0, 4096]]), data: patternBytes(BLOCK, 12) },
    { index: 3, bitmap: bitmapWith([]), data: patternBytes(BLOCK, 13) }, // allocated, but every sector is the parent's
  ];
  beforeAll(() => {
    requireTools('qemu-img', 'qemu-io', PY, 'vhdiinfo');
    exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', p('parent.vhd'), '10M']);
    exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x5a 0 1M', '-c', 'write -P 0x6b 6M 2M', p('parent.vhd')]);
    const parent = readFileSync(p('parent.vhd'));
    const footer = parent.subarray(parent.length - 512);
    parentUuid = Buffer.from(footer.subarray(68, 84));
    size = Number(footer.readBigUInt64BE(48));
    const child = (name: string, locs: { code: 'W2ku' | 'W2ru' | 'MacX'; data: Buffer }[], puuid = parentUuid, pname = 'parent.vhd'): void =>
      writeFileSync(p(name), buildVhd({ size, uuid: randomBytes(16), blocks, parent: { uuid: puuid, name: pname, locators: locs } }));
    child('child.vhd', [
      { code: 'W2ku', data: locator.w2ku('C:\\vms\\parent.vhd') },
      { code: 'W2ru', data: locator.w2ru('.\\parent.vhd') },
      { code: 'MacX', data: locator.macx('file://./parent.vhd') },
    ]);
    child('child-w2ru.vhd', [{ code: 'W2ru', data: locator.w2ru('.\\parent.vhd') }]);
    child('wrong-uuid.vhd', [{ code: 'MacX', data: locator.macx('file://./parent.vhd') }], randomBytes(16));
    child('self.vhd', [{ code: 'MacX', data: locator.macx('file://./self.vhd') }]);
    child('orphan.vhd', [{ code: 'MacX', data: locator.macx('file://./gone.vhd') }], parentUuid, 'gone.vhd');
    // Only the Windows absolute locator: its file name is looked up beside the child.
    child('w2ku-only.vhd', [{ code: 'W2ku', data: locator.w2ku('D:\\store\\parent.vhd') }], parentUuid, '');
  });
  afterAll(() => tmp.cleanup());

  it('libvhdi agrees it is a differencing disk of parent.vhd', () => {
    const info = exec('vhdiinfo', [p('child.vhd')]).stdout;
    expect(info).toMatch(/Disk type\s*:\s*Differential/i);
    expect(info).toContain(parentUuid.toString('hex').slice(0, 8));
  });

  it.each(['child.vhd', 'child-w2ru.vhd', 'w2ku-only.vhd'])('%s reads the same bytes as libvhdi', async (name) => {
    exec(PY, ['-c', PYVHDI, p(name), p('parent.vhd'), p(`${name}.libvhdi.raw`)]);
    const d = await openDisk(p(name));
    try {
      expect(d.chain.map((l) => [l.format, l.path.split('/').pop()])).toEqual([
        ['vhd', name],
        ['vhd', 'parent.vhd'],
      ]);
      expect(d.size).toBe(size);
      expect(await hashSource(d)).toBe(await sha256File(p(`${name}.libvhdi.raw`)));
      // And spot-check the semantics directly: child sectors, parent sectors, and an allocated-but-empty block.
      const want = readFileSync(p(`${name}.libvhdi.raw`));
      expect(Buffer.from(await d.read(0, 4096)).equals(want.subarray(0, 4096))).toBe(true);
      expect(Buffer.from(await d.read(0, 512)).equals(patternBytes(BLOCK, 11).subarray(0, 512))).toBe(true);
      expect(Buffer.from(await d.read(8 * 512, 512)).every((b) => b === 0x5a)).toBe(true);
      expect(Buffer.from(await d.read(6 * MiB, 4096)).every((b) => b === 0x6b)).toBe(true);
    } finally {
      await d.close();
    }
  });

  it('maps child sectors as data, the rest as the parent maps them', async () => {
    const parentMap = qemuExtents(p('parent.vhd'));
    const kindAt = (off: number): 'data' | 'zero' => {
      const blk = blocks.find((b) => b.index === Math.floor(off / BLOCK));
      const s = (off % BLOCK) / 512;
      if (blk && ((blk.bitmap[s >> 3] ?? 0) & (0x80 >> (s & 7)))) return 'data';
      return parentMap.find((e) => e.offset <= off && off < e.offset + e.length)?.kind ?? 'zero';
    };
    const want = mergeKinds(Array.from({ length: size / 512 }, (_, i) => ({ offset: i * 512, length: 512, kind: kindAt(i * 512) })));
    const d = await openDisk(p('child.vhd'));
    try {
      expect(await d.extents()).toEqual(want);
    } finally {
      await d.close();
    }
  });

  it('refuses a parent whose UUID does not match, a self-parent loop and a missing parent', async () => {
    await expect(openDisk(p('wrong-uuid.vhd'))).rejects.toMatchObject({ code: 'E_VHD_PARENT_MISMATCH' });
    await expect(openDisk(p('self.vhd'))).rejects.toMatchObject({ code: 'E_DISK_BACKING_LOOP' });
    const e = await openDisk(p('orphan.vhd')).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_DISK_BACKING_NOT_FOUND' });
    expect((e as Error).message).toContain('orphan.vhd');
  });
});
