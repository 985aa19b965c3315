// An in-process cache of verified credentials, dropped by tag when the database says something
// changed (see change-feed.ts). Three rules keep it correct, not just fast:
//  - bounded: at most `maxEntries`, oldest evicted first, each entry at most `maxAgeMs` old;
//  - a load that raced an invalidation is not stored (the epoch check below), so a reader that
//    fetched a row just before a revocation committed cannot put the old row back afterwards;
//  - while the change feed is down nothing is served from it (`enabled` false): a node that cannot
//    hear revocations must not trust what it remembers.

interface Entry<V> {
  value: V;
  tags: readonly string[];
  storedAt: number;
}

export interface Loaded<V> {
  value: V;
  /** What invalidates it: e.g. `key:<id>`, `org:<id>`, `user:<id>`, `session:<id>`. */
  tags: readonly string[];
}

export class TaggedCache<V> {
  private entries = new Map<string, Entry<V>>();
  private byTag = new Map<string, Set<string>>();
  private inFlight = new Map<string, Promise<V | null>>();
  /** Bumped by every invalidation; a load started under an older epoch is not stored. */
  private epoch = 0;
  enabled = true;

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached value, or the loader's (shared by concurrent callers for the same key). */
  async getOrLoad(key: string, load: () => Promise<Loaded<V> | null>): Promise<V | null> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const epoch = this.epoch;
    // Only this load's own entry is removed: an invalidation may have let a newer load take its place.
    const settle = () => {
      if (this.inFlight.get(key) === loading) this.inFlight.delete(key);
    };
    const loading: Promise<V | null> = load().then(
      (loaded) => {
        settle();
        if (!loaded) return null;
        if (this.enabled && epoch === this.epoch) this.set(key, loaded);
        return loaded.value;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.inFlight.set(key, loading);
    return loading;
  }

  get(key: string): V | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (Date.now() - entry.storedAt > this.maxAgeMs) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Stores a value that no invalidation can make stale (e.g. a verified signature), so no epoch
   * check is needed; ignored while the cache is paused.
   */
  put(key: string, loaded: Loaded<V>): void {
    if (this.enabled) this.set(key, loaded);
  }

  /** Drops every entry carrying any of these tags. */
  invalidate(tags: Iterable<string>): void {
    this.epoch++;
    // Loads in flight started before this change: let later callers load afresh.
    this.inFlight.clear();
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (!keys) continue;
      for (const key of keys) this.delete(key);
    }
  }

  clear(): void {
    this.epoch++;
    this.inFlight.clear();
    this.entries.clear();
    this.byTag.clear();
  }

  private set(key: string, loaded: Loaded<V>): void {
    this.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
    this.entries.set(key, { value: loaded.value, tags: loaded.tags, storedAt: Date.now() });
    for (const tag of loaded.tags) {
      let keys = this.byTag.get(tag);
      if (!keys) {
        keys = new Set();
        this.byTag.set(tag, keys);
      }
      keys.add(key);
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const tag of entry.tags) {
      const keys = this.byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.byTag.delete(tag);
    }
  }
}

/**
 * Every cache of a node, fed by the change feed: a tag heard drops matching entries everywhere;
 * losing the feed empties and pauses them all until it is back.
 */
export class CacheRegistry {
  private caches = new Map<string, TaggedCache<unknown>>();
  private listening = false;

  /** Whether the change feed is connected (the caches are in use). */
  get hearing(): boolean {
    return this.listening;
  }

  /** The cache of this name, created on first use. */
  named<V>(name: string, maxEntries: number, maxAgeMs: number): TaggedCache<V> {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new TaggedCache<unknown>(maxEntries, maxAgeMs);
      cache.enabled = this.listening;
      this.caches.set(name, cache);
    }
    return cache as TaggedCache<V>;
  }

  /** A change heard from the database (any node's commit), or made by this node just now. */
  onChange(tag: string): void {
    for (const cache of this.caches.values()) {
      if (tag === 'all') cache.clear();
      else cache.invalidate([tag]);
    }
  }

  forget(tags: readonly string[]): void {
    for (const cache of this.caches.values()) cache.invalidate(tags);
  }

  onHearing(hearing: boolean): void {
    this.listening = hearing;
    for (const cache of this.caches.values()) {
      cache.clear();
      cache.enabled = hearing;
    }
  }
}
