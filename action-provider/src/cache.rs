//! A per-node cache of one value derived from stored configuration, checked against the
//! stored version at most once per [`SETTINGS_REFRESH`] and dropped at once after this
//! node's own change. The policies and the SMS brokers both use it, so the rule lives here.
//!
//! A read that started before this node's own write may finish after it: `generation`
//! counts [`VersionedCache::invalidate`] calls, and a read stores what it loaded only if no
//! invalidation happened since it began (else a stale read could be served for up to a
//! refresh after the change was answered).

use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{SETTINGS_REFRESH, UnixTime};

struct Entry<K, V> {
    checked: UnixTime,
    version: K,
    value: V,
}

/// The cached value `V`, read at stored version `K`.
pub struct VersionedCache<K, V> {
    inner: RwLock<Option<Entry<K, V>>>,
    generation: AtomicU64,
}

impl<K, V> Default for VersionedCache<K, V> {
    fn default() -> Self {
        Self {
            inner: RwLock::new(None),
            generation: AtomicU64::new(0),
        }
    }
}

impl<K, V> std::fmt::Debug for VersionedCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<K: PartialEq, V: Clone> VersionedCache<K, V> {
    /// The value: the cached one if checked less than a refresh ago, or if `version` (the
    /// stored version, read only when the check is due) still equals the cached one;
    /// else `load(version)`, which returns the version it actually read with the value.
    /// `Ok(None)` when `version` finds nothing stored (nothing is cached then).
    pub async fn get<E, VF, L, LF>(
        &self,
        now: UnixTime,
        version: VF,
        load: L,
    ) -> Result<Option<V>, E>
    where
        VF: Future<Output = Result<Option<K>, E>>,
        L: FnOnce(K) -> LF,
        LF: Future<Output = Result<Option<(K, V)>, E>>,
    {
        if let Some(v) = self.fresh(now) {
            return Ok(Some(v));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(stored) = version.await? else {
            return Ok(None);
        };
        if let Some(v) = self.confirm(generation, &stored, now) {
            return Ok(Some(v));
        }
        let Some((version, value)) = load(stored).await? else {
            return Ok(None);
        };
        self.store(generation, version, value.clone(), now);
        Ok(Some(value))
    }

    /// The cached value if checked less than a refresh ago.
    fn fresh(&self, now: UnixTime) -> Option<V> {
        let guard = self.inner.read().ok()?;
        let e = guard
            .as_ref()
            .filter(|e| e.checked <= now && now < e.checked.plus(SETTINGS_REFRESH))?;
        Some(e.value.clone())
    }

    /// The cached value if it is still at `version` (marked checked at `now`), unless the
    /// cache was invalidated since `generation` was read.
    fn confirm(&self, generation: u64, version: &K, now: UnixTime) -> Option<V> {
        let mut guard = self.inner.write().ok()?;
        if self.generation.load(Ordering::Acquire) != generation {
            return None;
        }
        let e = guard.as_mut().filter(|e| e.version == *version)?;
        e.checked = now;
        Some(e.value.clone())
    }

    /// Caches `value`, read at `version`, unless the cache was invalidated since
    /// `generation` was read (the read may predate this node's last write).
    fn store(&self, generation: u64, version: K, value: V, now: UnixTime) {
        if let Ok(mut guard) = self.inner.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            *guard = Some(Entry {
                checked: now,
                version,
                value,
            });
        }
    }

    /// Forgets the cached value (after this node changed what it derives from).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.inner.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            *guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::convert::Infallible;

    use super::*;

    type Cache = VersionedCache<i64, &'static str>;

    /// `get` with the stored version `stored` and value `value`; counts the reads.
    async fn get(
        cache: &Cache,
        now: UnixTime,
        stored: Option<(i64, &'static str)>,
        reads: &Cell<u32>,
    ) -> Option<&'static str> {
        let version = async {
            reads.set(reads.get() + 1);
            Ok::<_, Infallible>(stored.map(|(v, _)| v))
        };
        let load = |_| async { Ok(stored) };
        match cache.get(now, version, load).await {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(f)
    }

    #[test]
    fn the_version_is_checked_once_a_refresh_and_a_change_is_loaded() {
        block_on(async {
            let cache = Cache::default();
            let reads = Cell::new(0);
            let t0 = UnixTime::from_millis(1_000_000);
            assert_eq!(get(&cache, t0, Some((1, "a")), &reads).await, Some("a"));
            // Within the refresh the stored change is not even looked at.
            let t1 = t0.plus(SETTINGS_REFRESH / 2);
            assert_eq!(get(&cache, t1, Some((2, "b")), &reads).await, Some("a"));
            assert_eq!(reads.get(), 1);
            // After it, the version is read and the new value loaded.
            let t2 = t0.plus(SETTINGS_REFRESH);
            assert_eq!(get(&cache, t2, Some((2, "b")), &reads).await, Some("b"));
            assert_eq!(reads.get(), 2);
            // Nothing stored: nothing served, nothing cached.
            cache.invalidate();
            assert_eq!(get(&cache, t2, None, &reads).await, None);
            assert!(cache.fresh(t2).is_none());
        });
    }

    #[test]
    fn a_read_that_began_before_an_invalidation_is_not_cached() {
        let cache = Cache::default();
        let now = UnixTime::from_millis(1_000_000);
        // A background read starts, the node then writes a document and invalidates...
        let before = cache.generation.load(Ordering::Acquire);
        cache.invalidate();
        // ...and the old read finishes last: what it read must not be served.
        cache.store(before, 1, "old", now);
        assert!(cache.fresh(now).is_none());
        assert!(cache.confirm(before, &1, now).is_none());
        // A read that began after the invalidation is cached as usual.
        let after = cache.generation.load(Ordering::Acquire);
        cache.store(after, 2, "new", now);
        assert_eq!(cache.fresh(now), Some("new"));
        assert_eq!(cache.confirm(after, &2, now), Some("new"));
    }
}
