/**
 * A map with a cap on its entry count, for the metadata readers re-read while walking an image (qcow2
 * L2 tables and inflated clusters, VHD sector bitmaps, config-drive directories). When full, the
 * entry inserted first is dropped: a hostile image can make a reader touch any number of tables, but
 * never hold more than `max` of them.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`cache size ${max} must be at least 1`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /**
   * The promise cached for `key`, or `load()`'s, cached: concurrent readers of one table share a
   * single read, and a failed read is forgotten so the next caller tries again (and gets its coded
   * error again).
   */
  load<T>(this: BoundedCache<K, Promise<T>>, key: K, load: () => Promise<T>): Promise<T> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const loading = load();
    loading.catch(() => {
      if (this.get(key) === loading) this.delete(key);
    });
    this.set(key, loading);
    return loading;
  }
}
