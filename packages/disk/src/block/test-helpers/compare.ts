import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, rng } from '@xenkit/fixtures';
import { expect } from 'vitest';
import type { BlockSource } from '../types.js';
import { qemuExtents, qemuInfo, sha256File } from './qemu.js';

export async function hashSource(src: BlockSource, chunk = 4 * 1024 * 1024): Promise<string> {
  const h = createHash('sha256');
  for (let off = 0; off < src.size; off += chunk) h.update(await src.read(off, Math.min(chunk, src.size - off)));
  return h.digest('hex');
}

/**
 * The whole cross-check against qemu-img: virtual size (info), every byte (convert -O raw, hashed,
 * plus random reads against the converted file) and the data/zero map (map --output=json).
 */
export async function expectMatchesQemu(src: BlockSource, path: string, dir: string, opts: { qemuFormat?: string; extents?: boolean } = {}): Promise<void> {
  const f = opts.qemuFormat ? ['-f', opts.qemuFormat] : [];
  expect(src.size).toBe(qemuInfo(path, opts.qemuFormat)['virtual-size']);
  const out = join(dir, `${path.split('/').pop()}.expected.raw`);
  exec('qemu-img', ['convert', ...f, '-O', 'raw', path, out]);
  expect(await hashSource(src)).toBe(await sha256File(out));
  const want = readFileSync(out);
  const r = rng(src.size % 9973);
  for (let i = 0; i < 200; i++) {
    const len = 1 + r.int(200_000);
    const off = r.int(Math.max(1, src.size - len));
    const got = Buffer.from(await src.read(off, Math.min(len, src.size - off)));
    expect(got.equals(want.subarray(off, off + got.length)), `read ${got.length} bytes at ${off}`).toBe(true);
  }
  if (opts.extents !== false) expect(await src.extents()).toEqual(qemuExtents(path, opts.qemuFormat));
}
