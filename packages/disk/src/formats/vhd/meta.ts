import { access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, win32 } from 'node:path';
import { DiskError } from '../../block/errors.js';
import type { HostFile } from '../../block/host.js';
import {
  DISK_DIFFERENCING,
  DISK_FIXED,
  FOOTER_SIZE,
  HEADER_SIZE,
  hasFooterCookie,
  parseDynamicHeader,
  parseFooter,
  type VhdDynamicHeader,
  type VhdFooter,
} from './structs.js';

const MAX_LOCATOR_BYTES = 64 * 1024;

/**
 * The virtual size is the footer's current_size, as Hyper-V, XenServer (blktap, creator "tap") and
 * disk2vhd read it. qemu instead uses the CHS geometry for creators "vpc " and "qemu" (Virtual PC's
 * convention); qemu-img writes images whose current_size equals that CHS size, so both agree on
 * qemu-made images, and only old Virtual PC images can differ (we report chsSize in the footer).
 */
export interface VhdMeta {
  footer: VhdFooter;
  /** Where the footer sits in the file: the data of a fixed disk ends there. */
  footerOffset: number;
  header: VhdDynamicHeader | null;
  /** Parent paths named by the locators, in preference order (relative ones resolved against the image's directory). */
  parentCandidates: string[];
}

/** Where the VHD footer is: EOF−512, or EOF−511 for old Virtual PC images; null when there is none. */
export async function findFooter(file: HostFile): Promise<number | null> {
  if (file.size < FOOTER_SIZE - 1) return null;
  const tail = await file.readAt(file.size - Math.min(FOOTER_SIZE, file.size), Math.min(FOOTER_SIZE, file.size), 'VHD footer');
  if (tail.length === FOOTER_SIZE && hasFooterCookie(tail, 0)) return file.size - FOOTER_SIZE;
  if (hasFooterCookie(tail, tail.length - (FOOTER_SIZE - 1))) return file.size - (FOOTER_SIZE - 1);
  return null;
}

export async function readVhdMeta(file: HostFile): Promise<VhdMeta> {
  const path = file.path;
  let footerOffset = await findFooter(file);
  let footerBuf: Buffer;
  if (footerOffset === null) {
    throw new DiskError('E_VHD_TRUNCATED', `${path}: no VHD footer at the end of the file (it starts like a VHD, so it was probably truncated)`, { path });
  }
  footerBuf = await file.readAt(footerOffset, file.size - footerOffset, 'VHD footer');
  let footer: VhdFooter;
  try {
    footer = parseFooter(footerBuf, path);
  } catch (e) {
    // The spec keeps a footer copy at offset 0 of dynamic disks precisely for a damaged trailing footer.
    if (!(e instanceof DiskError) || e.code !== 'E_VHD_BAD_CHECKSUM' || file.size < FOOTER_SIZE * 2) throw e;
    footerBuf = await file.readAt(0, FOOTER_SIZE, 'VHD footer copy');
    if (!hasFooterCookie(footerBuf)) throw e;
    footer = parseFooter(footerBuf, path);
    if (footer.diskType === DISK_FIXED) throw e;
    footerOffset = file.size - FOOTER_SIZE;
  }
  if (footer.diskType === DISK_FIXED) {
    if (footer.currentSize > footerOffset) {
      throw new DiskError('E_VHD_TRUNCATED', `${path}: fixed VHD claims ${footer.currentSize} bytes but holds ${footerOffset}`, {
        path,
        currentSize: footer.currentSize,
        dataBytes: footerOffset,
      });
    }
    return { footer, footerOffset, header: null, parentCandidates: [] };
  }
  const hb = await file.readAt(footer.dataOffset ?? 0, HEADER_SIZE, 'VHD dynamic header');
  const header = parseDynamicHeader(hb, path);
  const blocksNeeded = Math.ceil(footer.currentSize / header.blockSize);
  if (header.maxTableEntries < blocksNeeded) {
    throw new DiskError('E_VHD_BAD_HEADER', `${path}: BAT has ${header.maxTableEntries} entries but ${blocksNeeded} blocks are needed for ${footer.currentSize} bytes`, {
      path,
      maxTableEntries: header.maxTableEntries,
      blocksNeeded,
    });
  }
  file.checkInside(header.tableOffset, blocksNeeded * 4, 'VHD block allocation table');
  const parentCandidates = footer.diskType !== DISK_DIFFERENCING ? [] : await locateParents(file, header);
  return { footer, footerOffset, header, parentCandidates };
}

async function locateParents(file: HostFile, header: VhdDynamicHeader): Promise<string[]> {
  const dir = dirname(file.path);
  const out: string[] = [];
  const order = ['MacX', 'W2ru', 'W2ku'];
  const locs = [...header.locators].sort((a, b) => rank(a.platformCode) - rank(b.platformCode));
  function rank(c: string): number {
    const i = order.indexOf(c);
    return i < 0 ? order.length : i;
  }
  for (const loc of locs) {
    if (loc.dataLength === 0 || loc.dataLength > MAX_LOCATOR_BYTES) continue;
    const raw = await file.readAt(loc.dataOffset, loc.dataLength, `VHD parent locator ${loc.platformCode}`);
    let name: string | null = null;
    if (loc.platformCode === 'W2ku' || loc.platformCode === 'W2ru') name = raw.toString('utf16le').replace(/\0.*$/s, '');
    else if (loc.platformCode === 'MacX') name = decodeMacX(raw.toString('utf8').replace(/\0.*$/s, ''));
    if (!name) continue;
    if (loc.platformCode === 'MacX') out.push(isAbsolute(name) ? name : resolve(dir, name));
    else if (loc.platformCode === 'W2ru') out.push(resolve(dir, name.replace(/\\/g, '/')));
    else out.push(resolve(dir, win32.basename(name))); // a Windows absolute path: only its file name means anything here
  }
  if (header.parentName) out.push(resolve(dir, win32.basename(header.parentName)));
  return [...new Set(out)];
}

function decodeMacX(url: string): string | null {
  if (!url.startsWith('file://')) return url || null;
  try {
    return decodeURIComponent(url.slice('file://'.length));
  } catch {
    return null;
  }
}

/** The first candidate parent path that exists, or null. */
export async function firstExisting(paths: string[]): Promise<string | null> {
  for (const p of paths) {
    try {
      await access(p);
      return p;
    } catch {
      // try the next locator
    }
  }
  return null;
}
