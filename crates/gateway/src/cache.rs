//! The response cache: SCIM read answers (`GET` of a resource or a list) kept in memory with
//! moka, keyed by connector, principal, the request as sent (method, path, query string), and
//! the connector's write generation. Every write to a connector advances its generation before it answers, and a
//! reader takes the generation before it reads the store, so an answer cached from older data
//! is never found again: no client reads a stale resource after its own write (or anyone's
//! write in this process). On a database other replicas write to, the key also holds the
//! database's write generation (`Store::write_generation`), read before the store too, so no
//! replica's write is hidden by an older answer.
//!
//! Bounded by entries and by bytes at once: each entry weighs its body's size but at least
//! `max_bytes / max_entries`, so neither bound can be exceeded.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

use crate::SCIM_CONTENT_TYPE;
use crate::config::CacheConfig;
use crate::telemetry::CacheCounters;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    /// The hash of the other fields, computed once: the map hashes keys again whenever it
    /// rebuilds its table, which under a stream of misses (every insert evicts) it often does;
    /// hashing the strings each time cost about 6% of the gateway's CPU.
    hash: u64,
    connector: String,
    principal: String,
    generation: u64,
    /// The database's write generation, when other processes write to it too.
    shared: Option<i64>,
    /// Method, path and the query's parameters in sorted order, still encoded: the same
    /// parameters in another order are the same request. (Not decoded: that cost more than
    /// the rare hit on a differently encoded query would save.)
    request: String,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A connector's write generation and its hit and miss counters.
struct PerConnector {
    generation: AtomicU64,
    counters: CacheCounters,
}

/// A cached `200` answer.
#[derive(Debug)]
struct Cached {
    etag: Option<HeaderValue>,
    body: Bytes,
}

/// Where a read will be kept, taken before the read.
#[derive(Debug, Clone)]
pub struct Slot(Option<Key>);

/// The cache of every connector, and each connector's write generation.
pub struct ResponseCache {
    /// The synchronous cache: an async one costs more per lookup and insert, and nothing here
    /// waits.
    cache: Option<moka::sync::Cache<Key, Arc<Cached>>>,
    connectors: HashMap<String, PerConnector>,
    /// Hashes the keys (randomly seeded: clients choose the requests).
    hasher: RandomState,
    /// The largest answer kept, in bytes: a 64th of `max_bytes`.
    largest: u64,
}

