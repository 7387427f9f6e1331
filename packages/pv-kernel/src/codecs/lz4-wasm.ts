/**
 * The LZ4 block decoder as a WebAssembly module (its source, in named opcodes, is lz4-wasm-asm.ts).
 *
 * Why: `xenkit check` decodes one kernel per process, so the JavaScript decoder spends most of its time in
 * the interpreter, waiting for an optimising compile and recompiling when a rare branch is first taken.
 * WebAssembly is compiled before the first call (V8's baseline compiler takes a fraction of a millisecond
 * for this module) and runs at near-native speed from its first byte, with no type feedback to gather.
 * The bytes are embedded rather than assembled at load time: assembling costs more than compiling.
 */

/** Status codes the module returns (0 = stopped normally). */
export const Lz4Status = { Ok: 0, LengthPastEnd: 1, LiteralsPastEnd: 2, OutputLimit: 3, OffsetPastEnd: 4, BadOffset: 5, NeedRoom: 6, NeedInput: 7 } as const;
export type Lz4Status = (typeof Lz4Status)[keyof typeof Lz4Status];

/** Bytes behind each memory region that the module's 8- and 16-byte copies may spill into. */
export const WASM_SLACK = 64;

export const LZ4_WASM_BASE64 = [
  'AGFzbQEAAAABDQFgCH9/f39/f39/AX8CDwEDZW52Bm1lbW9yeQIAAQMDAgAABgsCfwFBAAt/AUEACwcbBAZkZWNvZGUAAARzaXpl',
  'AAECaXADAAJvcAMBCs4IAtwFAQh/AkADQCAAIAFPDQEgAiAETw0BIAAhDiACIQ8gACAHTwRAIA4kACAPJAFBBw8LIAAtAAAhCCAA',
  'QQFqIQAgCEEEdiIJQQ9GBEADQCAAIAdPBEAgByABSQRAIA4kACAPJAFBBw8LIAAkACACJAFBAQ8LIAAtAAAiCiAJaiEJIABBAWoh',
  'ACAJIANLBEAgACQAIAIkAUEDDwsgCkH/AUYNAAsLIAAgCWogB0sEQCAHIAFJBEAgDiQAIA8kAUEHDwsgACQAIAIkAUECDwsgAiAJ',
  'aiADSwRAIAAkACACJAFBAw8LIAIgCWogBUsEQCAOJAAgDyQBQQYPCyAJQRBNBEAgAiAAKQAANwAAIAIgACkACDcACAUgAiAAIAn8',
  'CgAACyAAIAlqIQAgAiAJaiECIAAgAUYNASAHIABrQQJJBEAgByABSQRAIA4kACAPJAFBBw8LIAAkACACJAFBBA8LIAAvAAAhCyAA',
  'QQJqIQAgC0UgCyACIAZqS3IEQCAAJAAgAiQBQQUPCyACIAhBD3FqQQRqIQ0gCEEPcUEPRgRAA0AgACAHTwRAIAcgAUkEQCAOJAAg',
  'DyQBQQcPCyAAJAAgAiQBQQEPCyAALQAAIgogDWohDSAAQQFqIQAgDSADSwRAIAAkACACJAFBAw8LIApB/wFGDQALCyANIANLBEAg',
  'ACQAIAIkAUEDDwsgDSAFSwRAIA4kACAPJAFBBg8LIAIgC2shDCALQRBPBEADQCACIAwpAAA3AAAgAiAMKQAINwAIIAJBEGohAiAM',
  'QRBqIQwgAiANSQ0ACwUgC0EISQRAIAJBCGohCgNAIAIgDC0AADoAACACQQFqIQIgDEEBaiEMIAIgCkkNAAsgCyEKAkADQCAKQQhP',
  'DQEgCiALaiEKDAALCyACIAprIQwLA0AgAiAMKQAANwAAIAJBCGohAiAMQQhqIQwgAiANSQ0ACwsgDSECDAALCyAAJAAgAiQBQQAL',
  '7QIBBX8CQANAIAAgAU8NASAAIQsgAyEMIAAgB08EQCALJAAgDCQBQQcPCyAALQAAIQggAEEBaiEAIAhBBHYiCUEPRgRAA0AgACAH',
  'TwRAIAcgAUkEQCALJAAgDCQBQQcPCyAAJAAgAiQBQQEPCyAALQAAIgogCWohCSAAQQFqIQAgCSACSwRAIAAkACADJAFBAw8LIApB',
  '/wFGDQALCyAAIAlqIQAgAyAJaiEDIAAgAUsEQCAAJAAgAyQBQQIPCyAAIAFGDQEgAEECaiEAIAAgAUsEQCAAJAAgAyQBQQQPCyAI',
  'QQ9xQQRqIQkgCUETRgRAA0AgACAHTwRAIAcgAUkEQCALJAAgDCQBQQcPCyAAJAAgAiQBQQEPCyAALQAAIgogCWohCSAAQQFqIQAg',
  'CSACSwRAIAAkACADJAFBAw8LIApB/wFGDQALCyADIAlqIgMgAksEQCAAJAAgAyQBQQMPCwwACwsgACQAIAMkAUEACw==',
].join('');

// The lib settings here carry no WebAssembly typings; these are the few members used.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

export interface Lz4Wasm {
  memory: WasmMemory;
  /** Decode from `ip` until `end`, `op >= stopAt` or a sequence that needs more input or room (lz4-wasm-asm.ts). */
  decode(ip: number, end: number, op: number, limit: number, stopAt: number, room: number, hist: number, avail: number): Lz4Status;
  /** Add the decompressed size of the sequences at [ip, end) to `size`, failing once it passes `limit`. */
  size(ip: number, end: number, limit: number, size: number, _a: 0, _b: 0, _c: 0, avail: number): Lz4Status;
  /** Position (and output offset or size) where the last call stopped or failed. */
  ip(): number;
  op(): number;
}

let instance: Lz4Wasm | null | undefined;

/** The module, instantiated once per process; null where WebAssembly is unavailable (node --jitless). */
export function lz4Wasm(): Lz4Wasm | null {
  if (instance !== undefined) return instance;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return (instance = null);
  const memory = new api.Memory({ initial: 1 });
  const exports = new api.Instance(new api.Module(Buffer.from(LZ4_WASM_BASE64, 'base64')), { env: { memory } }).exports as {
    decode: Lz4Wasm['decode']; size: Lz4Wasm['size']; ip: { value: number }; op: { value: number };
  };
  instance = {
    memory,
    decode: exports.decode,
    size: exports.size,
    ip: () => exports.ip.value,
    op: () => exports.op.value,
  };
  return instance;
}
