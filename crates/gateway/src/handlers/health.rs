//! `/healthz` (the process runs), `/readyz` (the store answers) and `/metrics` (Prometheus).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
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

/// `GET /metrics` on the SCIM port: the series, unless `[metrics] listen` gives them a port
/// of their own.
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if state.metrics_elsewhere {
        return Err(ApiError::not_found(
            "/metrics is served on its own port ([metrics] listen in the configuration)",
        ));
    }
    metrics_here(state, req).await
}

/// `GET /metrics` wherever it is served: `[metrics.auth]`'s credentials first, when it has any.
pub async fn metrics_here(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(authenticator) = &state.metrics {
        let authorization = match req.headers().get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| crate::auth::AuthError::MalformedBearer)?,
            ),
        };
        authenticator.authenticate(authorization).await?;
    }
    let connectors = state.queued_connectors();
    if !connectors.is_empty() {
        match state.store.queue_stats().await {
            Ok(stats) => telemetry::record_queues(&connectors, &stats),
            // The gauges keep their last values; the store's trouble shows in /readyz.
            Err(e) => tracing::warn!(error = %e, "cannot read the queue for /metrics"),
        }
    }
    Ok(match telemetry::handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    })
}
