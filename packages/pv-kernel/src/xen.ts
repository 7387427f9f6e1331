import { EM_386, EM_ARM, EM_X86_64, ElfReader, MAX_TOTAL_NOTES, type Segment } from './elf.js';
import { decodeNote, noteNumeric, type RawNote, type XenNote } from './notes.js';

/** What libelf's elf_xen_parse collects (struct elf_dom_parms), as far as the verdict needs it. */
export interface XenParms {
  source: 'PT_NOTE' | 'SHT_NOTE' | '__xen_guest' | null;
  /** True when a PT_NOTE/SHT_NOTE range was walked at all (libelf's elf_note_start is set). */
  noteRangeSeen: boolean;
  loader: string;
  guestOs: string;
  guestVer: string;
  xenVer: string;
  pae: 'no' | 'yes' | 'extended-cr3' | 'bimodal';
  virtBase: bigint | null;
  virtEntry: bigint | null;
  hypercall: bigint | null;
  paddrOffset: bigint | null;
  phys32Entry: bigint | null;
  requiredFeatures: string[];
  featureError: string | null;
}

export interface XenScan {
  notes: XenNote[];
  xenGuest: Record<string, string> | null;
  xenGuestRaw: string | null;
  parms: XenParms;
  segments: Segment[];
  sectionsRead: boolean;
}

const FEATURES = [
  'writable_page_tables', 'writable_descriptor_tables', 'auto_translated_physmap', 'supervisor_mode_kernel',
  'pae_pgdir_above_4gb', 'hvm_callback_vector', 'dom0',
];
const U64 = (1n << 64n) - 1n;

/**
 * elf_xen_parse's search order: every PT_NOTE segment (skipping p_offset 0, which old binutils wrote), then
 * — only if no Xen note was found — every SHT_NOTE section, then the legacy `__xen_guest` section.
 * `exhaustive` also reads the section table when notes were found, to report `__xen_guest` as readnotes does.
 */
export async function scanXen(elf: ElfReader, exhaustive: boolean): Promise<XenScan> {
  const budget = { left: MAX_TOTAL_NOTES };
  const raws: RawNote[] = [];
  let noteRangeSeen = false;
  let source: XenParms['source'] = null;
  const segments = await elf.segments();
  for (const [i, s] of segments.entries()) {
    if (s.type !== ElfReader.PT_NOTE || s.offset === 0) continue;
    noteRangeSeen = true;
    raws.push(...(await elf.notes(s.offset, s.filesz, `PT_NOTE segment ${i}`, budget)));
  }
  if (raws.length > 0) source = 'PT_NOTE';
  let xenGuestRaw: string | null = null;
  let sectionsRead = false;
  if (raws.length === 0 || exhaustive) {
    const sections = await elf.sections();
    sectionsRead = true;
    if (raws.length === 0) {
      for (const [i, s] of sections.entries()) {
        if (i === 0 || s.type !== ElfReader.SHT_NOTE) continue;
        noteRangeSeen = true;
        raws.push(...(await elf.notes(s.offset, s.size, `SHT_NOTE section ${i}`, budget)));
      }
      if (raws.length > 0) source = 'SHT_NOTE';
    }
    const guest = await elf.sectionByName(sections, '__xen_guest');
    if (guest) xenGuestRaw = await elf.string(guest.offset, guest.size, 'the __xen_guest section');
  }
  const le = elf.header.le;
  const parms = emptyParms(noteRangeSeen);
  for (const raw of raws) applyNote(parms, raw, le);
  if (raws.length > 0) parms.source = source;
  let xenGuest: Record<string, string> | null = null;
  if (xenGuestRaw !== null) {
    const parsed = parseXenGuest(xenGuestRaw);
    xenGuest = parsed.pairs;
    // Legacy string counts only when no Xen note did (PV only).
    if (raws.length === 0) {
      parms.source = '__xen_guest';
      parms.noteRangeSeen = false;
      applyGuestInfo(parms, parsed.list);
    }
  }
  return { notes: raws.map((r) => decodeNote(r, le)), xenGuest, xenGuestRaw, parms, segments, sectionsRead };
}

