/**
 * A map that forgets its oldest entries past `capacity`. For state that only changes with the chain, keyed by
 * what identifies the version (an indexed block's hash): an entry is never stale, only unused.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    if (this.entries.has(key)) return this.entries.get(key)!;
    const value = await load();
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
    return value;
  }

  /** Forgets every entry whose key matches (an account's roles after its enrolment changed). */
  forget(matches: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (matches(key)) this.entries.delete(key);
  }
}
