//! Vendor metadata reads kept in memory (docs/architecture.md "Caches"): TimeEdit's auth servers and sort
//! orders, Workspace 365's app icons. They change rarely and many writes consult them, so each
//! is read once per TTL, however many requests ask at the same moment.
//!
//! Bounded by entries and by bytes at once: each entry weighs its value's approximate size but
//! at least `max_bytes / max_entries`, so neither bound can be exceeded. A failed read is
//! handed to every caller that waited for it and kept by none. Lookups are counted in
//! `vendor_metadata_cache_hits_total` / `vendor_metadata_cache_misses_total`, labelled by
//! `vendor` and `what`.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::Problem;

/// The counter of lookups answered from memory.
pub const HITS: &str = "vendor_metadata_cache_hits_total";
/// The counter of lookups that waited for the vendor (their own read or one in flight).
pub const MISSES: &str = "vendor_metadata_cache_misses_total";

/// The longest `ttl_secs` accepted: metadata older than a day is not worth trusting (and moka
/// refuses TTLs beyond 1000 years at build time, which a config must never reach).
pub const MAX_TTL_SECS: u64 = 86_400;

/// The `metadata_cache` table of a vendor's settings: how long metadata reads are trusted and
/// how much of them is kept. The bounds apply to each kind of read separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataCacheSettings {
    /// How long a read is trusted, in seconds (1 to 86400).
    pub ttl_secs: u64,
    /// At most this many reads kept.
    pub max_entries: u64,
    /// At most this many bytes of reads kept (their approximate size in memory).
    pub max_bytes: u64,
}

impl Default for MetadataCacheSettings {
    fn default() -> Self {
        MetadataCacheSettings {
            ttl_secs: 600,
            max_entries: 1_000,
            max_bytes: 8 << 20,
        }
    }
}

impl MetadataCacheSettings {
    /// What is wrong with these settings, with keys under `metadata_cache.`.
    pub fn problems(&self) -> Vec<Problem> {
        let defaults = MetadataCacheSettings::default();
        let problem = |key: &str, problem: String, fix: String| {
            Problem::new(format!("metadata_cache.{key}"), problem, fix)
        };
        let mut problems = Vec::new();
        if !(1..=MAX_TTL_SECS).contains(&self.ttl_secs) {
            problems.push(problem(
                "ttl_secs",
                format!("{} is outside 1..={MAX_TTL_SECS}", self.ttl_secs),
                format!(
                    "use a number of seconds up to a day, or remove the key to use the default, {}",
                    defaults.ttl_secs
                ),
            ));
        }
        for (key, value, default) in [
            ("max_entries", self.max_entries, defaults.max_entries),
            ("max_bytes", self.max_bytes, defaults.max_bytes),
        ] {
            if value == 0 {
                problems.push(problem(
                    key,
                    "must be greater than 0".into(),
                    format!("remove the key to use the default, {default}"),
                ));
            }
        }
        problems
    }
}

/// The approximate size of a value in memory, in bytes, for the `max_bytes` bound.
pub trait Weigh {
    fn weigh(&self) -> usize;
}

