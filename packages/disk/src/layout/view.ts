import { checkRange } from '../block/raw.js';
import type { BlockSource, Extent } from '../block/types.js';

/** A byte range of a parent disk. */
export interface Segment {
  offset: number;
  length: number;
}

/**
 * A partition or logical volume seen as a disk of its own: the concatenation of `segments` of the
 * parent. Reads are forwarded; the byte counter is the parent's, so one counter covers the whole image.
 */
export class SliceSource implements BlockSource {
  readonly format = 'slice';
  readonly size: number;
  private readonly starts: number[] = [];

  constructor(
    readonly parent: BlockSource,
    private readonly segments: readonly Segment[],
    readonly path: string,
  ) {
    let at = 0;
    for (const s of segments) {
      checkRange(path, s.offset, s.length, parent.size);
      this.starts.push(at);
      at += s.length;
    }
    this.size = at;
  }

  get bytesRead(): number {
    return this.parent.bytesRead;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    if (this.segments.length === 1) return this.parent.read((this.segments[0] as Segment).offset + offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    for (let i = 0; i < this.segments.length && done < length; i++) {
      const seg = this.segments[i] as Segment;
      const segStart = this.starts[i] as number;
      const pos = offset + done;
      if (pos >= segStart + seg.length) continue;
      const within = pos - segStart;
      const n = Math.min(seg.length - within, length - done);
      out.set(await this.parent.read(seg.offset + within, n), done);
      done += n;
    }
    return out;
  }

  async extents(): Promise<Extent[]> {
    const parent = await this.parent.extents();
    const out: Extent[] = [];
    this.segments.forEach((seg, i) => {
      const base = this.starts[i] as number;
      for (const e of parent) {
        const lo = Math.max(e.offset, seg.offset);
        const hi = Math.min(e.offset + e.length, seg.offset + seg.length);
        if (hi <= lo) continue;
        const offset = base + lo - seg.offset;
        const last = out[out.length - 1];
        if (last && last.kind === e.kind && last.offset + last.length === offset) last.length += hi - lo;
        else out.push({ offset, length: hi - lo, kind: e.kind });
      }
    });
    return out;
  }

  /** The parent owns the file; closing a view is a no-op. */
  async close(): Promise<void> {}
}
