import { KernelError } from './errors.js';
import type { KernelImage } from './image.js';
import type { RawNote } from './notes.js';

export const EM_386 = 3;
export const EM_X86_64 = 62;
export const EM_ARM = 40;
const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_NOTE = 7;
// libelf's cap on notes across the whole image (ELF_MAX_TOTAL_NOTE_COUNT).
export const MAX_TOTAL_NOTES = 2048;

const MACHINES: Record<number, string> = {
  2: 'SPARC', 3: 'x86 (EM_386)', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S390', 40: 'ARM',
  50: 'IA-64', 62: 'x86-64 (EM_X86_64)', 183: 'AArch64', 243: 'RISC-V',
};

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `EM_${machine}`;
}

/** Elf32_Ehdr / Elf64_Ehdr fields libelf uses (e_ident@0, e_machine@18, then class-dependent offsets). */
export interface ElfHeader {
  class: 32 | 64;
  le: boolean;
  machine: number;
  entry: bigint;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  filesz: number;
  paddr: bigint;
  memsz: bigint;
}

export interface Section {
  nameOffset: number;
  type: number;
  offset: number;
  size: number;
}

/** An ELF being read from a progressively decompressed image; every read first makes its bytes available. */
export class ElfReader {
  private constructor(
    readonly image: KernelImage,
    readonly header: ElfHeader,
    private readonly label: string,
  ) {}

