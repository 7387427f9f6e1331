import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, requireTools, rng as seededRng, tempDir } from '@xenkit/fixtures';
import { KernelError } from '../errors.js';
import { LZ4_BLOCK_MAX, lz4Block, lz4BlockSize, lz4Legacy, lz4LegacyBlocks, lz4Resume, lz4WasmSizes } from './lz4.js';
import { lz4BlockSizeJs, lz4ResumeJs } from './lz4-js.js';
import { moduleBytes } from './lz4-wasm-asm.js';
import { LZ4_WASM_BASE64 } from './lz4-wasm.js';

// Differential tests: the WebAssembly decoder (lz4.ts) and the JavaScript one (lz4-js.ts) against the
// bytes `lz4 -l` (the legacy format Linux uses) was given, and against each other on corrupt blocks.

/** The shared seeded generator as a bare 32-bit integer source, so a failure reproduces. */
function rng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.int(0x1_0000_0000);
}

/** Inputs that drive the decoder's paths: incompressible, runs, text, every short period, a mix. */
function corpus(): Record<string, Buffer> {
  const r = rng(7);
  const random = Buffer.from(seededRng(7).bytes(3 << 20));
  const text = Buffer.from(
    Array.from({ length: 60_000 }, (_, i) => `line ${i % 977}: the quick brown fox ${'jumps '.repeat(i % 7)}over ${i % 13}\n`).join(''),
  );
  // Periods 1..20 with a rare mutation, so matches with every short offset and many lengths appear.
  const periods = Buffer.alloc(2 << 20);
  for (let i = 0, period = 1; i < periods.length; i++) {
    if (i % 4096 === 0) period = (period % 20) + 1;
    periods[i] = r() % 97 === 0 ? r() & 0xff : i % period === 0 ? 0x41 : 0x61 + (i % period);
  }
  const mixed = Buffer.concat([random.subarray(0, 1 << 20), Buffer.alloc(2 << 20), text.subarray(0, 2 << 20), periods.subarray(0, 1 << 20), Buffer.alloc(3 << 20, 0xcc), random.subarray(1 << 20)]);
  return {
    empty: Buffer.alloc(0),
    one: Buffer.from([42]),
    random,
    zeros: Buffer.alloc(LZ4_BLOCK_MAX * 2 + 12345),
    exactBlock: Buffer.alloc(LZ4_BLOCK_MAX, 0x5a),
    text,
    periods,
    mixed,
  };
}

let dir: { path: string; cleanup(): void };
const cases: Array<{ name: string; data: Buffer; stream: Buffer }> = [];

beforeAll(() => {
  requireTools('lz4');
  dir = tempDir('xenkit-lz4-');
  for (const [name, data] of Object.entries(corpus())) {
    const raw = join(dir.path, name);
    writeFileSync(raw, data);
    // -1 (fast) and -9 (high compression: longer matches, more overlapping ones) make different sequences.
    for (const level of ['-1', '-9']) {
      exec('lz4', ['-l', level, '-f', '-q', raw, `${raw}${level}.lz4`]);
      cases.push({ name: `${name} ${level}`, data, stream: readFileSync(`${raw}${level}.lz4`) });
    }
  }
}, 120_000);

afterAll(() => dir?.cleanup());

function jsLegacy(stream: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (const b of lz4LegacyBlocks(stream, 'js')) {
    const out = new Uint8Array(LZ4_BLOCK_MAX);
    parts.push(Buffer.from(out.subarray(0, lz4ResumeJs(stream, b.start, b.end, out, 'js', { ip: b.start, op: 0 }, Infinity))));
  }
  return Buffer.concat(parts);
}

