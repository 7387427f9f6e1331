import { open, stat } from 'node:fs/promises';
import { UsageError, silentLogger, toXenkitError, type Logger } from '@xenkit/core';
import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { isBzImage, payloadRange, protocolString, readSetupHeader } from './bzimage.js';
import { detectCodec, openDecoder, sizeHint, type Codec } from './codecs/index.js';
import { ElfReader, machineName } from './elf.js';
import { KernelError } from './errors.js';
import { ProgressiveImage, type KernelImage } from './image.js';
import { diskImageKind, locateFileInImage, readHead, type ImageKernelSource } from './in-image.js';
import type { XenNote } from './notes.js';
import { scanXen, xenVerdict, type XenVerdict } from './xen.js';

export interface AnalyzeOptions {
  /** Name used in messages (defaults to the path, or "kernel" for a buffer). */
  name?: string;
  /** Cap on decompressed bytes; a payload that needs more is a decompression bomb. Default 256 MiB. */
  maxOutputBytes?: number;
  /** Also read the section table when PT_NOTE notes were found, to report `__xen_guest` as readnotes does. */
  exhaustive?: boolean;
  logger?: Logger;
}

export interface KernelAnalysis {
  name: string;
  size: number;
  container: 'bzImage' | 'gzip' | 'elf';
  codec: Codec | 'none' | 'unknown';
  /** The release ("6.1.0-56-cloud-amd64"): from the bzImage kernel_version string, else linux_banner. */
  version: string | null;
  /** The whole kernel_version / banner text it came from. */
  versionString: string | null;
  versionSource: 'kernel_version' | 'linux_banner' | null;
  bzImage: { protocol: string; setupSects: number; payloadOffset: number | null; payloadLength: number | null } | null;
  elf: { class: 32 | 64; machine: string; machineNumber: number; endian: 'little' | 'big' } | null;
  /** Every note named "Xen" from the place libelf took them (PT_NOTE, else SHT_NOTE), in file order. */
  notes: XenNote[];
  noteSource: 'PT_NOTE' | 'SHT_NOTE' | '__xen_guest' | null;
  /** The legacy `__xen_guest` string's NAME=VALUE pairs, when the section was read. */
  xenGuest: Record<string, string> | null;
  xenGuestRaw: string | null;
  verdict: XenVerdict;
  /** How many decompressed bytes were needed, and whether that was the whole image. */
  decompressedBytes: number;
  decompressedAll: boolean;
  /** Where the kernel was read from when it came out of a disk image. */
  image?: ImageKernelSource;
}

const DEFAULT_MAX_OUTPUT = 256 << 20;
// No kernel file is near this size; refusing it early keeps a wrong path from being read into memory.
const MAX_INPUT = 1 << 30;

/** A file inside an already opened filesystem (an ext volume of an image, a host tree...). */
export interface FileInFilesystem {
  fs: ReadOnlyFileSystem;
  path: string;
}

/** A file inside a disk image on the host; the volume is found by where the path exists unless named. */
export interface FileInImage {
  image: string;
  path: string;
  /** probeDisk's volume id ("p1", "lv:vg/root"). */
  volume?: string;
}

/** A kernel: bytes, a host path, a stream of bytes (a Node Readable...), or a file inside a filesystem or image. */
export type KernelInput = Uint8Array | string | AsyncIterable<Uint8Array> | FileInFilesystem | FileInImage;

// Streams are objects too (an fs.ReadStream even has a `path`): only a non-iterable object is a location.
function isLocation(input: KernelInput): input is FileInFilesystem | FileInImage {
  return typeof input === 'object' && !(input instanceof Uint8Array) && !(Symbol.asyncIterator in input);
}

function isFileInFilesystem(input: KernelInput): input is FileInFilesystem {
  return isLocation(input) && 'fs' in input && 'path' in input;
}

function isFileInImage(input: KernelInput): input is FileInImage {
  return isLocation(input) && 'image' in input && 'path' in input;
}

/** The kernel file: its size and ranged reads, so a kernel inside an image is read only where needed. */
interface KernelFile {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
  /** The whole file, when it is already in memory. */
  bytes?: Uint8Array;
}

function inMemory(bytes: Uint8Array): KernelFile {
  return { size: bytes.length, bytes, read: async (offset, length) => bytes.subarray(offset, offset + length), close: async () => {} };
}

function tooLarge(label: string, size: number): KernelError {
  return new KernelError('E_KERNEL_TOO_LARGE', `${label} is ${size} bytes, larger than any kernel`, { size });
}

