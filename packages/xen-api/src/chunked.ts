import type { BlockSource, Extent } from '@xenkit/disk';

/**
 * XAPI's `chunked` raw import framing (ocaml/vhd-tool chunked.ml): frames of a 12-byte little-endian
 * header `{offset: uint64 @0, len: uint32 @8}` followed by `len` bytes written at `offset` of the VDI,
 * ended by an all-zero header. Unsent ranges stay as the new VDI has them: zero. So a sparse image
 * costs only its data on the wire, and the total length is known before sending, which XAPI needs
 * (it refuses HTTP chunked transfer encoding).
 */
export const FRAME_HEADER = 12;
/** Bytes per frame and per read: bounded memory whatever the image size. */
export const FRAME_DATA = 1 << 20;
/** Granularity at which all-zero data is found and skipped. */
export const ZERO_BLOCK = 64 * 1024;

export interface Run {
  offset: number;
  length: number;
}

export function frameHeader(offset: number, length: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeBigUInt64LE(BigInt(offset), 0);
  h.writeUInt32LE(length, 8);
  return h;
}

/** Wire size of a chunked stream carrying `runs`. */
export function chunkedLength(runs: readonly Run[]): number {
  let total = FRAME_HEADER; // terminator
  for (const r of runs) total += r.length + FRAME_HEADER * Math.ceil(r.length / FRAME_DATA);
  return total;
}

const ZEROS = Buffer.alloc(ZERO_BLOCK);
const SCAN_WINDOW = 4 << 20;
const SCAN_PARALLEL = 4;

function isZero(buf: Uint8Array, from: number, to: number): boolean {
  return Buffer.compare(buf.subarray(from, to), ZEROS.subarray(0, to - from)) === 0;
}

/**
 * The ranges to send: the source's data extents, minus 64 KiB blocks that read as all zeros (a raw
 * file cannot tell its holes from Node, so its one big data extent is scanned). Reads stream through
 * FRAME_DATA-sized buffers; the result is a list of runs, not data.
 */
export async function dataRuns(source: BlockSource, signal?: AbortSignal): Promise<Run[]> {
  const extents: Extent[] = await source.extents();
  const runs: Run[] = [];
  const add = (offset: number, length: number) => {
    const last = runs[runs.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else runs.push({ offset, length });
  };
  // Windows of SCAN_WINDOW bytes, SCAN_PARALLEL reads in flight (the image's holes read as zeros at
  // memory speed, so the scan is bound by call overhead, not the disk), results consumed in order.
  const windows: Run[] = [];
  for (const ext of extents) {
    if (ext.kind !== 'data') continue;
    for (let pos = ext.offset; pos < ext.offset + ext.length; pos += SCAN_WINDOW) {
      windows.push({ offset: pos, length: Math.min(SCAN_WINDOW, ext.offset + ext.length - pos) });
    }
  }
  const inFlight: Array<Promise<Uint8Array>> = [];
  let next = 0;
  for (let w = 0; w < windows.length; w++) {
    signal?.throwIfAborted();
    while (next < windows.length && next < w + SCAN_PARALLEL) {
      const win = windows[next++]!;
      inFlight.push(source.read(win.offset, win.length));
    }
    const buf = await inFlight.shift()!;
    const { offset, length } = windows[w]!;
    for (let b = 0; b < length; b += ZERO_BLOCK) {
      const e = Math.min(b + ZERO_BLOCK, length);
      if (!isZero(buf, b, e)) add(offset + b, e - b);
    }
  }
  return runs;
}

/** The chunked stream itself, frame by frame, reading the source as it goes. */
export async function* chunkedFrames(source: BlockSource, runs: readonly Run[], signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const run of runs) {
    for (let pos = run.offset; pos < run.offset + run.length; pos += FRAME_DATA) {
      signal?.throwIfAborted();
      const n = Math.min(FRAME_DATA, run.offset + run.length - pos);
      yield frameHeader(pos, n);
      yield await source.read(pos, n);
    }
  }
  yield Buffer.alloc(FRAME_HEADER);
}
