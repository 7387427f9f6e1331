import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, exec, requireTools, rng, tempDir, which, type BuiltImage } from '@xenkit/fixtures';
import { BufferSource } from '../block/buffer.js';
import { openExtFileSystem } from '../fs/ext.js';
import { lvmCrc } from '../lvm/label.js';
import { parseLvmText } from '../lvm/text.js';
import { probeFilesystem } from '../probe/probe.js';
import { crc32, u32le, u64le } from './bytes.js';
import { probeDisk } from './probe-disk.js';

const put32 = (b: Uint8Array, o: number, v: number): void => {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(o, v >>> 0, true);
};

describe('damaged and hostile layouts give coded errors or reported issues', () => {
  const tmp = tempDir('xenkit-badlayout-');
  let gpt: BuiltImage;
  let mbr: BuiltImage;
  let lvm: BuiltImage;
  let ext: BuiltImage;

  beforeAll(() => {
    requireTools('sfdisk', 'mke2fs', 'pvcreate');
    gpt = buildImage({ dir: tmp.path, name: 'gpt', table: 'gpt', partitions: [{ sizeMiB: 4, fs: 'none', name: 'a' }, { sizeMiB: 4, fs: 'ext2' }] });
    mbr = buildImage({ dir: tmp.path, name: 'mbr', table: 'mbr', partitions: [1, 2, 3, 4, 5, 6].map(() => ({ sizeMiB: 2, fs: 'none' as const })) });
    lvm = buildImage({ dir: tmp.path, name: 'lvm', table: 'none', sizeMiB: 16, partitions: [{ sizeMiB: 16, fs: 'lvm' }], lvm: { vg: 'badvg', lvs: [{ name: 'a', sizeMiB: 4, fs: 'ext4' }] } });
    ext = buildImage({ dir: tmp.path, name: 'ext', table: 'none', sizeMiB: 8, partitions: [{ sizeMiB: 8, fs: 'ext4' }] });
  });
  afterAll(() => tmp.cleanup());

  const load = (img: BuiltImage): Uint8Array => new Uint8Array(readFileSync(img.rawPath));

  it('falls back to the backup GPT when the primary header CRC fails, as sfdisk does, and says so', async () => {
    const bytes = load(gpt);
    bytes[512 + 60] = (bytes[512 + 60] as number) ^ 0xff; // inside the disk GUID, covered by the header CRC
    const layout = await probeDisk(new BufferSource(bytes, 'gpt-bad-header'));
    expect(layout.table.gptHeader).toBe('backup');
    expect(layout.issues.map((i) => i.code)).toContain('E_GPT_PRIMARY_BAD');
    const damaged = join(tmp.path, 'gpt-damaged.raw');
    await import('node:fs').then((fs) => fs.writeFileSync(damaged, bytes));
    const ref = JSON.parse(exec('sfdisk', ['--json', damaged]).stdout) as { partitiontable: { partitions: { start: number; size: number }[] } };
    expect(layout.partitions.map((p) => [p.startSector, p.sectors])).toEqual(ref.partitiontable.partitions.map((p) => [p.start, p.size]));
  });

  it('falls back when only the entry array CRC fails', async () => {
    const bytes = load(gpt);
    bytes[1024 + 56] = 0x41; // first entry's name
    const layout = await probeDisk(new BufferSource(bytes, 'gpt-bad-entries'));
    expect(layout.table.gptHeader).toBe('backup');
    expect(layout.partitions[0]?.name).toBe('a');
  });

  it('throws E_GPT_CORRUPT when both headers are damaged', async () => {
    const bytes = load(gpt);
    bytes[512 + 60] = (bytes[512 + 60] as number) ^ 0xff;
    bytes[bytes.length - 512 + 60] = (bytes[bytes.length - 512 + 60] as number) ^ 0xff;
    await expect(probeDisk(new BufferSource(bytes, 'gpt-both-bad'))).rejects.toMatchObject({ code: 'E_GPT_CORRUPT' });
  });

  it('stops at an EBR chain that loops, keeping the partitions before it', async () => {
    const bytes = load(mbr);
    const extStart = u32le(bytes, 446 + 3 * 16 + 8);
    // Walk to the last EBR, then link it back to the first.
    let ebr = extStart;
    for (let i = 0; i < 2; i++) ebr = extStart + u32le(bytes, ebr * 512 + 446 + 16 + 8);
    bytes[ebr * 512 + 446 + 16 + 4] = 0x05;
    put32(bytes, ebr * 512 + 446 + 16 + 8, 0);
    put32(bytes, ebr * 512 + 446 + 16 + 12, 2048);
    const layout = await probeDisk(new BufferSource(bytes, 'ebr-loop'));
    expect(layout.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(layout.issues.map((i) => i.code)).toContain('E_MBR_EBR_LOOP');
  });

  it('reports an EBR pointing past the end of the disk', async () => {
    const bytes = load(mbr);
    const extStart = u32le(bytes, 446 + 3 * 16 + 8);
    put32(bytes, extStart * 512 + 446 + 16 + 8, 0x7fffffff);
    const layout = await probeDisk(new BufferSource(bytes, 'ebr-far'));
    expect(layout.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5]);
    expect(layout.issues.map((i) => i.code)).toContain('E_MBR_EBR_PAST_END');
  });

  /** Locate the live LVM text of a whole-disk PV: mda at pv_header's first metadata area. */
  function lvmText(bytes: Uint8Array): { mda: number; textAt: number; size: number } {
    const label = 512; // sector 1
    const pvh = label + u32le(bytes, label + 20);
    let p = pvh + 40;
    while (u64le(bytes, p) !== 0) p += 16;
    p += 16;
    const mda = u64le(bytes, p);
    return { mda, textAt: mda + u64le(bytes, mda + 40), size: u64le(bytes, mda + 48) };
  }

  it('refuses LVM metadata whose checksum fails', async () => {
    const bytes = load(lvm);
    const { textAt } = lvmText(bytes);
    bytes[textAt + 3] = 0x7b;
    const layout = await probeDisk(new BufferSource(bytes, 'lvm-crc'));
    expect(layout.issues.map((i) => i.code)).toContain('E_LVM_METADATA_CRC');
    expect(layout.volumes.find((v) => v.kind === 'disk')?.filesystem?.type).toBe('LVM2_member');
  });

  it('falls back to the second metadata copy when the first is damaged', async () => {
    const two = buildImage({ dir: tmp.path, name: 'lvm2copies', table: 'none', sizeMiB: 16, partitions: [{ sizeMiB: 16, fs: 'lvm' }], lvm: { vg: 'copyvg', metadataCopies: 2, lvs: [{ name: 'a', sizeMiB: 4, fs: 'ext4' }] } });
    const bytes = load(two);
    const { textAt } = lvmText(bytes);
    bytes[textAt + 3] = 0x7b;
    const layout = await probeDisk(new BufferSource(bytes, 'lvm-copy'));
    expect(layout.lvm?.vgs.map((v) => v.name)).toEqual(['copyvg']);
    expect(layout.volumes.find((v) => v.id === 'lv:copyvg/a')?.filesystem?.type).toBe('ext4');
  });

  it('computes lvm2 CRCs as pvcreate wrote them (label sector and metadata area header)', () => {
    const bytes = load(lvm);
    const label = [0, 1, 2, 3].map((s) => s * 512).find((o) => new TextDecoder().decode(bytes.subarray(o, o + 8)) === 'LABELONE') as number;
    expect(label).toBeDefined();
    expect(lvmCrc(bytes.subarray(label + 20, label + 512))).toBe(u32le(bytes, label + 16));
    const { mda } = lvmText(bytes);
    expect(lvmCrc(bytes.subarray(mda + 4, mda + 512))).toBe(u32le(bytes, mda));
    expect(lvmCrc(new Uint8Array(0))).toBe(0xf597a6cf);
    expect(lvmCrc(new Uint8Array(new ArrayBuffer(8), 8))).toBe(0xf597a6cf);
  });

  it('refuses garbage LVM metadata with a valid checksum', async () => {
    const bytes = load(lvm);
    const { mda, textAt, size } = lvmText(bytes);
    const garbage = new TextEncoder().encode('vg { id = "x" extent_size = [ [ [ "unterminated'.padEnd(size, ' '));
    bytes.set(garbage.subarray(0, size), textAt);
    put32(bytes, mda + 56, lvmCrc(bytes.subarray(textAt, textAt + size)));
    put32(bytes, mda, lvmCrc(bytes.subarray(mda + 4, mda + 512)));
    const layout = await probeDisk(new BufferSource(bytes, 'lvm-garbage'));
    expect(layout.issues.map((i) => i.code)).toContain('E_LVM_BAD_METADATA');
    expect(layout.lvm?.vgs ?? []).toEqual([]);
  });

  it('parses LVM text defensively', () => {
    expect(() => parseLvmText('a { '.repeat(100), 't')).toThrow(expect.objectContaining({ code: 'E_LVM_BAD_METADATA' }));
    expect(() => parseLvmText('a = "open', 't')).toThrow(expect.objectContaining({ code: 'E_LVM_BAD_METADATA' }));
    expect(() => parseLvmText('}', 't')).toThrow(expect.objectContaining({ code: 'E_LVM_BAD_METADATA' }));
    const polluted = parseLvmText('__proto__ { polluted = 1 }', 't');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(polluted)).toEqual(['__proto__']);
  });

  it('reports truncated and impossible ext superblocks with codes', async () => {
    const bytes = load(ext);
    const cut = await probeFilesystem(new BufferSource(bytes.slice(0, 1500), 'cut'), 'cut');
    expect(cut?.issues.map((i) => i.code)).toEqual(['E_EXT_TRUNCATED']);
    const wild = bytes.slice(0, 64 * 1024);
    put32(wild, 1024 + 0x18, 40);
    const bad = await probeFilesystem(new BufferSource(wild, 'wild'), 'wild');
    expect(bad?.issues.map((i) => i.code)).toEqual(['E_EXT_BAD_SUPERBLOCK']);
    const short = await probeFilesystem(new BufferSource(bytes.slice(0, 1024 * 1024), 'short'), 'short');
    expect(short?.issues.map((i) => i.code)).toContain('W_FS_LARGER_THAN_VOLUME');
    await expect(openExtFileSystem(new BufferSource(bytes.slice(0, 4096), 'tiny'))).rejects.toMatchObject({ code: 'E_FS_CORRUPT' });
  });

  it('computes CRC-32 as gzip records it, and the standard check values', () => {
    // gzip's trailer stores the IEEE CRC-32 of the input (RFC 1952) — the same polynomial GPT uses.
    requireTools('gzip');
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    for (const data of [check, new TextEncoder().encode('EFI PART'), new Uint8Array(92).fill(0xff), rng(1).bytes(16_384)]) {
      const gz = execFileSync(which('gzip') as string, ['-c', '-n'], { input: data });
      expect(crc32(data)).toBe(gz.readUInt32LE(gz.length - 8));
    }
  });
});
