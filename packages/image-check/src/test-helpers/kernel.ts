/**
 * A minimal x86_64 ELF "kernel": one PT_LOAD holding a linux_banner, and (when `pv`) a PT_NOTE with
 * the Xen notes a pv_ops kernel carries (GUEST_OS linux, XEN_VERSION xen-3.0, LOADER generic).
 * Small enough to build per test; Xen's readnotes reads it like a real kernel.
 */
export function miniKernel(version: string, pv: boolean): Uint8Array {
  const notes: [number, string][] = [
    [6, 'linux'],
    [7, '2.6'],
    [5, 'xen-3.0'],
    [8, 'generic'],
  ];
  const pad4 = (n: number) => (n + 3) & ~3;
  const noteBytes: number[] = [];
  for (const [type, desc] of notes) {
    const d = [...Buffer.from(`${desc}\0`)];
    const h = Buffer.alloc(12);
    h.writeUInt32LE(4, 0); // namesz "Xen\0"
    h.writeUInt32LE(d.length, 4);
    h.writeUInt32LE(type, 8);
    noteBytes.push(...h, ...Buffer.from('Xen\0'), ...d, ...new Array(pad4(d.length) - d.length).fill(0));
  }
  const banner = Buffer.from(`Linux version ${version} (builder@example) (gcc 4.4) #1 SMP\n\0`);
  const phnum = pv ? 2 : 1;
  const headers = 64 + 56 * phnum;
  const noteOff = headers;
  const bannerOff = noteOff + (pv ? noteBytes.length : 0);
  const size = bannerOff + banner.length + 64;
  const f = Buffer.alloc(size);
  const base = 0x1000000n;
  // ELF header (e_ident, e_type EXEC, e_machine x86_64, e_version, e_entry, e_phoff, e_shoff, flags, sizes)
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(f, 0);
  f.writeUInt16LE(2, 16); // e_type ET_EXEC
  f.writeUInt16LE(0x3e, 18); // e_machine EM_X86_64
  f.writeUInt32LE(1, 20); // e_version
  f.writeBigUInt64LE(base + BigInt(bannerOff), 24); // e_entry, inside the PT_LOAD
  f.writeBigUInt64LE(64n, 32); // e_phoff
  f.writeBigUInt64LE(0n, 40); // e_shoff
  f.writeUInt16LE(64, 52); // e_ehsize
  f.writeUInt16LE(56, 54); // e_phentsize
  f.writeUInt16LE(phnum, 56); // e_phnum
  f.writeUInt16LE(64, 58); // e_shentsize
  // PT_LOAD covering the whole file, R+X.
  let ph = 64;
  f.writeUInt32LE(1, ph);
  f.writeUInt32LE(5, ph + 4);
  f.writeBigUInt64LE(0n, ph + 8);
  f.writeBigUInt64LE(base, ph + 16);
  f.writeBigUInt64LE(base, ph + 24);
  f.writeBigUInt64LE(BigInt(size), ph + 32);
  f.writeBigUInt64LE(BigInt(size), ph + 40);
  f.writeBigUInt64LE(0x1000n, ph + 48);
  if (pv) {
    ph += 56;
    f.writeUInt32LE(4, ph); // PT_NOTE
    f.writeUInt32LE(4, ph + 4);
    f.writeBigUInt64LE(BigInt(noteOff), ph + 8);
    f.writeBigUInt64LE(base + BigInt(noteOff), ph + 16);
    f.writeBigUInt64LE(base + BigInt(noteOff), ph + 24);
    f.writeBigUInt64LE(BigInt(noteBytes.length), ph + 32);
    f.writeBigUInt64LE(BigInt(noteBytes.length), ph + 40);
    f.writeBigUInt64LE(4n, ph + 48);
    Buffer.from(noteBytes).copy(f, noteOff);
  }
  banner.copy(f, bannerOff);
  return new Uint8Array(f);
}
