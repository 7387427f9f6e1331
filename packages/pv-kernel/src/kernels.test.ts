import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElfKernel, centos5XenGuest, compressWith, makeBzImage, requireTools, tempDir, type XenNoteSpec } from '@xenkit/fixtures';
import { analyzeKernel, guideVerdict, type KernelAnalysis } from './index.js';
import { READNOTES, readnotes } from './test-helpers/readnotes.js';

const tmp = tempDir('xenkit-pvk-');
afterAll(() => tmp.cleanup());
beforeAll(() => requireTools(READNOTES, 'as', 'ld', 'gzip'));

// XEN_ELFNOTE_* numbers (xen/include/public/elfnote.h).
const N = { ENTRY: 1, HYPERCALL_PAGE: 2, VIRT_BASE: 3, PADDR_OFFSET: 4, XEN_VERSION: 5, GUEST_OS: 6, GUEST_VERSION: 7, LOADER: 8, PAE_MODE: 9, FEATURES: 10, PHYS32_ENTRY: 18 };

function pvopsNotes(bits: 32 | 64, features = '!writable_page_tables|pae_pgdir_above_4gb'): XenNoteSpec[] {
  const base = bits === 64 ? 0xffffffff80000000n : 0xc0000000n;
  return [
    { type: N.GUEST_OS, str: 'linux' },
    { type: N.GUEST_VERSION, str: '2.6' },
    { type: N.XEN_VERSION, str: 'xen-3.0' },
    { type: N.VIRT_BASE, num: base },
    { type: N.PADDR_OFFSET, num: base }, // ld links p_paddr = p_vaddr, as xenlinux did
    { type: N.ENTRY, num: bits === 64 ? 0xffffffff80200000n : 0xc0100000n },
    { type: N.HYPERCALL_PAGE, num: bits === 64 ? 0xffffffff80201000n : 0xc0101000n },
    { type: N.FEATURES, str: features },
    { type: N.PAE_MODE, str: 'yes' },
    { type: N.LOADER, str: 'generic' },
  ];
}

function gzipFile(path: string): string {
  compressWith('gzip', path, `${path}.gz`, false);
  return `${path}.gz`;
}

/** xenkit's notes must be exactly readnotes' lines for the unwrapped ELF. */
function expectReadnotesParity(a: KernelAnalysis, elfPath: string): void {
  const peer = readnotes(elfPath);
  expect(a.notes.map((n) => n.display).filter((d) => d !== null)).toEqual(peer.lines);
  expect(a.xenGuestRaw).toBe(peer.xenGuest);
}

