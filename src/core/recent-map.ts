/**
 * A Map that empties itself when a new key would take it past `limit` entries: a cache of hot keys
 * (ids a history names, strings an answer shows, paths a request asks about) with a hard bound on
 * its memory and nothing to age out one by one.
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}
