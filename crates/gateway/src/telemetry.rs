//! Prometheus metrics: requests by connector, operation and status, and latency histograms,
//! rendered at `/metrics` by an actix route (the exporter's own HTTP server stays off).
//!
//! The `metrics` facade records into one process-wide recorder by design, so it is installed
//! once, here; every server in the process (tests start several) shares it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The recorder's handle, installing it on first use. `None` if another recorder was installed
/// first (then `/metrics` says so instead of failing).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// The `# HELP` line of every series, so that `/metrics` explains itself.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "scim_requests_total",
        "SCIM requests answered, by connector, operation and HTTP status"
    );
    describe_histogram!(
        "scim_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a SCIM request, by connector and operation"
    );
    describe_counter!(
        "scim_rate_limited_total",
        "Requests refused by an inbound quota (429), by connector and scope (client or connector)"
    );
    describe_counter!(
        "scim_deliveries_total",
        "Delivery attempts of queued writes, by connector and outcome (delivered, retry, failed)"
    );
    describe_counter!(
        "scim_store_pruned_total",
        "History rows removed by retention, by what (journal or deliveries)"
    );
    describe_counter!(
        "scim_cache_hits_total",
        "Read answers served from the response cache, by connector"
    );
    describe_counter!(
        "scim_cache_misses_total",
        "Read answers the response cache did not have, by connector"
    );
    describe_gauge!(
        "scim_queue_depth",
        "Queued writes waiting for delivery, by connector"
    );
    describe_gauge!(
        "scim_queue_failed",
        "Queued writes given up on and waiting for an operator, by connector"
    );
    describe_gauge!(
        "scim_queue_oldest_age_seconds",
        Unit::Seconds,
        "Age of the oldest queued write, by connector"
    );
    describe_counter!(
        "scim_deletion_guard_trips_total",
        "Times a connector's deletion guard tripped and began holding deletions and deactivations"
    );
    describe_counter!(
        "scim_deletion_guard_held_total",
        "Deletions and deactivations refused (503) while a connector's deletion guard was tripped"
    );
    describe_counter!(
        "scim_deletion_guard_releases_total",
        "Times an operator allowed held removals or reset a connector's deletion guard"
    );
    describe_counter!(
        "scim_trail_dropped_total",
        "Trail records dropped because the store did not keep up (the writes themselves went on)"
    );
    connector::metadata::describe_metrics();
    connector::telemetry::describe_metrics();
}

/// The request metrics of one connector, operation and status.
struct RequestMetrics {
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

thread_local! {
    /// Handles already registered, by `connector\0operation\0status`, per thread (requests
    /// are answered on a few worker threads). Registering looks the labels up in the
    /// recorder's registry and allocates each of them, per request: about 7% of the
    /// instructions of a cached read.
    static REQUEST_METRICS: RefCell<(String, HashMap<String, RequestMetrics>)> =
        RefCell::new((String::new(), HashMap::new()));
}

/// Records one answered request. `operation` is the method and route pattern
/// (`GET /scim/v2/{connector}/Users/{id}`): bounded, unlike raw paths.
pub fn record_request(connector: &str, operation: &str, status: u16, elapsed: Duration) {
    REQUEST_METRICS.with_borrow_mut(|(key, known)| {
        key.clear();
        let _ = write!(key, "{connector}\0{operation}\0{status}");
        if !known.contains_key(key.as_str()) {
            let labels = [
                ("connector", connector.to_owned()),
                ("operation", operation.to_owned()),
            ];
            let handles = RequestMetrics {
                requests: metrics::counter!(
                    "scim_requests_total",
                    &[
                        ("connector", connector.to_owned()),
                        ("operation", operation.to_owned()),
                        ("status", status.to_string())
                    ]
                ),
                duration: metrics::histogram!("scim_request_duration_seconds", &labels),
            };
            known.insert(key.clone(), handles);
        }
        if let Some(handles) = known.get(key.as_str()) {
            handles.requests.increment(1);
            handles.duration.record(elapsed.as_secs_f64());
        }
    });
}

/// The response cache's hit and miss counters of one connector, registered once.
#[derive(Debug, Clone)]
pub struct CacheCounters {
    hits: metrics::Counter,
    misses: metrics::Counter,
}

impl CacheCounters {
    pub fn new(connector: &str) -> CacheCounters {
        // The handles are bound to the recorder there is when they are made.
        handle();
        let labels = [("connector", connector.to_owned())];
        CacheCounters {
            hits: metrics::counter!("scim_cache_hits_total", &labels),
            misses: metrics::counter!("scim_cache_misses_total", &labels),
        }
    }

    /// Records a response cache lookup.
    pub fn record(&self, hit: bool) {
        if hit {
            self.hits.increment(1);
        } else {
            self.misses.increment(1);
        }
    }
}

/// Records a request refused by an inbound quota.
pub fn record_rate_limited(connector: &str, limited: &crate::limits::Limited) {
    let scope = match limited {
        crate::limits::Limited::Client { .. } => "client",
        crate::limits::Limited::Connector { .. } => "connector",
    };
    metrics::counter!(
        "scim_rate_limited_total",
        &[
            ("connector", connector.to_owned()),
            ("scope", scope.to_owned())
        ]
    )
    .increment(1);
}

/// Records one delivery attempt of a queued write: `delivered`, `retry` or `failed`.
pub fn record_delivery(connector: &str, outcome: &'static str) {
    metrics::counter!(
        "scim_deliveries_total",
        &[
            ("connector", connector.to_owned()),
            ("outcome", outcome.to_owned())
        ]
    )
    .increment(1);
}

/// Counts the history rows a retention run removed (`what`: `journal` or `deliveries`).
pub fn record_pruned(what: &'static str, rows: u64) {
    metrics::counter!("scim_store_pruned_total", "what" => what).increment(rows);
}

/// Sets the queue gauges of every queued connector from the store: entries waiting, entries
/// failed, and the age of the oldest waiting one (0 when none waits).
pub fn record_queues(connectors: &[String], stats: &[store::QueueStats]) {
    let now = time::OffsetDateTime::now_utc();
    for connector in connectors {
        let found = stats.iter().find(|s| &s.connector == connector);
        let labels = [("connector", connector.clone())];
        let (queued, failed, age) = found.map_or((0, 0, 0.0), |s| {
            let age = s
                .oldest_queued
                .map_or(0.0, |oldest| (now - oldest).as_seconds_f64().max(0.0));
            (s.queued, s.failed, age)
        });
        metrics::gauge!("scim_queue_depth", &labels).set(queued as f64);
        metrics::gauge!("scim_queue_failed", &labels).set(failed as f64);
        metrics::gauge!("scim_queue_oldest_age_seconds", &labels).set(age);
    }
}
