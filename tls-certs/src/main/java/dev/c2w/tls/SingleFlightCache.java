package dev.c2w.tls;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Bounded LRU cache with one computation per key at a time. Thread-safe.
 *
 * <p>A bounded LRU cache whose values are computed at most once per key even under concurrent requests
 * ("single flight"). The map lock is held only to find or insert an entry; the computation runs under that
 * entry's own lock, so callers for the same key wait for the first one while other keys proceed in parallel.
 * A computation that throws leaves no value behind: the entry is dropped and the next caller tries again.
 *
 * <p>Eviction is by access order once more than maxEntries keys are present; an evicted entry that a caller
 * is still computing finishes normally for the callers already holding it.
 */
public final class SingleFlightCache<K, V> {
    private final int maxEntries;
    private final Map<K, Entry<V>> map;

    private static final class Entry<V> {
        volatile V value; // written under this entry's lock
    }

    public SingleFlightCache(int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1: " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.map = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<K, Entry<V>> eldest) {
                return size() > SingleFlightCache.this.maxEntries;
            }
        };
    }

    /** The value for {@code key}, computing it with {@code compute} if absent. */
    public V get(K key, Function<? super K, ? extends V> compute) {
        Objects.requireNonNull(key, "key");
        Entry<V> e;
        synchronized (map) {
            e = map.computeIfAbsent(key, k -> new Entry<>());
        }
        synchronized (e) {
            if (e.value == null) {
                try {
                    e.value = Objects.requireNonNull(compute.apply(key), "computed value");
                } catch (RuntimeException | Error ex) {
                    synchronized (map) {
                        map.remove(key, e);
                    }
                    throw ex;
                }
            }
            return e.value;
        }
    }

    /** The cached value, or null (does not compute, does not wait for a computation in progress). */
    public V peek(K key) {
        Entry<V> e;
        synchronized (map) {
            e = map.get(key);
        }
        if (e == null) {
            return null;
        }
        return e.value;
    }

    public int size() {
        synchronized (map) {
            return map.size();
        }
    }

    public int maxEntries() {
        return maxEntries;
    }
}