async function openKernel(input: Exclude<KernelInput, FileInImage>, label: string): Promise<KernelFile> {
  if (input instanceof Uint8Array) return inMemory(input);
  if (isFileInFilesystem(input)) {
    // openFile follows symlinks inside the filesystem's root only.
    const st = await input.fs.stat(input.path);
    if (st.type !== 'file') throw new KernelError('E_KERNEL_UNKNOWN_FORMAT', `${label} is a ${st.type}, not a kernel file`, { type: st.type });
    if (st.size > MAX_INPUT) throw tooLarge(label, st.size);
    return input.fs.openFile(input.path);
  }
  if (typeof input !== 'string') {
    // Streams are gathered (bounded): the bzImage header and the gzip/ELF checks need random access.
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of input) {
      total += chunk.length;
      if (total > MAX_INPUT) throw new KernelError('E_KERNEL_TOO_LARGE', `${label} is more than ${MAX_INPUT} bytes, larger than any kernel`);
      parts.push(chunk);
    }
    return inMemory(Buffer.concat(parts, total));
  }
  try {
    const st = await stat(input);
    if (st.isDirectory()) {
      throw new KernelError('E_KERNEL_UNKNOWN_FORMAT', `${label} is a directory, not a kernel file`);
    }
    // A disk image given where a kernel is expected: say so before reading it (or calling it corrupt).
    if (!looksLikeKernel(await readHead(input, 0x400))) await refuseDiskImage(input);
    if (st.size > MAX_INPUT) throw tooLarge(label, st.size);
    const handle = await open(input, 'r');
    const size = st.size;
    return {
      size,
      read: async (offset, length) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        return buf.subarray(0, bytesRead);
      },
      close: () => handle.close(),
    };
  } catch (error) {
    throw toXenkitError(error, { path: input });
  }
}

