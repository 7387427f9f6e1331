import type { BlockSource, Extent } from './types.js';

/** Appends extents, merging a new one into the last when kinds match and they touch. */
export class ExtentBuilder {
  readonly list: Extent[] = [];

  push(offset: number, length: number, kind: Extent['kind']): void {
    if (length <= 0) return;
    const last = this.list[this.list.length - 1];
    if (last && last.kind === kind && last.offset + last.length === offset) last.length += length;
    else this.list.push({ offset, length, kind });
  }
}

/**
 * The kinds a backing layer reports for [start, end) of the overlay; past the backing's end the
 * overlay reads zeros. `extents()` of the backing is computed once and searched by offset.
 */
export class BackingExtents {
  private cached: Extent[] | null = null;

  constructor(private readonly backing: BlockSource | null) {}

  async fill(into: ExtentBuilder, start: number, end: number): Promise<void> {
    if (this.backing === null) return into.push(start, end - start, 'zero');
    const list = (this.cached ??= await this.backing.extents());
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = list[mid] as Extent;
      if (e.offset + e.length <= start) lo = mid + 1;
      else hi = mid;
    }
    let pos = start;
    for (let i = lo; i < list.length && pos < end; i++) {
      const e = list[i] as Extent;
      const a = Math.max(pos, e.offset);
      const b = Math.min(end, e.offset + e.length);
      if (a > pos) into.push(pos, a - pos, 'zero');
      if (b > a) into.push(a, b - a, e.kind);
      pos = Math.max(pos, b);
    }
    if (pos < end) into.push(pos, end - pos, 'zero');
  }
}

/** Read [offset, offset+length) of a backing layer into `out`, zeros past its end. */
export async function readBacking(backing: BlockSource | null, out: Uint8Array, outOffset: number, offset: number, length: number): Promise<void> {
  if (backing === null || offset >= backing.size) return;
  const n = Math.min(length, backing.size - offset);
  out.set(await backing.read(offset, n), outOffset);
}