impl ResponseCache {
    pub fn new<'a>(config: &CacheConfig, connectors: impl Iterator<Item = &'a String>) -> Self {
        let cache = (config.max_entries > 0 && config.max_bytes > 0).then(|| {
            let floor = (config.max_bytes / config.max_entries).max(1);
            moka::sync::Cache::builder()
                // Sized for its bound from the start: under a stream of misses (random lookups
                // among 100,000 users) a growing table rehashed again and again, 4% of the CPU.
                .initial_capacity(
                    usize::try_from(config.max_entries)
                        .unwrap_or(0)
                        .min(1 << 20),
                )
                .max_capacity(config.max_bytes)
                .weigher(move |_: &Key, v: &Arc<Cached>| {
                    u32::try_from((v.body.len() as u64).max(floor)).unwrap_or(u32::MAX)
                })
                .time_to_live(Duration::from_secs(config.ttl_secs.max(1)))
                .build()
        });
        ResponseCache {
            cache,
            connectors: connectors
                .map(|c| {
                    let state = PerConnector {
                        generation: AtomicU64::new(0),
                        counters: CacheCounters::new(c),
                    };
                    (c.clone(), state)
                })
                .collect(),
            hasher: RandomState::new(),
            largest: config.max_bytes / 64,
        }
    }

    /// A write to `connector` is about to answer: every answer cached before is stale.
    pub fn invalidate(&self, connector: &str) {
        if let Some(state) = self.connectors.get(connector) {
            state.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The slot of a read, taken before the store is read. With a database other replicas
    /// write to, the slot carries its write generation too (one short read), so an answer
    /// cached before any replica's write is never served after it.
    pub async fn slot(
        &self,
        store: &dyn store::Store,
        connector: &str,
        principal: &str,
        req: &HttpRequest,
    ) -> Slot {
        let (Some(_), Some(state)) = (&self.cache, self.connectors.get(connector)) else {
            return Slot(None);
        };
        // Read first: a write that lands after these reads makes the slot stale.
        let generation = state.generation.load(Ordering::Acquire);
        let shared = match store.write_generation().await {
            Ok(shared) => shared,
            // Without it nothing could be known fresh: no caching for this read.
            Err(_) => return Slot(None),
        };
        let (method, path, query) = (req.method().as_str(), req.path(), req.query_string());
        let mut request = String::with_capacity(method.len() + path.len() + query.len() + 2);
        for part in [method, " ", path, "?"] {
            request.push_str(part);
        }
        if query.contains('&') {
            let mut pairs: Vec<&str> = query.split('&').collect();
            pairs.sort_unstable();
            request.push_str(&pairs.join("&"));
        } else {
            request.push_str(query);
        }
        Slot(Some(Key {
            hash: self
                .hasher
                .hash_one((connector, principal, generation, shared, &request)),
            connector: connector.to_owned(),
            principal: principal.to_owned(),
            generation,
            shared,
            request,
        }))
    }

    /// The cached answer for `slot`, as a response to `req` (304 when its `If-None-Match`
    /// names the cached version).
    pub fn get(&self, slot: &Slot, req: &HttpRequest) -> Option<HttpResponse> {
        let (Some(cache), Some(key)) = (&self.cache, &slot.0) else {
            return None;
        };
        let found = cache.get(key);
        if let Some(state) = self.connectors.get(&key.connector) {
            state.counters.record(found.is_some());
        }
        let cached = found?;
        if let (Some(etag), Some(wanted)) = (&cached.etag, req.headers().get(header::IF_NONE_MATCH))
            && wanted
                .to_str()
                .ok()
                .and_then(|w| scim::etag::TagList::parse(w).ok())
                .zip(etag.to_str().ok().and_then(scim::etag::opaque))
                .is_some_and(|(tags, version)| tags.matches(Some(version)))
        {
            return Some(
                HttpResponse::NotModified()
                    .insert_header((header::ETAG, etag.clone()))
                    .finish(),
            );
        }
        Some(respond(&cached))
    }

    /// Keeps a `200` answer for `slot`; gives the answer back (rebuilt) either way.
    pub async fn keep(&self, slot: Slot, response: HttpResponse) -> HttpResponse {
        let (Some(cache), Some(key)) = (&self.cache, slot.0) else {
            return response;
        };
        if response.status() != StatusCode::OK {
            return response;
        }
        // A heavy answer (a Group of 100,000 members is 15 MB) would push out thousands of
        // small ones and hold that memory for one rarely repeated read: it is not kept.
        if let BodySize::Sized(size) = response.body().size()
            && size > self.largest
        {
            return response;
        }
        let etag = response.headers().get(header::ETAG).cloned();
        let body = match actix_web::body::to_bytes(response.into_body()).await {
            Ok(body) => body,
            // Our own bodies are in memory: this does not happen, and a 500 says so.
            Err(_) => return HttpResponse::InternalServerError().finish(),
        };
        let cached = Arc::new(Cached { etag, body });
        cache.insert(key, cached.clone());
        respond(&cached)
    }
}

fn respond(cached: &Cached) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(etag) = &cached.etag {
        response.insert_header((header::ETAG, etag.clone()));
    }
    response
        .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
        .body(cached.body.clone())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn cache(max_entries: u64, max_bytes: u64) -> ResponseCache {
        let connectors = ["c".to_owned()];
        ResponseCache::new(
            &CacheConfig {
                max_entries,
                max_bytes,
                ttl_secs: 60,
            },
            connectors.iter(),
        )
    }

    /// One process's own store: no shared write generation.
    async fn store() -> store::SqliteStore {
        store::SqliteStore::temporary().await.expect("store")
    }

    async fn fill(cache: &ResponseCache, n: usize, body: &str) {
        let store = store().await;
        for i in 0..n {
            let req = TestRequest::get()
                .uri(&format!("/scim/v2/c/Users/{i}"))
                .to_http_request();
            let slot = cache.slot(&store, "c", "p", &req).await;
            cache
                .keep(slot, HttpResponse::Ok().body(body.to_owned()))
                .await;
        }
    }

    fn stored(cache: &ResponseCache) -> (u64, u64) {
        let inner = cache.cache.as_ref().expect("on");
        (inner.entry_count(), inner.weighted_size())
    }

    #[actix_web::test]
    async fn bounded_by_entries_and_by_bytes() {
        let by_entries = cache(10, 1 << 20);
        fill(&by_entries, 100, "small").await;
        by_entries.cache.as_ref().expect("on").run_pending_tasks();
        assert!(stored(&by_entries).0 <= 10, "{:?}", stored(&by_entries));

        let by_bytes = cache(1000, 100_000);
        fill(&by_bytes, 200, &"x".repeat(1000)).await;
        by_bytes.cache.as_ref().expect("on").run_pending_tasks();
        let (entries, bytes) = stored(&by_bytes);
        assert!(entries > 0 && bytes <= 100_000, "{:?}", stored(&by_bytes));
    }

    #[actix_web::test]
    async fn an_answer_heavier_than_a_64th_of_the_bytes_is_not_kept() {
        let light = cache(1000, 64_000);
        fill(&light, 1, &"x".repeat(1000)).await;
        light.cache.as_ref().expect("on").run_pending_tasks();
        assert_eq!(stored(&light).0, 1, "1,000 bytes are kept");
        let heavy = cache(1000, 64_000);
        fill(&heavy, 1, &"x".repeat(1001)).await;
        heavy.cache.as_ref().expect("on").run_pending_tasks();
        assert_eq!(stored(&heavy).0, 0, "1,001 bytes are not");
    }

    #[actix_web::test]
    async fn a_write_orphans_what_was_read_before() {
        let cache = cache(100, 1 << 20);
        let store = store().await;
        let req = TestRequest::get()
            .uri("/scim/v2/c/Users/1")
            .to_http_request();
        let before = cache.slot(&store, "c", "p", &req).await;
        cache.keep(before, HttpResponse::Ok().body("old")).await;
        assert!(
            cache
                .get(&cache.slot(&store, "c", "p", &req).await, &req)
                .is_some()
        );
        assert!(
            cache
                .get(&cache.slot(&store, "c", "q", &req).await, &req)
                .is_none(),
            "per principal"
        );
        cache.invalidate("c");
        assert!(
            cache
                .get(&cache.slot(&store, "c", "p", &req).await, &req)
                .is_none()
        );
        let off = super::ResponseCache::new(
            &CacheConfig {
                max_entries: 0,
                ..CacheConfig::default()
            },
            ["c".to_owned()].iter(),
        );
        let slot = off.slot(&store, "c", "p", &req).await;
        off.keep(slot.clone(), HttpResponse::Ok().body("x")).await;
        assert!(off.get(&slot, &req).is_none(), "0 entries turns it off");
    }

    #[actix_web::test]
    async fn parameters_in_another_order_are_the_same_request() {
        let cache = cache(100, 1 << 20);
        let store = store().await;
        let req = |uri: &str| TestRequest::get().uri(uri).to_http_request();
        let first = req("/scim/v2/c/Users?count=5&filter=userName%20eq%20%22a%22");
        let slot = cache.slot(&store, "c", "p", &first).await;
        cache.keep(slot, HttpResponse::Ok().body("page")).await;
        let reordered = req("/scim/v2/c/Users?filter=userName%20eq%20%22a%22&count=5");
        let slot = cache.slot(&store, "c", "p", &reordered).await;
        assert!(cache.get(&slot, &reordered).is_some());
        let other = req("/scim/v2/c/Users?filter=userName%20eq%20%22a%22&count=6");
        let slot = cache.slot(&store, "c", "p", &other).await;
        assert!(cache.get(&slot, &other).is_none());
    }
}
