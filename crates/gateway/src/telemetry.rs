//! Prometheus metrics: requests by connector, operation and status, and latency histograms,
//! rendered at `/metrics` by an actix route (the exporter's own HTTP server stays off).
//!
//! The `metrics` facade records into one process-wide recorder by design, so it is installed
//! once, here; every server in the process (tests start several) shares it.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::HttpResponse;
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
            builder.install_recorder().ok()
        })
        .as_ref()
}

/// Records one answered request. `operation` is the method and route pattern
/// (`GET /scim/v2/{connector}/Users/{id}`): bounded, unlike raw paths.
pub fn record_request(connector: &str, operation: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("connector", connector.to_owned()),
        ("operation", operation.to_owned()),
    ];
    metrics::counter!(
        "scim_requests_total",
        &[
            ("connector", connector.to_owned()),
            ("operation", operation.to_owned()),
            ("status", status.to_string())
        ]
    )
    .increment(1);
    metrics::histogram!("scim_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// Records a response cache lookup.
pub fn record_cache(connector: &str, hit: bool) {
    let name = if hit {
        "scim_cache_hits_total"
    } else {
        "scim_cache_misses_total"
    };
    metrics::counter!(name, &[("connector", connector.to_owned())]).increment(1);
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

/// `GET /metrics`.
pub async fn metrics() -> HttpResponse {
    match handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    }
}
