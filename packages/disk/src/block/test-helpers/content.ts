import { closeSync, openSync, writeSync } from 'node:fs';
import { patternBytes } from './qemu.js';

const MiB = 1024 * 1024;

/** 24 MiB of content: pattern runs (some unaligned) separated by zeros. */
export function writeBaseRaw(path: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.alloc(24 * MiB), 0, 24 * MiB, 0); // dense, so qemu-img map reports it all as data
    for (const [off, len, seed] of [
      [0, MiB, 1],
      [3 * MiB, 70_000, 2],
      [10 * MiB, 4 * MiB, 3],
      [20 * MiB - 4096, 4096, 4],
    ] as const) {
      writeSync(fd, patternBytes(len, seed), 0, len, off);
    }
    // Compressible text, so `qemu-img convert -c` really stores compressed clusters (it keeps
    // clusters that do not shrink uncompressed).
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `xenkit block ${i}\n`).join(''));
    writeSync(fd, text, 0, Math.min(text.length, 2 * MiB), 6 * MiB + 123);
  } finally {
    closeSync(fd);
  }
}