function emptyParms(noteRangeSeen: boolean): XenParms {
  return {
    source: null, noteRangeSeen, loader: '', guestOs: '', guestVer: '', xenVer: '', pae: 'no',
    virtBase: null, virtEntry: null, hypercall: null, paddrOffset: null, phys32Entry: null,
    requiredFeatures: [], featureError: null,
  };
}

function applyNote(p: XenParms, raw: RawNote, le: boolean): void {
  const n = noteNumeric(raw.desc, le);
  const s = raw.cString;
  switch (raw.type) {
    case 1: p.virtEntry = n; break;
    case 2: p.hypercall = n; break;
    case 3: p.virtBase = n; break;
    case 4: p.paddrOffset = n; break;
    case 5: p.xenVer = s; break;
    case 6: p.guestOs = s; break;
    case 7: p.guestVer = s; break;
    case 8: p.loader = s; break;
    case 9:
      if (s === 'yes') p.pae = 'extended-cr3';
      if (s.includes('bimodal')) p.pae = 'bimodal';
      break;
    case 10: parseFeatures(p, s); break;
    case 18: p.phys32Entry = n & 0xffffffffn; break;
  }
}

/** elf_xen_parse_features: '|'-separated, tokens cut at 63 characters, '!' marks a required feature. */
function parseFeatures(p: XenParms, text: string): void {
  for (const token of text.split('|')) {
    const feature = token.slice(0, 63);
    const required = feature.startsWith('!');
    const name = required ? feature.slice(1) : feature;
    if (required && !FEATURES.includes(name)) {
      p.featureError ??= `FEATURES requires '${name}', a feature this Xen does not know`;
    } else if (required) p.requiredFeatures.push(name);
  }
}

/**
 * elf_xen_parse_guest_info: comma-separated NAME=VALUE, names cut at 31 and values at 127 characters.
 * Returns the pairs in order (later duplicates win in the record, as they overwrite in libelf).
 */
export function parseXenGuest(text: string): { pairs: Record<string, string>; list: Array<[string, string]> } {
  const list: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length && text[i] !== '\0') {
    let name = '';
    let value = '';
    for (;;) {
      if (name.length >= 31 || i >= text.length) break;
      const c = text[i] as string;
      if (c === ',') { i++; break; }
      if (c === '=') {
        i++;
        for (;;) {
          if (value.length >= 127 || i >= text.length) break;
          const d = text[i] as string;
          if (d === ',') { i++; break; }
          value += d;
          i++;
        }
        break;
      }
      name += c;
      i++;
    }
    list.push([name, value]);
  }
  const pairs: Record<string, string> = {};
  for (const [k, v] of list) pairs[k] = v;
  return { pairs, list };
}

/** C's strtoull(value, NULL, 0): 0x-hex, 0-octal or decimal prefix; garbage after the number is ignored. */
function strtoull(text: string): bigint {
  const t = text.trim();
  const m = /^[+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(t);
  if (!m) return 0n;
  const digits = m[1] as string;
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) v = BigInt(`0o${digits.slice(1)}`);
  else v = BigInt(digits);
  return v > U64 ? U64 : v;
}

function applyGuestInfo(p: XenParms, list: Array<[string, string]>): void {
  for (const [name, value] of list) {
    if (name === 'LOADER') p.loader = value;
    if (name === 'GUEST_OS') p.guestOs = value;
    if (name === 'GUEST_VER') p.guestVer = value;
    if (name === 'XEN_VER') p.xenVer = value;
    if (name === 'PAE') {
      if (value === 'yes[extended-cr3]') p.pae = 'extended-cr3';
      else if (value.startsWith('yes')) p.pae = 'yes';
    }
    if (name === 'VIRT_BASE') p.virtBase = strtoull(value);
    if (name === 'VIRT_ENTRY') p.virtEntry = strtoull(value);
    if (name === 'ELF_PADDR_OFFSET') p.paddrOffset = strtoull(value);
    if (name === 'HYPERCALL_PAGE') p.hypercall = (strtoull(value) << 12n) & U64;
    if (name === 'FEATURES') parseFeatures(p, value);
  }
  if (p.virtBase !== null && p.hypercall !== null) p.hypercall = (p.hypercall + p.virtBase) & U64;
}

export interface XenVerdict {
  pv: boolean;
  pvh: boolean;
  guestType: string | null;
  reasons: string[];
}

/** libelf's fixed-size name buffers (char[16]) truncate what its error messages quote. */
const q = (s: string): string => s.slice(0, 16);