describe('LZ4 legacy streams made by the lz4 CLI', () => {
  it('decode to the original bytes in WebAssembly and in JavaScript, and size each block exactly', () => {
    expect(cases.length).toBe(16);
    for (const { name, data, stream } of cases) {
      const parts: Buffer[] = [];
      for (const block of lz4Legacy(stream, name)) parts.push(Buffer.from(block));
      expect(Buffer.concat(parts).equals(data), `${name} (wasm)`).toBe(true);
      expect(jsLegacy(stream).equals(data), `${name} (js)`).toBe(true);
      const sizes = lz4LegacyBlocks(stream, name).map((b) => lz4BlockSize(stream, b.start, b.end, name));
      expect(sizes, name).toEqual(parts.map((p) => p.length));
      expect(lz4LegacyBlocks(stream, name).map((b) => lz4BlockSizeJs(stream, b.start, b.end, name)), name).toEqual(sizes);
    }
  });

  it('resume in small steps, alternating between blocks, to the same bytes', () => {
    const r = rng(11);
    for (const { name, data, stream } of cases.filter((c) => c.data.length > 0)) {
      const blocks = lz4LegacyBlocks(stream, name).map((b) => ({ ...b, out: new Uint8Array(LZ4_BLOCK_MAX), at: { ip: b.start, op: 0 } }));
      const js = new Uint8Array(LZ4_BLOCK_MAX);
      let open = blocks.length;
      while (open > 0) {
        // Jump between blocks so a resume must restore its 64 KiB window rather than find it in place.
        const b = blocks[r() % blocks.length] as (typeof blocks)[number];
        if (b.at.ip >= b.end) continue;
        const stop = b.at.op + 1 + (r() % 300_000);
        // Both implementations stop after the same sequence: the first that reaches `stop`.
        const expected = { ...b.at };
        js.set(b.out.subarray(Math.max(0, b.at.op - 65535), b.at.op), Math.max(0, b.at.op - 65535));
        lz4ResumeJs(stream, b.start, b.end, js, name, expected, stop);
        lz4Resume(stream, b.start, b.end, b.out, name, b.at, stop);
        expect(b.at, name).toEqual(expected);
        if (b.at.ip >= b.end) open--;
      }
      const joined = Buffer.concat(blocks.map((b) => b.out.subarray(0, b.at.op)));
      expect(joined.equals(data), name).toBe(true);
    }
  });

  it('the embedded WebAssembly bytes are what lz4-wasm-asm.ts assembles', () => {
    expect(Buffer.from(moduleBytes()).toString('base64')).toBe(LZ4_WASM_BASE64);
  });
});

/** Byte equality without Vitest's element-by-element diffing, which crawls on megabytes. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** LZ4 block made of random sequences, with the reference output a naive decoder of the format produces. */
function randomBlock(r: () => number, maxSequences: number): { block: Uint8Array; expected: Uint8Array } {
  const src: number[] = [];
  const out: number[] = [];
  const length = (n: number): void => {
    for (n -= 15; n >= 255; n -= 255) src.push(255);
    src.push(n);
  };
  const pick = (): number => {
    const k = r() % 10;
    return k < 6 ? r() % 15 : k < 8 ? 15 + (r() % 40) : k < 9 ? r() % 600 : r() % 70_000;
  };
  const sequences = 1 + (r() % maxSequences);
  for (let s = 0; s < sequences; s++) {
    const lit = s === 0 ? 1 + pick() : pick(); // the first match needs a byte to refer to
    const last = s === sequences - 1;
    const at = out.length + lit;
    const offset = 1 + (r() % 3 === 0 ? r() % Math.min(16, at) : r() % Math.min(65535, at));
    const match = 4 + pick();
    src.push((Math.min(lit, 15) << 4) | (last ? 0 : Math.min(match - 4, 15)));
    if (lit >= 15) length(lit);
    for (let i = 0; i < lit; i++) {
      const b = r() & 0xff;
      src.push(b);
      out.push(b);
    }
    if (last) break; // the last sequence has literals only
    src.push(offset & 0xff, offset >> 8);
    if (match - 4 >= 15) length(match - 4);
    for (let i = 0; i < match; i++) out.push(out[out.length - offset] as number);
  }
  return { block: Uint8Array.from(src), expected: Uint8Array.from(out) };
}