impl Weigh for String {
    fn weigh(&self) -> usize {
        std::mem::size_of::<String>() + self.len()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> usize {
        std::mem::size_of::<Vec<T>>() + self.iter().map(Weigh::weigh).sum::<usize>()
    }
}

/// What a [`MetadataCache::lookup`] found.
#[derive(Debug)]
pub struct Lookup<V> {
    pub value: Arc<V>,
    /// Found in memory (it may be up to the TTL old); `false` when it was just read.
    pub cached: bool,
}

/// One kind of vendor metadata read (`what`, e.g. "auth servers"), cached by key.
pub struct MetadataCache<K, V> {
    cache: moka::future::Cache<K, Arc<V>>,
    vendor: &'static str,
    what: &'static str,
}

impl<K, V> Clone for MetadataCache<K, V> {
    fn clone(&self) -> Self {
        MetadataCache {
            cache: self.cache.clone(),
            vendor: self.vendor,
            what: self.what,
        }
    }
}

impl<K, V> std::fmt::Debug for MetadataCache<K, V> {
    // The values may be large (icon images): only what the cache is for.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataCache")
            .field("vendor", &self.vendor)
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl<K, V> MetadataCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Weigh + Send + Sync + 'static,
{
    /// A cache of `vendor`'s `what` reads with these settings (out-of-range values, which
    /// `problems` reports, are brought into range rather than panicking).
    pub fn new(settings: &MetadataCacheSettings, vendor: &'static str, what: &'static str) -> Self {
        Self::build(
            Duration::from_secs(settings.ttl_secs.clamp(1, MAX_TTL_SECS)),
            settings.max_entries,
            settings.max_bytes,
            vendor,
            what,
        )
    }

    fn build(
        ttl: Duration,
        max_entries: u64,
        max_bytes: u64,
        vendor: &'static str,
        what: &'static str,
    ) -> Self {
        let (max_entries, max_bytes) = (max_entries.max(1), max_bytes.max(1));
        let floor = (max_bytes / max_entries).max(1);
        let cache = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |_: &K, value: &Arc<V>| {
                u32::try_from((value.weigh() as u64).max(floor)).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        MetadataCache {
            cache,
            vendor,
            what,
        }
    }

    /// The value for `key`: the cached one, else what `load` reads, awaited once for every
    /// caller asking meanwhile. An error goes to those callers and is not kept.
    pub async fn get_or_load<E, F>(&self, key: K, load: F) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
        E: Clone + Send + Sync + 'static,
    {
        Ok(self.lookup(key, load).await?.value)
    }

    /// [`MetadataCache::get_or_load`], also saying whether the value was found in memory.
    pub async fn lookup<E, F>(&self, key: K, load: F) -> Result<Lookup<V>, E>
    where
        F: Future<Output = Result<V, E>>,
        E: Clone + Send + Sync + 'static,
    {
        if let Some(value) = self.cache.get(&key).await {
            self.record(true);
            return Ok(Lookup {
                value,
                cached: true,
            });
        }
        self.record(false);
        let value = self
            .cache
            .try_get_with(key, async { load.await.map(Arc::new) })
            .await
            .map_err(Arc::unwrap_or_clone)?;
        Ok(Lookup {
            value,
            cached: false,
        })
    }

    /// Reads `key` again, unless the cached value is no longer `stale` (another caller read it
    /// again meanwhile): "read again once before refusing" without a read per refusal.
    pub async fn reload<E, F>(&self, key: K, stale: &Arc<V>, load: F) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
        E: Clone + Send + Sync + 'static,
    {
        if let Some(current) = self.cache.get(&key).await
            && !Arc::ptr_eq(&current, stale)
        {
            self.record(true);
            return Ok(current);
        }
        self.invalidate(&key).await;
        self.get_or_load(key, load).await
    }

    /// Keeps `value` for `key`, e.g. what a probe read anyway.
    pub async fn insert(&self, key: K, value: V) {
        self.cache.insert(key, Arc::new(value)).await;
    }

    /// Forgets `key`: the next lookup reads from the vendor.
    pub async fn invalidate(&self, key: &K) {
        self.cache.invalidate(key).await;
    }

    fn record(&self, hit: bool) {
        let name = if hit { HITS } else { MISSES };
        metrics::counter!(name, "vendor" => self.vendor, "what" => self.what).increment(1);
    }
}

/// The `# HELP` lines of the metadata cache's series (the gateway's `/metrics`).
pub fn describe_metrics() {
    metrics::describe_counter!(
        "vendor_metadata_cache_hits_total",
        "Vendor metadata reads answered from the cache, by vendor and what"
    );
    metrics::describe_counter!(
        "vendor_metadata_cache_misses_total",
        "Vendor metadata reads that called the vendor, by vendor and what"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    type Cache = MetadataCache<u32, Vec<String>>;

    fn cache(ttl: Duration, max_entries: u64, max_bytes: u64) -> Cache {
        MetadataCache::build(ttl, max_entries, max_bytes, "test", "things")
    }

    /// A loader that counts its calls and answers `value`.
    async fn counted(calls: &AtomicUsize, value: &str) -> Result<Vec<String>, String> {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(vec![value.to_owned()])
    }

    #[tokio::test]
    async fn a_read_is_kept_until_its_ttl() {
        let cache = cache(Duration::from_millis(200), 10, 1 << 20);
        let calls = AtomicUsize::new(0);
        let first = cache.get_or_load(1, counted(&calls, "a")).await;
        let second = cache.get_or_load(1, counted(&calls, "b")).await;
        assert_eq!(first, Ok(Arc::new(vec!["a".to_owned()])));
        assert_eq!(second, first, "answered from memory");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let third = cache.get_or_load(1, counted(&calls, "c")).await;
        assert_eq!(
            third,
            Ok(Arc::new(vec!["c".to_owned()])),
            "expired, read again"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn entries_are_bounded_by_count() {
        let cache = cache(Duration::from_secs(60), 3, 1 << 20);
        let calls = AtomicUsize::new(0);
        for key in 0..20 {
            cache
                .get_or_load(key, counted(&calls, "small"))
                .await
                .expect("loaded");
        }
        cache.cache.run_pending_tasks().await;
        let kept = cache.cache.entry_count();
        assert!((1..=3).contains(&kept), "{kept} entries kept");
    }

    #[tokio::test]
    async fn entries_are_bounded_by_bytes() {
        let cache = cache(Duration::from_secs(60), 1_000, 1_000);
        let calls = AtomicUsize::new(0);
        let big = "x".repeat(300);
        for key in 0..20 {
            cache
                .get_or_load(key, counted(&calls, &big))
                .await
                .expect("loaded");
        }
        cache.cache.run_pending_tasks().await;
        let (kept, bytes) = (cache.cache.entry_count(), cache.cache.weighted_size());
        assert!((1..=2).contains(&kept), "{kept} entries of ~350 bytes kept");
        assert!(bytes <= 1_000, "{bytes} bytes kept");

        // A value larger than the whole budget is answered but never kept.
        let huge = "y".repeat(2_000);
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            cache
                .get_or_load(99, counted(&calls, &huge))
                .await
                .expect("loaded");
            cache.cache.run_pending_tasks().await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(cache.cache.weighted_size() <= 1_000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_lookups_make_one_read() {
        let cache = cache(Duration::from_secs(60), 10, 1 << 20);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.spawn(async move {
                cache
                    .get_or_load(7, async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // Slow enough that every lookup arrives while it is in flight.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, String>(vec!["answer".to_owned()])
                    })
                    .await
            });
        }
        let answers = tasks.join_all().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            answers
                .iter()
                .all(|a| a.as_ref().is_ok_and(|v| v[0] == "answer")),
            "{answers:?}"
        );
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let cache = cache(Duration::from_secs(60), 10, 1 << 20);
        let calls = AtomicUsize::new(0);
        let failing = async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<Vec<String>, _>("vendor down".to_owned())
        };
        assert_eq!(
            cache.get_or_load(1, failing).await,
            Err("vendor down".to_owned())
        );
        let value = cache.get_or_load(1, counted(&calls, "up")).await;
        assert_eq!(value, Ok(Arc::new(vec!["up".to_owned()])));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the error was not cached");
        cache
            .get_or_load(1, counted(&calls, "again"))
            .await
            .expect("cached");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn reload_reads_again_once_for_a_stale_value() {
        let cache = cache(Duration::from_secs(60), 10, 1 << 20);
        let calls = AtomicUsize::new(0);
        let stale = cache
            .get_or_load(1, counted(&calls, "old"))
            .await
            .expect("loaded");
        let fresh = cache
            .reload(1, &stale, counted(&calls, "new"))
            .await
            .expect("reloaded");
        assert_eq!(fresh[0], "new");
        // A second caller holding the same stale value gets the new one without a read.
        let again = cache
            .reload(1, &stale, counted(&calls, "newer"))
            .await
            .expect("reloaded");
        assert!(Arc::ptr_eq(&again, &fresh));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A refresh from elsewhere (a probe) is what the next lookup finds.
        cache.insert(1, vec!["probed".to_owned()]).await;
        let probed = cache.get_or_load(1, counted(&calls, "x")).await;
        assert_eq!(probed, Ok(Arc::new(vec!["probed".to_owned()])));
        cache.invalidate(&1).await;
        cache
            .get_or_load(1, counted(&calls, "y"))
            .await
            .expect("read");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// Counters by name and labels, recorded on the test's thread.
    #[derive(Default)]
    struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

    impl Counters {
        fn get(&self, name: &str) -> u64 {
            let counters = self.0.lock().expect("counters");
            counters
                .get(&format!("{name}{{vendor=test,what=things}}"))
                .map_or(0, |c| c.load(Ordering::SeqCst))
        }
    }

    impl metrics::Recorder for Counters {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let mut counters = self.0.lock().expect("counters");
            metrics::Counter::from_arc(counters.entry(name).or_default().clone())
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[tokio::test]
    async fn hits_and_misses_are_counted() {
        let counters = Counters::default();
        let _recorder = metrics::set_default_local_recorder(&counters);
        let cache = cache(Duration::from_secs(60), 10, 1 << 20);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            cache
                .get_or_load(1, counted(&calls, "a"))
                .await
                .expect("read");
        }
        cache
            .get_or_load(2, counted(&calls, "b"))
            .await
            .expect("read");
        assert_eq!((counters.get(HITS), counters.get(MISSES)), (2, 2));
    }

    #[test]
    fn settings_default_and_problems() {
        let settings: MetadataCacheSettings =
            serde_json::from_value(serde_json::json!({})).expect("defaults");
        assert_eq!(settings, MetadataCacheSettings::default());
        assert!(settings.problems().is_empty());
        let bad = MetadataCacheSettings {
            ttl_secs: 0,
            max_entries: 0,
            max_bytes: 0,
        };
        let keys: Vec<String> = bad.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "metadata_cache.ttl_secs",
                "metadata_cache.max_entries",
                "metadata_cache.max_bytes"
            ]
        );
        let forever = MetadataCacheSettings {
            ttl_secs: u64::MAX,
            ..MetadataCacheSettings::default()
        };
        assert_eq!(forever.problems().len(), 1);
        // Out-of-range values still build (check-config reports them; nothing panics).
        let _ = MetadataCache::<u32, Vec<String>>::new(&forever, "test", "things");
        assert!(
            serde_json::from_value::<MetadataCacheSettings>(serde_json::json!({"ttl": 5})).is_err()
        );
    }
}
