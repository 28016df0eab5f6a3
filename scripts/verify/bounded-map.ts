/**
 * A Map that forgets its least recently used entries beyond `capacity`, so the verifier's caches stay
 * bounded however long the trail is. A JavaScript Map iterates in insertion order, so re-inserting on
 * every hit keeps the oldest entry first.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly capacity: number) {
    if (capacity < 1) throw new RangeError("capacity must be at least 1");
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
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
