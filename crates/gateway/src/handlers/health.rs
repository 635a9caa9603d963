//! `/healthz` (the process runs), `/readyz` (the store answers) and `/metrics` (Prometheus).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;
use crate::telemetry;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(json!({"status": "store unavailable"}))
        }
    }
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let connectors = state.queued_connectors();
    if !connectors.is_empty() {
        match state.store.queue_stats().await {
            Ok(stats) => telemetry::record_queues(&connectors, &stats),
            // The gauges keep their last values; the store's trouble shows in /readyz.
            Err(e) => tracing::warn!(error = %e, "cannot read the queue for /metrics"),
        }
    }
    match telemetry::handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    }
}
