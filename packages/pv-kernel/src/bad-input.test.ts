import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isXenkitError } from '@xenkit/core';
import { buildElfKernel, compressWith, ensureDebianKernel, exec, makeBzImage, requireTools, tempDir } from '@xenkit/fixtures';
import { analyzeKernel, type AnalyzeOptions } from './index.js';
import { readnotes } from './test-helpers/readnotes.js';

const tmp = tempDir('xenkit-pvk-bad-');
afterAll(() => tmp.cleanup());

let elf: Buffer;
let elfPath: string;
const notes = [
  { type: 6, str: 'linux' }, { type: 5, str: 'xen-3.0' }, { type: 3, num: 0xffffffff80000000n },
  { type: 4, num: 0xffffffff80000000n }, { type: 8, str: 'generic' },
];
beforeAll(() => {
  requireTools('as', 'ld', 'gzip', 'lz4');
  elfPath = buildElfKernel(tmp.path, 'k', { bits: 64, notes, padding: 1 << 20, banner: 'Linux version 2.6.18-xen' });
  elf = readFileSync(elfPath);
});

async function code(input: Uint8Array | string, options: AnalyzeOptions = {}): Promise<string> {
  try {
    await analyzeKernel(input, options);
  } catch (error) {
    if (isXenkitError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

function patched(buf: Buffer, edit: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(buf);
  edit(copy);
  return copy;
}

// Elf64_Ehdr offsets: e_phoff@32 e_shoff@40 e_phentsize@54 e_phnum@56 e_shnum@60.
describe('bad input gives coded errors, bounded work', () => {
  it('bzImage payload offsets and lengths outside the file', async () => {
    const gz = compressWith('gzip', elfPath, `${elfPath}.gz`);
    const bz = makeBzImage({ protocol: 0x20f, payload: gz });
    expect(await code(patched(bz, (b) => b.writeUInt32LE(0xffffff00, 0x248)))).toBe('E_KERNEL_PAYLOAD_RANGE');
    expect(await code(patched(bz, (b) => b.writeUInt32LE(0xffffffff, 0x24c)))).toBe('E_KERNEL_PAYLOAD_RANGE');
    expect(await code(bz.subarray(0, bz.length - 10))).toBe('E_KERNEL_PAYLOAD_RANGE');
    expect(await code(patched(bz, (b) => b.writeUInt32LE(0, 0x248)))).toBe('E_KERNEL_UNKNOWN_CODEC');
  });

  it('a truncated payload fails as truncated unless the notes came before the cut', async () => {
    const k = ensureDebianKernel();
    const orig = readFileSync(k.vmlinuz);
    const start = (orig[0x1f1] as number + 1) * 512 + orig.readUInt32LE(0x248);
    const len = orig.readUInt32LE(0x24c);
    const cut = (fraction: number): Buffer =>
      patched(orig.subarray(0, start + Math.floor(len * fraction)), (b) => b.writeUInt32LE(Math.floor(len * fraction), 0x24c));
    expect(await code(cut(0.2))).toBe('E_KERNEL_TRUNCATED');
    // The Xen notes sit well before 85% of the ELF: the verdict never needed the rest.
    const a = await analyzeKernel(cut(0.85));
    expect(a.verdict.pv).toBe(true);
    expect(a.decompressedAll).toBe(false);
    const gz = compressWith('gzip', elfPath, `${elfPath}.gz2`, false);
    expect(await code(gz.subarray(0, 60))).toBe('E_KERNEL_TRUNCATED');
  });

  it('decompression bombs: a header pointing past maxOutputBytes is refused before decompressing', async () => {
    // Zeros behind a real ELF header whose section table claims to sit at 900 MiB, past the 256 MiB default.
    const head = patched(elf.subarray(0, 64), (b) => {
      b.writeBigUInt64LE(900n << 20n, 40);
      b.writeUInt16LE(0, 56); // no program headers: libelf must go to the sections
    });
    const bombPath = join(tmp.path, 'bomb.gz');
    writeFileSync(join(tmp.path, 'head'), head);
    exec('sh', ['-c', `{ cat "$0"; head -c 16777216 /dev/zero; } | gzip -1 -c > "$1"`, join(tmp.path, 'head'), bombPath]);
    const t = Date.now();
    expect(await code(bombPath)).toBe('E_KERNEL_OUTPUT_LIMIT');
    expect(Date.now() - t).toBeLessThan(2000);
    // Within the limit it decompresses only to the claimed table, then finds it zero-filled: a clean verdict.
    const small = patched(head, (b) => b.writeBigUInt64LE(40n << 20n, 40));
    writeFileSync(join(tmp.path, 'head2'), small);
    exec('sh', ['-c', `{ cat "$0"; head -c 67108864 /dev/zero; } | gzip -1 -c > "$1"`, join(tmp.path, 'head2'), bombPath]);
    const a = await analyzeKernel(bombPath, { maxOutputBytes: 48 << 20 });
    expect(a.verdict.reasons[0]).toContain('Not a Xen-ELF image');
    expect(await code(bombPath, { maxOutputBytes: 16 << 20 })).toBe('E_KERNEL_OUTPUT_LIMIT');
  });

  it('huge phnum/shnum and tables past EOF', async () => {
    expect(await code(patched(elf, (b) => b.writeUInt16LE(0xffff, 56)))).toBe('E_KERNEL_ELF_RANGE');
    const noPh = patched(elf, (b) => b.writeUInt16LE(0, 56));
    expect(await code(patched(noPh, (b) => b.writeUInt16LE(0xffff, 60)))).toBe('E_KERNEL_ELF_RANGE');
    expect(await code(patched(noPh, (b) => b.writeBigUInt64LE(0xffffffffffff0000n, 40)))).toBe('E_KERNEL_ELF_RANGE');
    expect(await code(patched(elf, (b) => b.writeUInt16LE(8, 54)))).toBe('E_KERNEL_ELF_HEADER');
    expect(await code(elf.subarray(0, 40))).toBe('E_KERNEL_NOT_ELF');
  });

  it('a PT_NOTE past EOF and a Xen note whose size overflows', async () => {
    const phoff = Number(elf.readBigUInt64LE(32));
    const phnum = elf.readUInt16LE(56);
    let note = -1;
    for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * 56) === 4) note = phoff + i * 56;
    expect(note).toBeGreaterThan(0);
    // Elf64_Phdr: p_offset@8, p_filesz@32.
    expect(await code(patched(elf, (b) => b.writeBigUInt64LE(BigInt(elf.length + 4096), note + 8)))).toBe('E_KERNEL_ELF_RANGE');
    expect(await code(patched(elf, (b) => b.writeBigUInt64LE(0xfffffffffffn, note + 32)))).toBe('E_KERNEL_ELF_RANGE');
    const first = Number(elf.readBigUInt64LE(note + 8));
    expect(await code(patched(elf, (b) => b.writeUInt32LE(0xfffffff0, first + 4)))).toBe('E_KERNEL_ELF_RANGE');
    // A name size near 2^32 wraps to 0 in libelf's rounding: the walk goes on, as readnotes' does.
    const wrapped = join(tmp.path, 'wrapped');
    writeFileSync(wrapped, patched(elf, (b) => b.writeUInt32LE(0xfffffffe, first)));
    const a = await analyzeKernel(wrapped);
    expect(a.notes.map((n) => n.display)).toEqual(readnotes(wrapped).lines);
    expect(a.notes.length).toBeLessThan(notes.length);
  });

  it('payloads that are not ELF, and files that are no kernel', async () => {
    const junk = join(tmp.path, 'junk');
    writeFileSync(junk, Buffer.alloc(1 << 16, 0x5a));
    const lz = compressWith('lz4', junk, `${junk}.lz4`);
    expect(await code(makeBzImage({ protocol: 0x20f, payload: lz }))).toBe('E_KERNEL_NOT_ELF');
    expect(await code(junk)).toBe('E_KERNEL_UNKNOWN_FORMAT');
    expect(await code(new Uint8Array(0))).toBe('E_KERNEL_UNKNOWN_FORMAT');
    expect(await code(tmp.path)).toBe('E_KERNEL_UNKNOWN_FORMAT');
    expect(await code(join(tmp.path, 'missing'))).toBe('E_NOT_FOUND');
  });
});