describe('pre-3.0 and edge-case kernels built with as/ld', () => {
  it('CentOS 5 style xenlinux: notes and __xen_guest, gzip-wrapped as vmlinuz-*el5xen', async () => {
    const elf = buildElfKernel(tmp.path, 'centos5-64', {
      bits: 64, notes: pvopsNotes(64, 'writable_page_tables|writable_descriptor_tables|auto_translated_physmap|pae_pgdir_above_4gb|supervisor_mode_kernel'),
      xenGuest: centos5XenGuest(64), banner: 'Linux version 2.6.18-8.el5xen (brewbuilder@hs20-bc2-3.build.redhat.com) (gcc version 4.1.1)',
    });
    const a = await analyzeKernel(gzipFile(elf), { exhaustive: true });
    expect(a).toMatchObject({ container: 'gzip', codec: 'gzip', version: '2.6.18-8.el5xen', noteSource: 'PT_NOTE' });
    expect(a.verdict).toMatchObject({ pv: true, guestType: 'xen-3.0-x86_64' });
    expect(a.xenGuest).toMatchObject({ GUEST_OS: 'linux', XEN_VER: 'xen-3.0', LOADER: 'generic', VIRT_BASE: '0xffffffff80000000' });
    expectReadnotesParity(a, elf);
    expect(guideVerdict(a).status).toBe('pass');
  });

  it('legacy __xen_guest only (no notes): Xen falls back to the string', async () => {
    const elf = buildElfKernel(tmp.path, 'legacy-64', { bits: 64, xenGuest: centos5XenGuest(64), banner: 'Linux version 2.6.16.33-xen (root@build)' });
    const a = await analyzeKernel(gzipFile(elf));
    expect(a.noteSource).toBe('__xen_guest');
    expect(a.notes).toEqual([]);
    expect(a.verdict.pv).toBe(true);
    expect(a.verdict.reasons[0]).toContain("legacy '__xen_guest'");
    expectReadnotesParity(a, elf);
  });

  it('a 2.6 kernel with neither notes nor __xen_guest fails in Xen\'s words and fails the guide', async () => {
    const elf = buildElfKernel(tmp.path, 'plain-26', { bits: 64, banner: 'Linux version 2.6.32-71.el6.x86_64 (mockbuild)' });
    const a = await analyzeKernel(gzipFile(elf));
    expect(a.verdict.pv).toBe(false);
    expect(a.verdict.reasons).toEqual(["ERROR: Not a Xen-ELF image: No ELF notes or '__xen_guest' section found"]);
    expectReadnotesParity(a, elf);
    const g = guideVerdict(a);
    expect(g.status).toBe('fail');
    expect(g.reasons.at(-1)).toMatch(/older than 3\.0/);
  });

  it('notes that are not named "Xen" do not count', async () => {
    const elf = buildElfKernel(tmp.path, 'gnu-notes', { bits: 64, notes: [{ type: 6, str: 'linux', name: 'GNU' }, { type: 5, str: 'xen-3.0', name: 'Xenx' }] });
    const a = await analyzeKernel(elf);
    expect(a.notes).toEqual([]);
    expect(a.verdict.reasons[0]).toBe("ERROR: Will only load images built for the generic loader or Linux images (Not '' and '') or with PHYS32_ENTRY set");
    expectReadnotesParity(a, elf);
  });

  it('a 32-bit PAE kernel is xen-3.0-x86_32p', async () => {
    const elf = buildElfKernel(tmp.path, 'i686-xen', { bits: 32, notes: pvopsNotes(32), banner: 'Linux version 2.6.18-8.el5xen (i686)' });
    const a = await analyzeKernel(elf, { exhaustive: true });
    expect(a.elf).toMatchObject({ class: 32, machineNumber: 3 });
    expect(a.verdict).toMatchObject({ pv: true, guestType: 'xen-3.0-x86_32p' });
    expectReadnotesParity(a, elf);
  });

  it('a dom0-only kernel (FEATURES requires dom0) is refused for DomU', async () => {
    const elf = buildElfKernel(tmp.path, 'dom0-only', { bits: 64, notes: pvopsNotes(64, '!dom0|writable_page_tables') });
    const a = await analyzeKernel(elf);
    expect(a.verdict.pv).toBe(false);
    expect(a.verdict.reasons).toEqual(['Kernel does not support unprivileged (DomU) operation']);
    expectReadnotesParity(a, elf);
  });

  it('notes only in a non-allocated SHT_NOTE section are found as libelf falls back to them', async () => {
    const elf = buildElfKernel(tmp.path, 'shtnote', { bits: 64, notes: pvopsNotes(64), noteSegment: false });
    const a = await analyzeKernel(elf);
    expect(a.noteSource).toBe('SHT_NOTE');
    expect(a.verdict.pv).toBe(true);
    expectReadnotesParity(a, elf);
  });

  it('wrong GUEST_OS / LOADER and XEN_VERSION are refused with Xen\'s messages', async () => {
    const bsd = buildElfKernel(tmp.path, 'netbsd', { bits: 64, notes: [{ type: N.GUEST_OS, str: 'NetBSD' }, { type: N.XEN_VERSION, str: 'xen-3.0' }, { type: N.LOADER, str: 'bsd' }] });
    const a = await analyzeKernel(bsd);
    expect(a.verdict.reasons).toEqual(["ERROR: Will only load images built for the generic loader or Linux images (Not 'bsd' and 'NetBSD') or with PHYS32_ENTRY set"]);
    expectReadnotesParity(a, bsd);
    const old = buildElfKernel(tmp.path, 'xen2', { bits: 64, notes: [{ type: N.GUEST_OS, str: 'linux' }, { type: N.XEN_VERSION, str: 'xen-2.0' }] });
    const b = await analyzeKernel(old);
    expect(b.verdict.reasons).toEqual(["ERROR: Xen will only load images built for Xen v3.0 (Not 'xen-2.0')"]);
  });

  it('a PVH-only kernel (PHYS32_ENTRY without PV notes) is PVH-capable, not PV', async () => {
    const elf = buildElfKernel(tmp.path, 'pvh-only', { bits: 64, notes: [{ type: N.PHYS32_ENTRY, num: 0x1000000n, size: 4 }] });
    const a = await analyzeKernel(elf);
    expect(a.verdict).toMatchObject({ pv: false, pvh: true });
    expectReadnotesParity(a, elf);
  });

  it('a bzImage with boot protocol 2.06 is reported as Xen reports it, version read from the header', async () => {
    const elf = buildElfKernel(tmp.path, 'old-bz', { bits: 32, notes: pvopsNotes(32) });
    const gz = readFileSync(gzipFile(elf));
    const path = join(tmp.path, 'bzImage-2.6.22');
    writeFileSync(path, makeBzImage({ protocol: 0x0206, kernelVersion: '2.6.22-1 (builder@host) #1 SMP', payload: gz }));
    const a = await analyzeKernel(path);
    expect(a).toMatchObject({ container: 'bzImage', version: '2.6.22-1', bzImage: { protocol: '2.06' }, elf: null });
    expect(a.verdict.pv).toBe(false);
    expect(a.verdict.reasons[0]).toBe('xc_dom_probe_bzimage_kernel: boot protocol too old (0206)');
    // readnotes refuses it with the same words.
    const peer = readnotes(path, true);
    expect(peer.stdout).toContain('boot protocol too old (0206)');
    expect(guideVerdict(a).status).toBe('fail');
  });

  it('a protocol 2.08 bzImage with a gzip payload loads', async () => {
    const elf = buildElfKernel(tmp.path, 'bz-208', { bits: 64, notes: pvopsNotes(64), banner: 'Linux version 2.6.26-1-xen-amd64' });
    const gz = compressWith('gzip', elf, `${elf}.payload`);
    const path = join(tmp.path, 'bzImage-2.6.26');
    writeFileSync(path, makeBzImage({ protocol: 0x0208, kernelVersion: '2.6.26-1-xen-amd64 (debian)', payload: gz }));
    const a = await analyzeKernel(path);
    expect(a).toMatchObject({ container: 'bzImage', codec: 'gzip', version: '2.6.26-1-xen-amd64' });
    expect(a.verdict.pv).toBe(true);
    expectReadnotesParity(a, elf);
    // readnotes itself unwraps gzip bzImages: same lines straight from the bzImage.
    expect(readnotes(path).lines).toEqual(readnotes(elf).lines);
  });
});
