import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { exec, rng } from '@xenkit/fixtures';

export interface QemuInfo {
  'virtual-size': number;
  format: string;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'cluster-size'?: number;
  'format-specific'?: { type: string; data?: Record<string, unknown> };
}

/**
 * `qemu-img info`. Pass `format` for fixed VHDs: qemu probes VHD only by the cookie at offset 0,
 * which a fixed VHD lacks, so unforced it reports the file as raw (footer included in the size).
 */
export function qemuInfo(path: string, format?: string): QemuInfo {
  return JSON.parse(exec('qemu-img', ['info', '--output=json', ...(format ? ['-f', format] : []), path]).stdout) as QemuInfo;
}

export interface QemuMapEntry {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
}

/** `qemu-img map --output=json`, reduced to data/zero kinds and merged like xenkit's extents. */
export function qemuExtents(path: string, format?: string): { offset: number; length: number; kind: 'data' | 'zero' }[] {
  const args = ['map', '--output=json', ...(format ? ['-f', format] : []), path];
  const entries = JSON.parse(exec('qemu-img', args).stdout) as QemuMapEntry[];
  return mergeKinds(entries.map((e) => ({ offset: e.start, length: e.length, kind: e.data ? ('data' as const) : ('zero' as const) })));
}

export function mergeKinds<T extends { offset: number; length: number; kind: string }>(list: T[]): T[] {
  const out: T[] = [];
  for (const e of list) {
    const last = out[out.length - 1];
    if (last && last.kind === e.kind && last.offset + last.length === e.offset) last.length += e.length;
    else out.push({ ...e });
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Deterministic pseudo-random bytes, so images are reproducible between runs. */
export function patternBytes(length: number, seed: number): Buffer {
  const b = rng(seed).bytes(length);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
