import type { KernelAnalysis } from './analyze.js';

/**
 * Supporting evidence for when the kernel binary cannot be read (or to corroborate it). Every signal here is
 * weaker than the Xen notes: a config can lie about the installed binary, a name is only a name.
 */
export interface EvidenceSignal {
  source: 'config' | 'system-map' | 'file-name';
  /** What was seen, e.g. "CONFIG_XEN=y". */
  detail: string;
  /** true: points to Xen PV support; false: points away from it. */
  supportsXen: boolean;
  strength: 'weaker';
}

export interface KernelEvidence {
  kind: 'evidence';
  version: string | null;
  /** 32 or 64 when the config says (CONFIG_64BIT / CONFIG_X86_32), else null. */
  bits: 32 | 64 | null;
  signals: EvidenceSignal[];
  /** The signals' combined reading: true/false, or null when nothing was found. */
  xenSupport: boolean | null;
  strength: 'weaker';
}

export interface EvidenceInput {
  /** e.g. "vmlinuz-2.6.18-8.el5xen". */
  fileName?: string;
  version?: string;
  /** Text of /boot/config-VERSION. */
  config?: string;
  /** Text of /boot/System.map-VERSION. */
  systemMap?: string;
}

// xenlinux (CONFIG_X86_XEN, CONFIG_X86_64_XEN) and pv_ops (CONFIG_XEN, CONFIG_XEN_PV) config symbols.
const XEN_CONFIGS = ['CONFIG_XEN', 'CONFIG_X86_XEN', 'CONFIG_X86_64_XEN', 'CONFIG_XEN_PV'];
// Symbols only a PV-capable kernel links: the PV entry point (pv_ops and xenlinux) and the hypercall page.
const XEN_SYMBOLS = ['startup_xen', 'xen_start_kernel', 'hypercall_page', 'xen_start_info'];

export function evaluateKernelEvidence(input: EvidenceInput): KernelEvidence {
  const signals: EvidenceSignal[] = [];
  let bits: 32 | 64 | null = null;
  const base = input.fileName?.split('/').pop() ?? '';
  let version = input.version ?? null;
  if (!version && base) version = /^(?:vmlinuz|vmlinux|bzImage|kernel|config|System\.map)-(.+)$/.exec(base)?.[1] ?? null;

  if (input.config !== undefined) {
    const set = new Map<string, string>();
    for (const line of input.config.split('\n')) {
      const on = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
      if (on) set.set(on[1] as string, on[2] as string);
      const off = /^# (CONFIG_[A-Z0-9_]+) is not set/.exec(line);
      if (off) set.set(off[1] as string, 'n');
    }
    if (set.get('CONFIG_64BIT') === 'y') bits = 64;
    else if (set.get('CONFIG_X86_32') === 'y' || set.get('CONFIG_64BIT') === 'n') bits = 32;
    for (const name of XEN_CONFIGS) {
      const value = set.get(name);
      if (value === 'y') signals.push({ source: 'config', detail: `${name}=y`, supportsXen: true, strength: 'weaker' });
      else if (value === 'n') signals.push({ source: 'config', detail: `# ${name} is not set`, supportsXen: false, strength: 'weaker' });
    }
  }
  if (input.systemMap !== undefined) {
    const found = new Set<string>();
    let symbols = 0;
    for (const line of input.systemMap.split('\n')) {
      const m = /^[0-9a-fA-F]+ \S (\S+)$/.exec(line.trim());
      if (!m) continue;
      symbols++;
      if (XEN_SYMBOLS.includes(m[1] as string)) found.add(m[1] as string);
    }
    for (const s of found) signals.push({ source: 'system-map', detail: `System.map has ${s}`, supportsXen: true, strength: 'weaker' });
    // Distributions ship a one-line placeholder System.map; only a real one proves absence.
    if (found.size === 0 && symbols > 1000) {
      signals.push({ source: 'system-map', detail: `no Xen entry symbol among ${symbols} System.map symbols`, supportsXen: false, strength: 'weaker' });
    }
  }
  if (/xen/i.test(base)) {
    signals.push({ source: 'file-name', detail: `file name "${base}" contains "xen" (nova's old pygrub test)`, supportsXen: true, strength: 'weaker' });
  }
  const positive = signals.some((s) => s.supportsXen);
  const negative = signals.some((s) => !s.supportsXen);
  const xenSupport = positive ? true : negative ? false : null;
  return { kind: 'evidence', version, bits, signals, xenSupport, strength: 'weaker' };
}

export interface GuideVerdict {
  /** pass: the guide is satisfied; fail: it is not; unknown: not enough to tell. */
  status: 'pass' | 'fail' | 'unknown';
  /** Whether Xen can boot the kernel PV, as far as the evidence shows. */
  pvCapable: boolean | null;
  version: string | null;
  basis: 'xen-notes' | 'weaker-evidence';
  reasons: string[];
}

/** "major.minor" of a release string ("2.6.18-8.el5xen" → [2, 6]), or null. */
export function parseRelease(version: string | null): [number, number] | null {
  const m = version ? /^(\d+)\.(\d+)/.exec(version) : null;
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * The OpenStack image guide's rule on top of Xen's: a kernel older than 3.0 must have Xen PV support
 * (mainline gained pv_ops domU only in 2.6.2x and full support by 3.0), and no 32-bit kernel from 5.9 on can
 * boot PV (commit a13f2ef168cb removed 32-bit PV guest support).
 */
export function guideVerdict(subject: KernelAnalysis | KernelEvidence): GuideVerdict {
  const isEvidence = 'kind' in subject && subject.kind === 'evidence';
  const version = subject.version;
  const release = parseRelease(version);
  const reasons: string[] = [];
  let pv: boolean | null;
  let bits: 32 | 64 | null;
  if (isEvidence) {
    const e = subject as KernelEvidence;
    pv = e.xenSupport;
    bits = e.bits;
    for (const s of e.signals) reasons.push(`${s.supportsXen ? 'for' : 'against'} Xen PV (weaker evidence): ${s.detail}`);
  } else {
    const a = subject as KernelAnalysis;
    pv = a.verdict.pv;
    bits = a.elf?.class ?? null;
    reasons.push(...a.verdict.reasons);
  }
  if (bits === 32 && release && (release[0] > 5 || (release[0] === 5 && release[1] >= 9))) {
    if (pv !== false) reasons.push(`a 32-bit kernel ${version} (≥ 5.9) has no Xen PV guest support`);
    pv = false;
  }
  let status: GuideVerdict['status'];
  if (release && release[0] < 3) {
    if (pv === true) status = 'pass';
    else if (pv === false) {
      status = 'fail';
      reasons.push(`kernel ${version} is older than 3.0 and has no Xen PV support: the image guide requires a Xen-enabled kernel`);
    } else {
      status = 'unknown';
      reasons.push(`kernel ${version} is older than 3.0 and nothing shows whether it has Xen PV support`);
    }
  } else if (release) {
    status = 'pass';
    reasons.push(`kernel ${version} is 3.0 or newer: the guide's PV-kernel requirement applies only below 3.0`);
  } else {
    status = pv === true ? 'pass' : 'unknown';
    reasons.push('kernel version unknown: the guide\'s < 3.0 rule cannot be applied');
  }
  return { status, pvCapable: pv, version, basis: isEvidence ? 'weaker-evidence' : 'xen-notes', reasons };
}