async function readAll(file: KernelFile, label: string): Promise<Uint8Array> {
  if (file.bytes) return file.bytes;
  const bytes = await file.read(0, file.size);
  if (bytes.length !== file.size) throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the file ended after ${bytes.length} of ${file.size} bytes`, { size: file.size });
  return bytes;
}

// The setup header, and the kernel_version string it points at (at most 0x200 + 0xFFFF + 256 bytes in).
const HEAD_BYTES = 0x10400;

/**
 * Unwrap a kernel (bzImage → payload codec, or whole-file gzip, or plain ELF) just far enough to read its
 * Xen notes, then decide as Xen's PV domain builder would.
 */
export async function analyzeKernel(input: KernelInput, options: AnalyzeOptions = {}): Promise<KernelAnalysis> {
  if (isFileInImage(input)) {
    const located = await locateFileInImage(input.image, input.path, { volume: input.volume, logger: options.logger });
    try {
      const name = options.name ?? `${input.image}:${located.source.volume}:${located.source.path}`;
      const analysis = await analyzeKernel({ fs: located.fs, path: located.source.path }, { ...options, name });
      return { ...analysis, image: located.source };
    } finally {
      await located.close();
    }
  }
  const label = options.name ?? (typeof input === 'string' ? input : isFileInFilesystem(input) ? `${input.fs.description}:${input.path}` : 'kernel');
  const log = (options.logger ?? silentLogger).child({ kernel: label });
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const file = await openKernel(input, label);
  try {
    return await analyzeFile(file, label, cap, options, log);
  } finally {
    await file.close();
  }
}

async function analyzeFile(file: KernelFile, label: string, cap: number, options: AnalyzeOptions, log: Logger): Promise<KernelAnalysis> {
  const head = file.bytes ?? (await file.read(0, Math.min(file.size, HEAD_BYTES)));
  let container: KernelAnalysis['container'];
  let codec: KernelAnalysis['codec'] = 'none';
  let version: string | null = null;
  let bz: KernelAnalysis['bzImage'] = null;
  let image: KernelImage;
  if (isBzImage(head)) {
    container = 'bzImage';
    const hdr = readSetupHeader(head);
    version = hdr.kernelVersion;
    bz = { protocol: protocolString(hdr.version), setupSects: hdr.setupSects, payloadOffset: hdr.payloadOffset, payloadLength: hdr.payloadLength };
    if (hdr.version < 0x208) {
      // Xen's bzImage loader stops here, and the ELF loader cannot read a bzImage either.
      return tooOld(label, file.size, version, bz, hdr.version);
    }
    const { start, length } = payloadRange(file.size, hdr, label);
    const magic = await file.read(start, Math.min(length, 8));
    const found = detectCodec(magic);
    if (!found) {
      throw new KernelError('E_KERNEL_UNKNOWN_CODEC', `${label}: bzImage payload has an unknown compression format (magic ${hex(magic.subarray(0, 4))}; Xen knows gzip, bzip2, xz, zstd, lzma, lzo and lz4)`, { magic: hex(magic.subarray(0, 4)) });
    }
    codec = found;
    if (codec === 'lz4') {
      // LZ4 legacy blocks are independent: only those up to the Xen notes are read from the file.
      const { Lz4SeekableImage } = await import('./codecs/lz4-seek.js');
      const payload = file.bytes?.subarray(start, start + length) ?? { length, read: (offset: number, n: number) => file.read(start + offset, n) };
      image = new Lz4SeekableImage(payload, cap, label);
    } else {
      const payload = file.bytes?.subarray(start, start + length) ?? (await file.read(start, length));
      image = new ProgressiveImage(await openDecoder(codec, payload, label, cap), cap, label, undefined, sizeHint(payload));
    }
  } else if (head[0] === 0x1f && head[1] === 0x8b) {
    container = 'gzip';
    codec = 'gzip';
    const payload = await readAll(file, label);
    image = new ProgressiveImage(await openDecoder(codec, payload, label, cap), cap, label, undefined, sizeHint(payload));
  } else if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    container = 'elf';
    const payload = await readAll(file, label);
    image = new ProgressiveImage(null, Math.max(cap, payload.length), label, payload);
  } else {
    throw new KernelError('E_KERNEL_UNKNOWN_FORMAT', `${label} is not a kernel Xen can load: no bzImage "HdrS" header, gzip or ELF magic`, { size: file.size });
  }

  try {
    const elf = await ElfReader.open(image, label);
    const scan = await scanXen(elf, options.exhaustive ?? false);
    const verdict = xenVerdict(elf.header.machine, elf.header.entry, scan);
    let versionSource: KernelAnalysis['versionSource'] = version ? 'kernel_version' : null;
    if (!version) {
      version = bannerVersion(image.prefix);
      if (version) versionSource = 'linux_banner';
    }
    const versionString = version;
    version = releaseOf(version);
    log.debug({ codec, decompressed: image.length, notes: scan.notes.length }, 'kernel analysed');
    return {
      name: label, size: file.size, container, codec, version, versionString, versionSource, bzImage: bz,
      elf: { class: elf.header.class, machine: machineName(elf.header.machine), machineNumber: elf.header.machine, endian: elf.header.le ? 'little' : 'big' },
      notes: scan.notes, noteSource: scan.parms.source, xenGuest: scan.xenGuest, xenGuestRaw: scan.xenGuestRaw,
      verdict, decompressedBytes: image.length, decompressedAll: image.complete,
    };
  } finally {
    await image.close();
  }
}

function tooOld(label: string, size: number, version: string | null, bz: NonNullable<KernelAnalysis['bzImage']>, raw: number): KernelAnalysis {
  return {
    name: label, size, container: 'bzImage', codec: 'unknown', version: releaseOf(version), versionString: version, versionSource: version ? 'kernel_version' : null,
    bzImage: bz, elf: null, notes: [], noteSource: null, xenGuest: null, xenGuestRaw: null,
    verdict: {
      pv: false, pvh: false, guestType: null,
      reasons: [
        `xc_dom_probe_bzimage_kernel: boot protocol too old (${raw.toString(16).padStart(4, '0')})`,
        'xc_dom_find_loader: no loader found (a bzImage older than boot protocol 2.08 carries no ELF payload Xen can load)',
      ],
    },
    decompressedBytes: 0, decompressedAll: false,
  };
}

/** linux_banner ("Linux version 2.6.18-… (…)") in the bytes already decompressed; never decompresses more. */
export function bannerVersion(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = buf.indexOf('Linux version ');
  for (let tries = 0; at >= 0 && tries < 16; tries++) {
    const start = at + 14;
    const c = buf[start] ?? 0;
    if (c >= 0x30 && c <= 0x39) {
      let end = start;
      while (end < buf.length && end - start < 64 && (buf[end] as number) > 0x20 && (buf[end] as number) < 0x7f) end++;
      return buf.toString('latin1', start, end);
    }
    at = buf.indexOf('Linux version ', start);
  }
  return null;
}

function looksLikeKernel(head: Uint8Array): boolean {
  return isBzImage(head) || (head[0] === 0x1f && head[1] === 0x8b) || (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46);
}

async function refuseDiskImage(path: string): Promise<void> {
  const kind = await diskImageKind(path);
  if (kind === null) return;
  throw new UsageError('E_KERNEL_IS_DISK_IMAGE', `${path} is a disk image (${kind}), not a kernel; name the kernel inside it with --path (e.g. --path /boot/vmlinuz-VERSION)`, {
    details: { path, kind },
  });
}

function releaseOf(text: string | null): string | null {
  return text ? (text.split(/\s+/)[0] ?? null) : null;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
