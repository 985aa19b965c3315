// The credential cache's correctness rules: bounded in size and age, dropped by tag, never storing
// a load that raced an invalidation, sharing concurrent loads, and serving nothing while the change
// feed is deaf (CacheRegistry.onHearing(false)).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheRegistry, type Loaded, TaggedCache } from './tagged-cache.ts';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A loader that counts its calls and answers `value` with `tags`. */
function loader<V>(value: V, tags: string[] = []) {
  const load = vi.fn(async (): Promise<Loaded<V> | null> => ({ value, tags }));
  return load;
}

const fresh = () => new TaggedCache<string>(100, 60_000);

afterEach(() => {
  vi.useRealTimers();
});

describe('TaggedCache', () => {
  it('loads on a miss and serves the stored value on a hit', async () => {
    const cache = fresh();
    const load = loader('v1', ['key:1']);
    expect(cache.get('a')).toBeUndefined();
    expect(await cache.getOrLoad('a', load)).toBe('v1');
    expect(await cache.getOrLoad('a', loader('other'))).toBe('v1');
    expect(cache.get('a')).toBe('v1');
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.size).toBe(1);
  });

  it('does not store a null load (an unknown credential is looked up again)', async () => {
    const cache = fresh();
    const load = vi.fn(async () => null);
    expect(await cache.getOrLoad('missing', load)).toBeNull();
    expect(await cache.getOrLoad('missing', load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);
  });

  it('drops exactly the entries carrying an invalidated tag', async () => {
    const cache = fresh();
    await cache.getOrLoad('a', loader('A', ['key:1', 'org:1']));
    await cache.getOrLoad('b', loader('B', ['key:2', 'org:1']));
    await cache.getOrLoad('c', loader('C', ['key:3', 'org:2']));
    await cache.getOrLoad('d', loader('D', []));

    cache.invalidate(['key:2']);
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    expect(cache.get('d')).toBe('D');

    cache.invalidate(['org:1', 'org:unknown']);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    expect(cache.get('d')).toBe('D');
    expect(cache.size).toBe(2);

    // A tag that matched before does not linger: re-storing under other tags is not dropped by it.
    await cache.getOrLoad('a', loader('A2', ['key:9']));
    cache.invalidate(['key:1', 'org:1']);
    expect(cache.get('a')).toBe('A2');
  });

  it('forgets the old tags of a key that was loaded again', async () => {
    const cache = fresh();
    await cache.getOrLoad('a', loader('A', ['old']));
    cache.invalidate(['old']);
    await cache.getOrLoad('a', loader('A2', ['new']));
    cache.invalidate(['old']);
    expect(cache.get('a')).toBe('A2');
    cache.invalidate(['new']);
    expect(cache.get('a')).toBeUndefined();
  });

  it('holds at most maxEntries, evicting the oldest first', async () => {
    const cache = new TaggedCache<string>(3, 60_000);
    for (const key of ['a', 'b', 'c']) await cache.getOrLoad(key, loader(key.toUpperCase(), [`t:${key}`]));
    expect(cache.size).toBe(3);
    await cache.getOrLoad('d', loader('D', ['t:d']));
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((key) => cache.get(key))).toEqual(['B', 'C', 'D']);
    await cache.getOrLoad('e', loader('E'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(3);
    // An evicted entry's tags no longer point at it.
    cache.invalidate(['t:a', 't:b']);
    expect(['c', 'd', 'e'].map((key) => cache.get(key))).toEqual(['C', 'D', 'E']);
  });

  it('expires an entry older than maxAgeMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const cache = new TaggedCache<string>(100, 1_000);
    const load = loader('v', ['t']);
    await cache.getOrLoad('a', load);
    vi.advanceTimersByTime(1_000);
    expect(cache.get('a')).toBe('v');
    vi.advanceTimersByTime(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(await cache.getOrLoad('a', load)).toBe('v');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('returns a load that raced an invalidation to its caller but does not store it', async () => {
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const racing = cache.getOrLoad('a', () => gate.promise);
    // The revocation commits (and is heard) while the stale row is on its way back.
    cache.invalidate(['key:1']);
    gate.resolve({ value: 'stale', tags: ['key:1'] });
    expect(await racing).toBe('stale');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    const reload = loader('fresh', ['key:1']);
    expect(await cache.getOrLoad('a', reload)).toBe('fresh');
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('does not store a racing load even when the invalidation named an unrelated tag', async () => {
    // The epoch is cache-wide: conservative, and what keeps the rule simple.
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const racing = cache.getOrLoad('a', () => gate.promise);
    cache.invalidate(['key:unrelated']);
    gate.resolve({ value: 'v', tags: ['key:1'] });
    expect(await racing).toBe('v');
    expect(cache.get('a')).toBeUndefined();
  });

  it('does not store a racing load after clear()', async () => {
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const racing = cache.getOrLoad('a', () => gate.promise);
    cache.clear();
    gate.resolve({ value: 'v', tags: [] });
    expect(await racing).toBe('v');
    expect(cache.get('a')).toBeUndefined();
  });

  it('does not hand a racing load to callers that arrive after the invalidation', async () => {
    const cache = fresh();
    const stale = deferred<Loaded<string> | null>();
    const first = cache.getOrLoad('a', () => stale.promise);
    cache.invalidate(['key:1']);
    const fresher = deferred<Loaded<string> | null>();
    const freshLoad = vi.fn(() => fresher.promise);
    const second = cache.getOrLoad('a', freshLoad);
    expect(freshLoad).toHaveBeenCalledTimes(1);
    stale.resolve({ value: 'stale', tags: ['key:1'] });
    fresher.resolve({ value: 'fresh', tags: ['key:1'] });
    expect(await first).toBe('stale');
    expect(await second).toBe('fresh');
    expect(cache.get('a')).toBe('fresh');
  });

  it('stores a load that started after the invalidation even if an older one finishes later', async () => {
    const cache = fresh();
    const stale = deferred<Loaded<string> | null>();
    const first = cache.getOrLoad('a', () => stale.promise);
    cache.invalidate(['key:1']);
    const second = cache.getOrLoad('a', loader('fresh', ['key:1']));
    expect(await second).toBe('fresh');
    stale.resolve({ value: 'stale', tags: ['key:1'] });
    expect(await first).toBe('stale');
    expect(cache.get('a')).toBe('fresh');
  });

  it('calls the loader once for concurrent requests of one key', async () => {
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const load = vi.fn(() => gate.promise);
    const callers = Array.from({ length: 10 }, () => cache.getOrLoad('a', load));
    const other = cache.getOrLoad('b', loader('B'));
    expect(load).toHaveBeenCalledTimes(1);
    gate.resolve({ value: 'A', tags: [] });
    expect(await Promise.all(callers)).toEqual(Array(10).fill('A'));
    expect(await other).toBe('B');
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.get('a')).toBe('A');
  });

  // Regression: a load from before an invalidation used to remove, when it finished, the in-flight
  // entry of the newer load started after the invalidation, so later callers started a third load.
  it('a stale load finishing does not drop the sharing of the newer in-flight load', async () => {
    const cache = fresh();
    const stale = deferred<Loaded<string> | null>();
    const first = cache.getOrLoad('a', () => stale.promise);
    cache.invalidate(['key:1']);
    const fresher = deferred<Loaded<string> | null>();
    const freshLoad = vi.fn(() => fresher.promise);
    const second = cache.getOrLoad('a', freshLoad);
    stale.resolve({ value: 'stale', tags: ['key:1'] });
    expect(await first).toBe('stale');
    const third = cache.getOrLoad('a', freshLoad);
    expect(freshLoad).toHaveBeenCalledTimes(1);
    fresher.resolve({ value: 'fresh', tags: ['key:1'] });
    expect(await second).toBe('fresh');
    expect(await third).toBe('fresh');
  });

  it('passes a loader error to every waiting caller and does not cache it', async () => {
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const load = vi.fn(() => gate.promise);
    const callers = [cache.getOrLoad('a', load), cache.getOrLoad('a', load)];
    gate.reject(new Error('database down'));
    for (const caller of callers) await expect(caller).rejects.toThrow('database down');
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.size).toBe(0);
    const retry = loader('A');
    expect(await cache.getOrLoad('a', retry)).toBe('A');
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('propagates a loader that throws synchronously', async () => {
    const cache = fresh();
    const load = vi.fn((): Promise<Loaded<string> | null> => {
      throw new Error('sync failure');
    });
    await expect(cache.getOrLoad('a', load)).rejects.toThrow('sync failure');
    // Nothing is left in flight: the next caller loads again.
    expect(await cache.getOrLoad('a', loader('A'))).toBe('A');
  });

  it('serves nothing and stores nothing while disabled', async () => {
    const cache = fresh();
    await cache.getOrLoad('a', loader('A', ['t']));
    cache.enabled = false;
    expect(cache.get('a')).toBeUndefined();
    const load = loader('B', ['t']);
    expect(await cache.getOrLoad('a', load)).toBe('B');
    expect(await cache.getOrLoad('b', load)).toBe('B');
    expect(await cache.getOrLoad('b', load)).toBe('B');
    expect(load).toHaveBeenCalledTimes(3);
    expect(cache.get('b')).toBeUndefined();
  });

  it('does not store a load that started while enabled and finished after being disabled', async () => {
    const cache = fresh();
    const gate = deferred<Loaded<string> | null>();
    const racing = cache.getOrLoad('a', () => gate.promise);
    cache.enabled = false;
    gate.resolve({ value: 'A', tags: [] });
    expect(await racing).toBe('A');
    cache.enabled = true;
    expect(cache.get('a')).toBeUndefined();
  });
});

describe('CacheRegistry', () => {
  it('creates each named cache once, paused until the feed is heard', async () => {
    const registry = new CacheRegistry();
    const cache = registry.named<string>('keys', 10, 60_000);
    expect(registry.named<string>('keys', 99, 1)).toBe(cache);
    expect(cache.enabled).toBe(false);
    registry.onHearing(true);
    expect(cache.enabled).toBe(true);
    // A cache created while hearing starts enabled.
    expect(registry.named<string>('later', 10, 60_000).enabled).toBe(true);
  });

  it('drops a heard tag in every cache', async () => {
    const registry = new CacheRegistry();
    registry.onHearing(true);
    const keys = registry.named<string>('keys', 10, 60_000);
    const sessions = registry.named<string>('sessions', 10, 60_000);
    await keys.getOrLoad('k1', loader('K1', ['key:1', 'org:1']));
    await keys.getOrLoad('k2', loader('K2', ['key:2', 'org:2']));
    await sessions.getOrLoad('s1', loader('S1', ['session:1', 'org:1']));
    await sessions.getOrLoad('s2', loader('S2', ['session:2', 'org:2']));

    registry.onChange('org:1');
    expect(keys.get('k1')).toBeUndefined();
    expect(sessions.get('s1')).toBeUndefined();
    expect(keys.get('k2')).toBe('K2');
    expect(sessions.get('s2')).toBe('S2');

    registry.forget(['key:2', 'session:2']);
    expect(keys.size).toBe(0);
    expect(sessions.size).toBe(0);
  });

  it("onChange('all') clears every cache", async () => {
    const registry = new CacheRegistry();
    registry.onHearing(true);
    const a = registry.named<string>('a', 10, 60_000);
    const b = registry.named<string>('b', 10, 60_000);
    await a.getOrLoad('x', loader('X', ['key:1']));
    await b.getOrLoad('y', loader('Y', []));
    registry.onChange('all');
    expect(a.size).toBe(0);
    expect(b.size).toBe(0);
    expect(a.enabled).toBe(true);
  });

  it('onHearing(false) clears and disables every cache; onHearing(true) re-enables them', async () => {
    const registry = new CacheRegistry();
    registry.onHearing(true);
    const a = registry.named<string>('a', 10, 60_000);
    const b = registry.named<string>('b', 10, 60_000);
    await a.getOrLoad('x', loader('X', ['key:1']));
    await b.getOrLoad('y', loader('Y', []));
    const gate = deferred<Loaded<string> | null>();
    const racing = a.getOrLoad('z', () => gate.promise);

    registry.onHearing(false);
    expect(a.size).toBe(0);
    expect(b.size).toBe(0);
    expect(a.enabled).toBe(false);
    expect(b.enabled).toBe(false);
    const whileDeaf = loader('X2', ['key:1']);
    expect(await a.getOrLoad('x', whileDeaf)).toBe('X2');
    expect(await a.getOrLoad('x', whileDeaf)).toBe('X2');
    expect(whileDeaf).toHaveBeenCalledTimes(2);
    expect(a.size).toBe(0);
    // A cache first used while deaf is paused too.
    expect(registry.named<string>('c', 10, 60_000).enabled).toBe(false);

    registry.onHearing(true);
    // A load from before the outage does not land once hearing again.
    gate.resolve({ value: 'Z', tags: [] });
    expect(await racing).toBe('Z');
    expect(a.get('z')).toBeUndefined();
    expect(a.enabled && b.enabled).toBe(true);
    const after = loader('X3', ['key:1']);
    expect(await a.getOrLoad('x', after)).toBe('X3');
    expect(await a.getOrLoad('x', after)).toBe('X3');
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('does not store a load that started while deaf and finished after hearing resumed', async () => {
    const registry = new CacheRegistry();
    const cache = registry.named<string>('a', 10, 60_000);
    registry.onHearing(true);
    registry.onHearing(false);
    const gate = deferred<Loaded<string> | null>();
    const racing = cache.getOrLoad('x', () => gate.promise);
    registry.onHearing(true);
    gate.resolve({ value: 'read while deaf', tags: ['key:1'] });
    expect(await racing).toBe('read while deaf');
    expect(cache.get('x')).toBeUndefined();
  });
});
