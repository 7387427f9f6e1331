import { createReadStream, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { analyzeKernel } from './index.js';
import { ensureDebianKernel, type DebianKernel } from '@xenkit/fixtures';
import { READNOTES, readnotes } from './test-helpers/readnotes.js';

let k: DebianKernel;
beforeAll(() => {
  requireTools(READNOTES);
  k = ensureDebianKernel();
});

describe('Debian cloud kernel (real bzImage from apt-get download)', () => {
  it('reads the bzImage header, unwraps the payload and decides PV as Xen does', async () => {
    const a = await analyzeKernel(k.vmlinuz);
    expect(a.container).toBe('bzImage');
    expect(a.codec).toBe(k.codec);
    // The release in kernel_version is the package's ABI name.
    expect(k.package).toBe(`linux-image-${a.version}`);
    expect(a.elf).toMatchObject({ class: 64, machineNumber: 62 });
    expect(a.verdict.pv).toBe(true);
    expect(a.verdict.guestType).toBe('xen-3.0-x86_64');
    expect(a.noteSource).toBe('PT_NOTE');
    // Stopped once the notes were read: the ELF is larger than what was decompressed.
    expect(a.decompressedAll).toBe(false);
    expect(a.decompressedBytes).toBeLessThan(readFileSync(k.vmlinux).length);
  });

  it('prints exactly the notes readnotes prints for the unwrapped ELF', async () => {
    const peer = readnotes(k.vmlinux);
    expect(peer.lines.length).toBeGreaterThan(5);
    const fromBz = await analyzeKernel(k.vmlinuz, { exhaustive: true });
    const fromElf = await analyzeKernel(k.vmlinux, { exhaustive: true });
    for (const a of [fromBz, fromElf]) {
      expect(a.notes.map((n) => n.display).filter((d) => d !== null)).toEqual(peer.lines);
      expect(a.xenGuestRaw).toBe(peer.xenGuest);
    }
    // The same kernel handed over as a stream (as a file read out of a disk image would be).
    const fromStream = await analyzeKernel(createReadStream(k.vmlinuz), { name: 'stream' });
    expect(fromStream.notes).toEqual(fromBz.notes);
    const pvh = fromElf.notes.find((n) => n.name === 'PHYS32_ENTRY');
    expect(fromElf.verdict.pvh).toBe(pvh !== undefined);
  });
});