function randomBlockTests(blocks: number, corruptions: number): void {
  it('decode in both implementations to what a naive decoder makes', () => {
    const r = rng(2026);
    for (let i = 0; i < blocks; i++) {
      const { block, expected } = randomBlock(r, 200);
      const out = new Uint8Array(expected.length + 1);
      expect(lz4Block(block, 0, block.length, out, 'random')).toBe(expected.length);
      expect(same(out.subarray(0, expected.length), expected), `block ${i}`).toBe(true);
      const jsOut = new Uint8Array(expected.length + 1);
      expect(lz4ResumeJs(block, 0, block.length, jsOut, 'random', { ip: 0, op: 0 }, Infinity)).toBe(expected.length);
      expect(same(jsOut, out), `block ${i}`).toBe(true);
      expect(lz4BlockSize(block, 0, block.length, 'random')).toBe(expected.length);
      expect(lz4BlockSizeJs(block, 0, block.length, 'random')).toBe(expected.length);
    }
  });

  it('corrupt or cut blocks give only E_KERNEL_CORRUPT, never write past the output, and both agree', () => {
    const r = rng(99);
    const outcome = (run: () => number): string => {
      try {
        return `ok ${run()}`;
      } catch (error) {
        expect(error).toBeInstanceOf(KernelError);
        expect((error as KernelError).code).toBe('E_KERNEL_CORRUPT');
        return 'corrupt';
      }
    };
    let corrupt = 0;
    for (let i = 0; i < corruptions; i++) {
      const { block, expected } = randomBlock(r, 30);
      const bad = block.slice(0, r() % 4 === 0 ? r() % (block.length + 1) : block.length);
      for (let k = 1 + (r() % 4); k > 0 && bad.length > 0; k--) bad[r() % bad.length] = r() & 0xff;
      // The output area sits inside a larger buffer whose guard bytes must survive.
      const room = r() % 3 === 0 ? r() % (expected.length + 1) : expected.length + 64;
      const fence = new Uint8Array(room + 256).fill(0xee);
      const out = fence.subarray(128, 128 + room);
      const wasm = outcome(() => lz4Block(bad, 0, bad.length, out, 'bad'));
      const js = outcome(() => lz4ResumeJs(bad, 0, bad.length, new Uint8Array(room), 'bad', { ip: 0, op: 0 }, Infinity));
      expect(wasm, `case ${i}`).toBe(js);
      if (wasm === 'corrupt') corrupt++;
      expect(fence.subarray(0, 128).every((b) => b === 0xee) && fence.subarray(128 + room).every((b) => b === 0xee), `case ${i}`).toBe(true);
      const size = outcome(() => lz4BlockSize(bad, 0, bad.length, 'bad'));
      expect(size).toBe(outcome(() => lz4BlockSizeJs(bad, 0, bad.length, 'bad')));
    }
    expect(corrupt).toBeGreaterThan(corruptions / 10);
  });
}

describe('random LZ4 blocks', () => randomBlockTests(100, 1500));

describe('with a window of 64 KiB history + 4 KiB and 64-byte input chunks, so blocks cross many of each', () => {
  const saved = { ...lz4WasmSizes };
  beforeAll(() => Object.assign(lz4WasmSizes, { window: 65535 + 4096, chunk: 64 }));
  afterAll(() => Object.assign(lz4WasmSizes, saved));

  it('streams made by the lz4 CLI still decode and size exactly', () => {
    for (const { name, data, stream } of cases.filter((c) => c.data.length < 4 << 20)) {
      const parts: Buffer[] = [];
      for (const block of lz4Legacy(stream, name)) parts.push(Buffer.from(block));
      expect(Buffer.concat(parts).equals(data), name).toBe(true);
      expect(lz4LegacyBlocks(stream, name).map((b) => lz4BlockSize(stream, b.start, b.end, name)), name).toEqual(parts.map((p) => p.length));
    }
  });
  randomBlockTests(30, 600);
});