/**
 * The domain builder's decision: elf_xen_note_check, elf_xen_addr_calc_check and the DomU feature check,
 * with the messages Xen logs. PVH (hvm=true) needs only PHYS32_ENTRY from a note.
 */
export function xenVerdict(machine: number, entry: bigint, scan: XenScan): XenVerdict {
  const p = scan.parms;
  const reasons: string[] = [];
  const x86 = machine === EM_386 || machine === EM_X86_64;
  const pvh = x86 && p.source !== '__xen_guest' && p.source !== null && p.phys32Entry !== null && p.featureError === null;
  let pv = true;
  if (!x86) {
    pv = false;
    reasons.push(machine === EM_ARM ? 'ELF: Not bothering with notes on ARM (ARM guests are not PV)' :
      `ELF machine ${machine} is not x86: XenServer's PV domain builder only boots x86 kernels`);
  } else if (!p.noteRangeSeen && p.source !== '__xen_guest') {
    pv = false;
    reasons.push("ERROR: Not a Xen-ELF image: No ELF notes or '__xen_guest' section found");
  } else if (p.featureError) {
    pv = false;
    reasons.push(p.featureError);
  } else if ((p.loader === '' || !p.loader.startsWith('generic')) && (p.guestOs === '' || !p.guestOs.startsWith('linux'))) {
    pv = false;
    reasons.push(
      `ERROR: Will only load images built for the generic loader or Linux images (Not '${q(p.loader)}' and '${q(p.guestOs)}') or with PHYS32_ENTRY set`,
    );
  } else if (p.xenVer === '' || !p.xenVer.startsWith('xen-3.0')) {
    pv = false;
    reasons.push(`ERROR: Xen will only load images built for Xen v3.0 (Not '${q(p.xenVer)}')`);
  } else {
    const bounds = addressCheck(p, entry, scan.segments);
    if (bounds) {
      pv = false;
      reasons.push(bounds);
    } else if (p.requiredFeatures.includes('dom0')) {
      pv = false;
      reasons.push('Kernel does not support unprivileged (DomU) operation');
    }
  }
  if (pv) {
    const from = p.source === '__xen_guest' ? "the legacy '__xen_guest' section" : `Xen ELF notes (${p.source})`;
    reasons.push(`accepted: ${from} give GUEST_OS '${p.guestOs}', LOADER '${p.loader}', XEN_VERSION '${p.xenVer}'`);
  }
  if (pvh) reasons.push(`PVH: PHYS32_ENTRY ${'0x' + (p.phys32Entry as bigint).toString(16)} is set ("ELF: Found PVH image")`);
  let guestType: string | null = null;
  if (pv || pvh) {
    if (machine === EM_X86_64) guestType = 'xen-3.0-x86_64';
    else guestType = p.pae === 'no' ? 'xen-3.0-x86_32' : 'xen-3.0-x86_32p';
  }
  return { pv, pvh, guestType, reasons };
}

/** elf_xen_addr_calc_check for PV: the kernel's virtual range must contain its entry point. */
function addressCheck(p: XenParms, eEntry: bigint, segments: Segment[]): string | null {
  if (p.paddrOffset !== null && p.virtBase === null) return 'ERROR: ELF_PADDR_OFFSET set, VIRT_BASE unset';
  const virtBase = p.virtBase ?? 0n;
  // Legacy __xen_guest kernels wrote virt_base into p_paddr, so the default offset is virt_base there.
  const paddrOffset = p.paddrOffset ?? (p.noteRangeSeen ? 0n : virtBase);
  let low = U64;
  let high = 0n;
  for (const s of segments) {
    if (s.type !== ElfReader.PT_LOAD || (s.flags & 7) === 0) continue;
    if (s.paddr < low) low = s.paddr;
    const top = (s.paddr + s.memsz) & U64;
    if (top > high) high = top;
  }
  const offset = (virtBase - paddrOffset) & U64;
  const kstart = (low + offset) & U64;
  const kend = (high + offset) & U64;
  const vEntry = p.virtEntry ?? eEntry;
  if (kstart > kend || vEntry < kstart || vEntry > kend || virtBase > kstart) {
    return 'ERROR: ELF start or entries are out of bounds';
  }
  return null;
}
