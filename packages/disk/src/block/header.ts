import { dirname, isAbsolute, resolve } from 'node:path';
import { readQcow2Header, QCOW2_MAGIC, type Qcow2Header } from '../formats/qcow2/header.js';
import { findFooter, firstExisting, readVhdMeta, type VhdMeta } from '../formats/vhd/meta.js';
import { DISK_DIFFERENCING, hasFooterCookie } from '../formats/vhd/structs.js';
import { HostFile } from './host.js';

export type ImageFormat = 'raw' | 'qcow2' | 'vhd';

/** What one image file's header says, without reading its tables or opening its backing file. */
export interface ImageHeader {
  path: string;
  format: ImageFormat;
  /** Virtual size in bytes. */
  virtualSize: number;
  fileSize: number;
  /** The backing (parent) file name exactly as the image stores it; null when there is none. */
  backingFile: string | null;
  /** `backingFile` resolved against the image's directory (for VHD: the first parent locator that exists). */
  backingPath: string | null;
  /** The backing format the image declares ('raw', 'qcow2', 'vhd'), or null to probe by magic. */
  backingFormat: string | null;
  clusterSize?: number;
  /** qcow2 version (2 or 3). */
  version?: number;
  /** VHD: 'fixed' | 'dynamic' | 'differencing'. */
  subformat?: string;
}

/** Detect an open file's format by magic, never by name: qcow2 magic, a VHD footer at EOF, else raw. */
export async function detectFormat(file: HostFile): Promise<ImageFormat> {
  if (file.size >= 4) {
    const head = await file.readAt(0, 4, 'image magic');
    if (head.readUInt32BE(0) === QCOW2_MAGIC) return 'qcow2';
  }
  if ((await findFooter(file)) !== null) return 'vhd';
  // A dynamic VHD that lost its tail still starts with the footer copy: call it VHD, so opening it
  // reports the truncation instead of silently reading the fragment as a raw disk.
  if (file.size >= 512 && hasFooterCookie(await file.readAt(0, 8, 'VHD footer copy'))) return 'vhd';
  return 'raw';
}

/** qemu spells VHD "vpc" in backing-format fields. */
export function normaliseFormat(name: string | null): string | null {
  if (name === null || name === '') return null;
  return name === 'vpc' ? 'vhd' : name;
}

/** A layer's header plus the parsed format structures, so opening a layer parses them once. */
export interface Inspected {
  header: ImageHeader;
  qcow2?: Qcow2Header;
  vhd?: VhdMeta;
}

export async function headerOf(file: HostFile, format: ImageFormat): Promise<ImageHeader> {
  return (await inspect(file, format)).header;
}

export async function inspect(file: HostFile, format: ImageFormat): Promise<Inspected> {
  const base = { path: file.path, fileSize: file.size };
  if (format === 'qcow2') {
    const h = await readQcow2Header(file);
    const header: ImageHeader = {
      ...base,
      format,
      virtualSize: h.size,
      backingFile: h.backingFile,
      backingPath: h.backingFile === null ? null : isAbsolute(h.backingFile) ? h.backingFile : resolve(dirname(file.path), h.backingFile),
      backingFormat: normaliseFormat(h.backingFormat),
      clusterSize: h.clusterSize,
      version: h.version,
    };
    return { header, qcow2: h };
  }
  if (format === 'vhd') {
    const m = await readVhdMeta(file);
    const diff = m.footer.diskType === DISK_DIFFERENCING;
    const subformat = m.header === null ? 'fixed' : diff ? 'differencing' : 'dynamic';
    const header: ImageHeader = {
      ...base,
      format,
      virtualSize: m.footer.currentSize,
      backingFile: diff ? m.header?.parentName || (m.parentCandidates[0] ?? null) : null,
      backingPath: diff ? ((await existingOrFirst(m.parentCandidates)) ?? null) : null,
      backingFormat: diff ? 'vhd' : null,
      ...(m.header ? { clusterSize: m.header.blockSize } : {}),
      subformat,
    };
    return { header, vhd: m };
  }
  return { header: { ...base, format, virtualSize: file.size, backingFile: null, backingPath: null, backingFormat: null } };
}

async function existingOrFirst(paths: string[]): Promise<string | undefined> {
  return (await firstExisting(paths)) ?? paths[0];
}

/**
 * Read only the top layer's header: format (by magic), virtual size and backing file. Cheap (a few
 * KiB read), so callers such as an image cache can walk chains without opening whole images.
 */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  const file = await HostFile.open(path);
  try {
    return await headerOf(file, await detectFormat(file));
  } finally {
    await file.close();
  }
}
