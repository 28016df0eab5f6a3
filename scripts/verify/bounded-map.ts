/**
 * A Map that forgets entries beyond `capacity`, so the verifier's caches stay bounded however long the
 * trail is, and forgets the least recently used first, by the CLOCK approximation of LRU: a hit only
 * marks its entry; when room is needed, marked entries at the old end are unmarked and moved to the new
 * end (a second chance), and the first unmarked one goes. A hit then costs one lookup, not a re-insertion.
 * A JavaScript Map iterates in insertion order, so its first entry is the oldest.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, { value: V; used: boolean }>();

  constructor(private readonly capacity: number) {
    if (capacity < 1) throw new RangeError("capacity must be at least 1");
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    while (this.map.size >= this.capacity) {
      const [oldest, entry] = this.map.entries().next().value as [K, { value: V; used: boolean }];
      this.map.delete(oldest);
      if (!entry.used) break;
      entry.used = false;
      this.map.set(oldest, entry);
    }
    this.map.set(key, { value, used: false });
  }

  /** The cached value, or `load()`'s, cached. Promises are cached too, so concurrent misses share one call. */
  getOrLoad(key: K, load: () => V): V {
    let value = this.get(key);
    if (value === undefined) {
      value = load();
      this.set(key, value);
    }
    return value;
  }
}
