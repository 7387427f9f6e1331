import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElfKernel, ensureDebianKernel, exec, requireTools, tempDir, type DebianKernel } from '@xenkit/fixtures';
import { analyzeKernel, evaluateKernelEvidence, guideVerdict } from './index.js';

const tmp = tempDir('xenkit-pvk-guide-');
afterAll(() => tmp.cleanup());
let k: DebianKernel;
beforeAll(() => {
  requireTools('as', 'ld', 'nm');
  k = ensureDebianKernel();
});

describe('weaker evidence: /boot/config-*, System.map, file name', () => {
  it('reads Debian\'s real config: CONFIG_XEN and CONFIG_XEN_PV are set, 64-bit', () => {
    const e = evaluateKernelEvidence({ fileName: basename(k.vmlinuz), config: readFileSync(k.config, 'utf8'), systemMap: readFileSync(k.systemMap, 'utf8') });
    expect(e.version).toBe(k.package.replace('linux-image-', ''));
    expect(e.bits).toBe(64);
    expect(e.signals.filter((s) => s.source === 'config').map((s) => s.detail)).toEqual(expect.arrayContaining(['CONFIG_XEN=y', 'CONFIG_XEN_PV=y']));
    // Debian ships a placeholder System.map: it proves nothing either way.
    expect(e.signals.some((s) => s.source === 'system-map')).toBe(false);
    expect(e.signals.every((s) => s.strength === 'weaker')).toBe(true);
    expect(e.xenSupport).toBe(true);
    expect(guideVerdict(e)).toMatchObject({ status: 'pass', basis: 'weaker-evidence' });
  });

  it('a config without Xen is evidence against; a xenlinux name and System.map from nm are evidence for', () => {
    const noXen = readFileSync(k.config, 'utf8').replace(/^CONFIG_XEN(_PV)?=y$/gm, '# CONFIG_XEN$1 is not set');
    const against = evaluateKernelEvidence({ fileName: 'config-2.6.32-71.el6.x86_64', config: noXen });
    expect(against.xenSupport).toBe(false);
    expect(guideVerdict(against).status).toBe('fail');

    // A System.map as the kernel build makes it: `nm -n vmlinux`.
    const src = join(tmp.path, 'map.S');
    writeFileSync(src, '.text\n.globl startup_xen\nstartup_xen: nop\n.globl hypercall_page\nhypercall_page: .fill 4096,1,0\n.globl _start\n_start: nop\n');
    exec('as', ['--64', '-o', `${src}.o`, src]);
    const map = exec('nm', ['-n', `${src}.o`]).stdout;
    const e = evaluateKernelEvidence({ fileName: '/boot/vmlinuz-2.6.18-8.el5xen', systemMap: map });
    expect(e.version).toBe('2.6.18-8.el5xen');
    expect(e.signals.map((s) => s.source).sort()).toEqual(['file-name', 'system-map', 'system-map']);
    expect(guideVerdict(e)).toMatchObject({ status: 'pass', pvCapable: true });
    expect(guideVerdict(evaluateKernelEvidence({ fileName: 'vmlinuz-2.6.18-8.el5' })).status).toBe('unknown');
  });

  it('a 32-bit kernel from 5.9 on has no PV support, whatever its config says', () => {
    const e = evaluateKernelEvidence({ version: '5.10.0-28-686-pae', config: 'CONFIG_X86_32=y\nCONFIG_XEN=y\nCONFIG_XEN_PV=y\n' });
    expect(e.bits).toBe(32);
    const g = guideVerdict(e);
    expect(g.pvCapable).toBe(false);
    expect(g.reasons.join('\n')).toMatch(/32-bit kernel 5\.10\.0-28-686-pae \(≥ 5\.9\) has no Xen PV guest support/);
    // 4.19 i686 with Xen still can.
    expect(guideVerdict(evaluateKernelEvidence({ version: '4.19.0-6-686-pae', config: 'CONFIG_X86_32=y\nCONFIG_XEN=y\n' })).pvCapable).toBe(true);
  });
});

describe('the guide\'s rule on top of Xen\'s verdict', () => {
  it('passes the Debian kernel (≥ 3.0, and PV-capable anyway)', async () => {
    const g = guideVerdict(await analyzeKernel(k.vmlinuz));
    expect(g).toMatchObject({ status: 'pass', pvCapable: true, basis: 'xen-notes' });
  });

  it('fails a pre-3.0 kernel without Xen notes, and a 32-bit ≥ 5.9 kernel is not PV even with notes', async () => {
    const plain = buildElfKernel(tmp.path, 'plain', { bits: 64, banner: 'Linux version 2.6.32-71.el6.x86_64 (mockbuild)' });
    expect(guideVerdict(await analyzeKernel(plain)).status).toBe('fail');
    const notes = [{ type: 6, str: 'linux' }, { type: 5, str: 'xen-3.0' }, { type: 3, num: 0xc0000000n }, { type: 4, num: 0xc0000000n }, { type: 9, str: 'yes' }];
    const i686 = buildElfKernel(tmp.path, 'i686', { bits: 32, notes, banner: 'Linux version 5.10.0-28-686-pae (debian-kernel@lists.debian.org)' });
    const a = await analyzeKernel(i686);
    expect(a.verdict.pv).toBe(true); // Xen's rule alone would accept the notes
    const g = guideVerdict(a);
    expect(g.pvCapable).toBe(false);
    expect(g.status).toBe('pass'); // ≥ 3.0: the guide does not require PV
  });
});
