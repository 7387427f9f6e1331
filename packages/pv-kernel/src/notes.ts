/**
 * Xen ELF notes: numbers from xen/include/public/elfnote.h, value kinds from libelf-dominfo.c's
 * note_desc table, display in the exact form tools/xcutils/readnotes.c (Xen 4.17) prints.
 */
export type NoteKind = 'string' | 'int' | 'l1_mfn_valid' | 'opaque';

interface NoteInfo {
  name: string;
  kind: NoteKind;
  /** How readnotes 4.17 prints it; absent = "unknown note type". */
  print?: 'string' | 'numeric' | 'l1_mfn_valid';
}

export const XEN_NOTES: Readonly<Record<number, NoteInfo>> = {
  0: { name: 'INFO', kind: 'string', print: 'string' },
  1: { name: 'ENTRY', kind: 'int', print: 'numeric' },
  2: { name: 'HYPERCALL_PAGE', kind: 'int', print: 'numeric' },
  3: { name: 'VIRT_BASE', kind: 'int', print: 'numeric' },
  4: { name: 'PADDR_OFFSET', kind: 'int', print: 'numeric' },
  5: { name: 'XEN_VERSION', kind: 'string', print: 'string' },
  6: { name: 'GUEST_OS', kind: 'string', print: 'string' },
  7: { name: 'GUEST_VERSION', kind: 'string', print: 'string' },
  8: { name: 'LOADER', kind: 'string', print: 'string' },
  9: { name: 'PAE_MODE', kind: 'string', print: 'string' },
  10: { name: 'FEATURES', kind: 'string', print: 'string' },
  11: { name: 'BSD_SYMTAB', kind: 'string' },
  12: { name: 'HV_START_LOW', kind: 'int', print: 'numeric' },
  13: { name: 'L1_MFN_VALID', kind: 'l1_mfn_valid', print: 'l1_mfn_valid' },
  14: { name: 'SUSPEND_CANCEL', kind: 'int', print: 'numeric' },
  15: { name: 'INIT_P2M', kind: 'int' },
  16: { name: 'MOD_START_PFN', kind: 'int' },
  17: { name: 'SUPPORTED_FEATURES', kind: 'int' },
  18: { name: 'PHYS32_ENTRY', kind: 'int', print: 'numeric' },
  19: { name: 'PHYS32_RELOC', kind: 'opaque' },
};

export interface XenNote {
  /** The note's n_type. */
  type: number;
  /** libelf's name for the type, or UNKNOWN_<n>. */
  name: string;
  kind: NoteKind;
  /** Strings as Xen reads them (to the NUL); numbers as 0x-hex (u64, JSON-safe); L1_MFN_VALID as "mask=…,value=…". */
  value: string;
  descsz: number;
  /** The line readnotes prints for this note, or null where it prints nothing. */
  display: string | null;
}

/** A raw note as found in the ELF: the descriptor bytes exactly as stored. */
export interface RawNote {
  type: number;
  desc: Uint8Array;
  /** The descriptor read as a C string to the first NUL (or the range end), as readnotes prints it. */
  cString: string;
}

/** libelf's elf_note_numeric: 1/2/4/8-byte descriptors are numbers, any other size reads as 0. */
export function noteNumeric(desc: Uint8Array, le: boolean): bigint {
  const n = desc.length;
  if (n !== 1 && n !== 2 && n !== 4 && n !== 8) return 0n;
  const v = new DataView(desc.buffer, desc.byteOffset, n);
  if (n === 1) return BigInt(v.getUint8(0));
  if (n === 2) return BigInt(v.getUint16(0, le));
  if (n === 4) return BigInt(v.getUint32(0, le));
  return v.getBigUint64(0, le);
}

/** printf's "%#x" for an unsigned value: "0" stays "0", everything else gets "0x". */
export function hashHex(value: bigint | number): string {
  return value === 0n || value === 0 ? '0' : `0x${value.toString(16)}`;
}

function l1MfnValid(desc: Uint8Array, le: boolean): { mask: bigint; value: bigint } | null {
  const v = new DataView(desc.buffer, desc.byteOffset, desc.length);
  // readnotes switches on descsz / 2 and prints nothing for any other size.
  const half = Math.trunc(desc.length / 2);
  if (half === 8) return { mask: v.getBigUint64(0, le), value: v.getBigUint64(8, le) };
  if (half === 4) return { mask: BigInt(v.getUint32(0, le)), value: BigInt(v.getUint32(4, le)) };
  return null;
}

export function decodeNote(raw: RawNote, le: boolean): XenNote {
  const info = XEN_NOTES[raw.type];
  const descsz = raw.desc.length;
  const name = info?.name ?? `UNKNOWN_${raw.type}`;
  const kind: NoteKind = info?.kind ?? 'opaque';
  const numeric = noteNumeric(raw.desc, le);
  const l1 = kind === 'l1_mfn_valid' ? l1MfnValid(raw.desc, le) : null;
  let value: string;
  if (kind === 'string') value = raw.cString;
  else if (kind === 'int') value = `0x${numeric.toString(16)}`;
  else if (l1) value = `mask=0x${l1.mask.toString(16)},value=0x${l1.value.toString(16)}`;
  else value = Buffer.from(raw.desc).toString('hex');

  let display: string | null;
  switch (info?.print) {
    case 'string':
      display = `${name}: ${raw.cString}`;
      break;
    case 'numeric': {
      // "%s: %#*lx (%d bytes)" with width 2+2*descsz.
      const width = Math.min(2 + 2 * descsz, 4096);
      display = `${name}: ${hashHex(numeric).padStart(width, ' ')} (${descsz} bytes)`;
      break;
    }
    case 'l1_mfn_valid':
      display = l1 ? `${name}: mask=${hashHex(l1.mask)} value=${hashHex(l1.value)}` : null;
      break;
    default:
      display = `unknown note type ${hashHex(raw.type)}`;
  }
  return { type: raw.type, name, kind, value, descsz, display };
}