  static async open(image: KernelImage, label: string): Promise<ElfReader> {
    const b = (await image.range(0, 64)) ?? image.prefix;
    if (b.length < 52 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
      throw new KernelError('E_KERNEL_NOT_ELF', `${label}: the kernel payload is not an ELF image (no \\x7fELF magic)`);
    }
    const cls = b[4];
    const data = b[5];
    if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) {
      throw new KernelError('E_KERNEL_ELF_HEADER', `${label}: ELF class ${cls} / data encoding ${data} is invalid`);
    }
    const le = data === 1;
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const is64 = cls === 2;
    if (is64 && b.length < 64) throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the ELF header is cut off`);
    const header: ElfHeader = is64
      ? {
          // Elf64_Ehdr: e_entry@24 e_phoff@32 e_shoff@40 e_phentsize@54 e_phnum@56 e_shentsize@58 e_shnum@60 e_shstrndx@62
          class: 64, le, machine: v.getUint16(18, le), entry: v.getBigUint64(24, le),
          phoff: big(v.getBigUint64(32, le)), shoff: big(v.getBigUint64(40, le)),
          phentsize: v.getUint16(54, le), phnum: v.getUint16(56, le),
          shentsize: v.getUint16(58, le), shnum: v.getUint16(60, le), shstrndx: v.getUint16(62, le),
        }
      : {
          // Elf32_Ehdr: e_entry@24 e_phoff@28 e_shoff@32 e_phentsize@42 e_phnum@44 e_shentsize@46 e_shnum@48 e_shstrndx@50
          class: 32, le, machine: v.getUint16(18, le), entry: BigInt(v.getUint32(24, le)),
          phoff: v.getUint32(28, le), shoff: v.getUint32(32, le),
          phentsize: v.getUint16(42, le), phnum: v.getUint16(44, le),
          shentsize: v.getUint16(46, le), shnum: v.getUint16(48, le), shstrndx: v.getUint16(50, le),
        };
    const minPh = is64 ? 56 : 32;
    const minSh = is64 ? 64 : 40;
    if (header.phnum > 0 && header.phentsize < minPh) {
      throw new KernelError('E_KERNEL_ELF_HEADER', `${label}: e_phentsize ${header.phentsize} is smaller than a program header (${minPh})`);
    }
    if (header.shnum > 0 && header.shentsize < minSh) {
      throw new KernelError('E_KERNEL_ELF_HEADER', `${label}: e_shentsize ${header.shentsize} is smaller than a section header (${minSh})`);
    }
    return new ElfReader(image, header, label);
  }

  /** Make [start, end) available or fail naming the structure that points past the image. */
  async need(start: number, end: number, what: string): Promise<Uint8Array> {
    if (end > this.image.limit && !this.image.complete) {
      // A compressed image: reaching this structure would mean decompressing past the cap.
      throw new KernelError(
        'E_KERNEL_OUTPUT_LIMIT',
        `${this.label}: ${what} (bytes ${start}..${end}) lies beyond the ${this.image.limit}-byte decompression limit ` +
          `(a decompression bomb or a corrupt header; raise maxOutputBytes if the kernel is genuinely that large)`,
        { start, end, maxOutputBytes: this.image.limit },
      );
    }
    const bytes = await this.image.range(start, end);
    if (!bytes) {
      throw new KernelError(
        'E_KERNEL_ELF_RANGE',
        `${this.label}: ${what} (bytes ${start}..${end}) lies past the end of the ${this.image.length}-byte ELF image`,
        { start, end, imageSize: this.image.length },
      );
    }
    return bytes;
  }

  async segments(): Promise<Segment[]> {
    const { phoff, phentsize, phnum, le } = this.header;
    if (phnum === 0) return [];
    const table = await this.need(phoff, phoff + phentsize * phnum, `the program header table (${phnum} entries)`);
    const v = new DataView(table.buffer, table.byteOffset, table.length);
    const out: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      out.push(
        this.header.class === 64
          ? // Elf64_Phdr: p_type@0 p_flags@4 p_offset@8 p_paddr@24 p_filesz@32 p_memsz@40
            { type: v.getUint32(o, le), flags: v.getUint32(o + 4, le), offset: big(v.getBigUint64(o + 8, le)),
              paddr: v.getBigUint64(o + 24, le), filesz: big(v.getBigUint64(o + 32, le)), memsz: v.getBigUint64(o + 40, le) }
          : // Elf32_Phdr: p_type@0 p_offset@4 p_paddr@12 p_filesz@16 p_memsz@20 p_flags@24
            { type: v.getUint32(o, le), offset: v.getUint32(o + 4, le), paddr: BigInt(v.getUint32(o + 12, le)),
              filesz: v.getUint32(o + 16, le), memsz: BigInt(v.getUint32(o + 20, le)), flags: v.getUint32(o + 24, le) },
      );
    }
    return out;
  }

  async sections(): Promise<Section[]> {
    const { shoff, shentsize, shnum, le } = this.header;
    if (shnum === 0) return [];
    const table = await this.need(shoff, shoff + shentsize * shnum, `the section header table (${shnum} entries)`);
    const v = new DataView(table.buffer, table.byteOffset, table.length);
    const out: Section[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      out.push(
        this.header.class === 64
          ? // Elf64_Shdr: sh_name@0 sh_type@4 sh_offset@24 sh_size@32
            { nameOffset: v.getUint32(o, le), type: v.getUint32(o + 4, le), offset: big(v.getBigUint64(o + 24, le)), size: big(v.getBigUint64(o + 32, le)) }
          : // Elf32_Shdr: sh_name@0 sh_type@4 sh_offset@16 sh_size@20
            { nameOffset: v.getUint32(o, le), type: v.getUint32(o + 4, le), offset: v.getUint32(o + 16, le), size: v.getUint32(o + 20, le) },
      );
    }
    return out;
  }

  /** elf_shdr_by_name: the first section whose name in .shstrtab equals `name`. */
  async sectionByName(sections: Section[], name: string): Promise<Section | null> {
    const strtab = sections[this.header.shstrndx];
    if (!strtab || this.header.shstrndx === 0) return null;
    const table = await this.need(strtab.offset, strtab.offset + strtab.size, 'the section name table');
    const want = new TextEncoder().encode(name);
    for (const s of sections) {
      const at = s.nameOffset;
      if (at + want.length >= table.length) continue;
      if (table[at + want.length] === 0 && want.every((c, i) => table[at + i] === c)) return s;
    }
    return null;
  }

  /** The notes in [start, start+size), walked as libelf's elf_note_next does (4-byte aligned name/desc). */
  async notes(start: number, size: number, what: string, budget: { left: number }): Promise<RawNote[]> {
    const bytes = await this.need(start, start + size, what);
    const le = this.header.le;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const out: RawNote[] = [];
    for (let p = 0; p + 12 <= bytes.length; ) {
      if (budget.left <= 0) break; // libelf: "too many ELF notes"
      budget.left--;
      const namesz = v.getUint32(p, le);
      const descsz = v.getUint32(p + 4, le);
      const type = v.getUint32(p + 8, le);
      // Rounded in 32 bits, as libelf does, so a size near 2^32 wraps instead of looping forever.
      const nameStart = p + 12;
      const descStart = nameStart + (((namesz + 3) & ~3) >>> 0);
      const next = descStart + (((descsz + 3) & ~3) >>> 0);
      const name = cString(bytes, nameStart, bytes.length);
      if (name === 'Xen') {
        if (descStart + descsz > bytes.length) {
          throw new KernelError('E_KERNEL_ELF_RANGE', `${this.label}: Xen note type ${type} in ${what} claims ${descsz} descriptor bytes past the end of the notes`, { type, descsz });
        }
        const desc = bytes.subarray(descStart, descStart + descsz);
        out.push({ type, desc, cString: cString(bytes, descStart, bytes.length) ?? '' });
      }
      p = next;
    }
    return out;
  }

  /** The C string at an offset (for __xen_guest), read to its NUL or the section end. */
  async string(start: number, size: number, what: string): Promise<string> {
    const bytes = await this.need(start, start + size, what);
    return cString(bytes, 0, bytes.length) ?? new TextDecoder('latin1').decode(bytes);
  }

  static readonly PT_LOAD = PT_LOAD;
  static readonly PT_NOTE = PT_NOTE;
  static readonly SHT_NOTE = SHT_NOTE;
}

/** A NUL-terminated string inside [start, limit), or null when no NUL is found (libelf's elf_strval). */
export function cString(bytes: Uint8Array, start: number, limit: number): string | null {
  const end = bytes.subarray(0, limit).indexOf(0, start);
  if (start >= limit || end < 0) return null;
  return new TextDecoder('latin1').decode(bytes.subarray(start, end));
}

// Offsets beyond 2^53 cannot be in any image we could hold; keep them huge so range checks reject them.
function big(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
