import { KernelError } from './errors.js';

/**
 * The x86 real-mode setup header (Documentation/arch/x86/boot.rst), the fields Xen's bzImage loader and we
 * read. Offsets are file offsets, little-endian.
 */
export interface SetupHeader {
  setupSects: number; // 0x1F1 u8; 0 means 4
  bootFlag: number; // 0x1FE u16, 0xAA55
  version: number; // 0x206 u16, (major << 8) | minor
  kernelVersion: string | null; // string at 0x200 + u16@0x20E (protocol 2.00+)
  loadflags: number; // 0x211 u8
  payloadOffset: number | null; // 0x248 u32 (2.08+), from the start of the protected-mode code
  payloadLength: number | null; // 0x24C u32 (2.08+)
}

export function isBzImage(file: Uint8Array): boolean {
  // "HdrS" at 0x202
  return file.length >= 0x206 && file[0x202] === 0x48 && file[0x203] === 0x64 && file[0x204] === 0x72 && file[0x205] === 0x53;
}

export function readSetupHeader(file: Uint8Array): SetupHeader {
  const v = new DataView(file.buffer, file.byteOffset, file.length);
  const u16 = (o: number): number => (o + 2 <= file.length ? v.getUint16(o, true) : 0);
  const u32 = (o: number): number | null => (o + 4 <= file.length ? v.getUint32(o, true) : null);
  const version = u16(0x206);
  let kernelVersion: string | null = null;
  const ptr = u16(0x20e);
  if (version >= 0x200 && ptr !== 0) {
    const at = 0x200 + ptr;
    if (at < file.length) {
      const end = file.indexOf(0, at);
      const stop = Math.min(end < 0 ? file.length : end, at + 256);
      const text = new TextDecoder('latin1').decode(file.subarray(at, stop)).trim();
      kernelVersion = /^[\x20-\x7e]+$/.test(text) ? text : null;
    }
  }
  const has208 = version >= 0x208;
  return {
    setupSects: file[0x1f1] ?? 0,
    bootFlag: u16(0x1fe),
    version,
    kernelVersion,
    loadflags: file[0x211] ?? 0,
    payloadOffset: has208 ? u32(0x248) : null,
    payloadLength: has208 ? u32(0x24c) : null,
  };
}

/** "2.08" from 0x0208. */
export function protocolString(version: number): string {
  return `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
}

/**
 * Locate the compressed ELF payload in a file of `fileSize` bytes exactly as xc_dom_probe_bzimage_kernel does: (setup_sects + 1) * 512 +
 * payload_offset, with payload_length, both bounds-checked against the file. Like Xen we do not apply the
 * boot protocol's "setup_sects 0 means 4": a kernel new enough to carry a payload never writes 0.
 */
export function payloadRange(fileSize: number, hdr: SetupHeader, label: string): { start: number; length: number } {
  const start = (hdr.setupSects + 1) * 512 + (hdr.payloadOffset ?? 0);
  const length = hdr.payloadLength ?? 0;
  if (start >= fileSize) {
    throw new KernelError('E_KERNEL_PAYLOAD_RANGE', `${label}: bzImage payload offset ${start} is past the end of the ${fileSize}-byte file (Xen: "payload offset overflow")`, {
      payloadOffset: hdr.payloadOffset, setupSects: hdr.setupSects, fileSize,
    });
  }
  if (start + length > fileSize) {
    throw new KernelError('E_KERNEL_PAYLOAD_RANGE', `${label}: bzImage payload (${length} bytes at ${start}) runs past the end of the ${fileSize}-byte file (Xen: "payload length overflow")`, {
      payloadOffset: hdr.payloadOffset, payloadLength: length, fileSize,
    });
  }
  return { start, length };
}
