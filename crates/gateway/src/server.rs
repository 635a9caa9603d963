//! Running the service on a socket: request ids, one tracing span per request, graceful
//! shutdown (in-flight requests finish, then the store closes).

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use scim::ScimType;
use tracing::Instrument;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::RequestId;
use crate::state::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A client's request id is kept when it is short, visible ASCII; otherwise we make one: a
/// v7 UUID, whose leading milliseconds make the journal's and the trail's request-id indexes
/// grow at their end instead of at a random page each write (the random part comes from the
/// thread's CSPRNG: `uuid`'s own generators ask the kernel for every one).
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(
            || {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                uuid::Builder::from_unix_timestamp_millis(millis, &rand::random())
                    .into_uuid()
                    .to_string()
            },
            str::to_owned,
        )
}

/// The connector a path addresses (`/scim/v2/{connector}/…`), as the span shows it from the
/// start, before routing has run.
fn connector_of(path: &str) -> &str {
    path.strip_prefix("/scim/v2/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// 400 for a URL whose path or query is not UTF-8 once percent-decoded: routing and query
/// parsing would replace the bytes, and an id or a filter value would be looked up changed.
fn not_utf8(req: &ServiceRequest) -> Option<ApiError> {
    let uri = req.uri();
    let place = [("path", Some(uri.path())), ("query string", uri.query())]
        .into_iter()
        .find_map(|(place, raw)| {
            let raw = raw?;
            percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .is_err()
                .then_some(place)
        })?;
    Some(ApiError::bad_request(
        ScimType::InvalidSyntax,
        format!(
            "the URL's {place} is not UTF-8 once percent-decoded; encode text as UTF-8 before percent-encoding it"
        ),
    ))
}

async fn observe(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path(), connector = connector_of(req.path()));
    let started = Instant::now();
    async move {
        let mut response = match not_utf8(&req) {
            Some(refused) => req.error_response(refused),
            None => next.call(req).await?,
        };
        // Routing has run now, so the route pattern is known.
        let request = response.request();
        // Admin calls name a connector as `{name}`, or none: they are labelled as admin.
        let connector = match request.match_info().get("connector") {
            Some(connector) => connector,
            None if request.path().starts_with("/admin") => "(admin)",
            None => "",
        };
        let operation = format!(
            "{} {}",
            request.method(),
            request
                .match_pattern()
                .unwrap_or_else(|| "(no route)".into())
        );
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        // A line per request cost an eighth of a cached read's instructions (formatting)
        // and a write to stderr, so answered requests are logged at debug and refused or
        // failed ones at info (`RUST_LOG=info,gateway::server=debug` shows every request).
        let elapsed_ms = elapsed.as_secs_f64() * 1e3;
        if status >= 400 {
            // The SCIM error says why: its type and detail (never a credential: details
            // name what was wrong, not the secret).
            let refused = response
                .response()
                .error()
                .and_then(|e| e.as_error::<crate::error::ApiError>());
            match refused {
                Some(e) => tracing::info!(
                    status,
                    elapsed_ms,
                    scim_type = e.error.scim_type.map(|t| t.as_str()),
                    detail = %e.error.detail,
                    "request refused"
                ),
                None => tracing::info!(status, elapsed_ms, "request"),
            }
        } else {
            tracing::debug!(status, elapsed_ms, "request");
        }
        crate::telemetry::record_request(connector, &operation, status, elapsed);
        // A write through a connector leaves its trail (reads and refusals before routing
        // do not: no entry could hold them).
        if !connector.is_empty()
            && connector != "(admin)"
            && !matches!(*request.method(), Method::GET | Method::HEAD)
        {
            let principal = request
                .extensions()
                .get::<Principal>()
                .map(|p| p.subject.clone());
            if let Some(trail) = request
                .app_data::<web::Data<AppState>>()
                .and_then(|state| state.trail.as_ref())
            {
                trail.request(crate::trail::InboundRecord {
                    request_id: &id,
                    connector,
                    principal: principal.as_deref(),
                    method: request.method().as_str(),
                    path: request.path(),
                    status,
                    duration: elapsed,
                });
            }
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

/// A running service.
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Delivers the queued writes.
    worker: crate::delivery::Worker,
    /// Counts the users of connectors whose deletion guard is a share of them.
    counting: Option<tokio::task::JoinHandle<()>>,
    state: web::Data<AppState>,
    /// The `/metrics` port's server, when `[metrics] listen` gives it one.
    metrics: Option<(ServerHandle, tokio::task::JoinHandle<std::io::Result<()>>)>,
}

/// Serves `state` on `listener` (bind `127.0.0.1:0` in tests).
pub fn start(
    state: AppState,
    listener: TcpListener,
    workers: Option<usize>,
    shutdown_timeout: Duration,
) -> std::io::Result<RunningServer> {
    start_with_tls(state, listener, workers, shutdown_timeout, None)
}

/// [`start`], serving HTTPS with `tls` when given (see [`crate::tls`]).
pub fn start_with_tls(
    state: AppState,
    listener: TcpListener,
    workers: Option<usize>,
    shutdown_timeout: Duration,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    crate::telemetry::handle();
    let state = web::Data::new(state);
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(observe))
            .configure(crate::configure)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(crate::error::ApiError::not_found(
                    "no such endpoint; SCIM lives under /scim/v2/{connector}",
                ))
            }))
    })
    .disable_signals()
    .shutdown_timeout(shutdown_timeout.as_secs());
    if let Some(workers) = workers {
        server = server.workers(workers.max(1));
    }
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?.run(),
        None => server.listen(listener)?.run(),
    };
    let handle = server.handle();
    let task = tokio::spawn(server);
    let worker = crate::delivery::Worker::spawn(state.clone());
    // Only a guard whose limit is a share of the users needs them counted.
    let counting = state
        .connectors
        .values()
        .any(|r| r.deletion_guard.as_ref().is_some_and(|g| g.counts_users()))
        .then(|| tokio::spawn(crate::guard::keep_counting(state.clone())));
    Ok(RunningServer {
        addr,
        handle,
        task,
        worker,
        counting,
        state,
        metrics: None,
    })
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (tests read the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves `/metrics` (with `/healthz` and `/readyz`, for the probes of a port that only
    /// the monitoring reaches) on `listener`, plain HTTP, one worker: a scrape is small.
    pub fn serve_metrics(&mut self, listener: TcpListener) -> std::io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let state = self.state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route(
                    "/metrics",
                    web::get().to(crate::handlers::health::metrics_here),
                )
                .route("/healthz", web::get().to(crate::handlers::health::healthz))
                .route("/readyz", web::get().to(crate::handlers::health::readyz))
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(crate::error::ApiError::not_found(
                        "this port serves /metrics, /healthz and /readyz only",
                    ))
                }))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        self.metrics = Some((server.handle(), tokio::spawn(server)));
        Ok(addr)
    }

    /// Stops accepting, lets in-flight requests and deliveries finish (giving back the
    /// queue's leases), then closes the store.
    pub async fn stop(self) {
        if let Some((handle, task)) = self.metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        self.handle.stop(true).await;
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the server task ended abnormally");
        }
        self.worker.stop().await;
        if let Some(counting) = &self.counting {
            counting.abort();
        }
        if let Some(trail) = &self.state.trail {
            trail.flush().await;
        }
        self.state.store.close().await;
    }

    /// Ends at once, as if the process died: requests and deliveries in flight are cut off,
    /// leases are not given back. For tests of what the other replicas do then.
    pub fn kill(self) {
        if let Some((_, task)) = self.metrics {
            task.abort();
        }
        self.task.abort();
        if let Some(counting) = &self.counting {
            counting.abort();
        }
        self.worker.kill();
    }

    /// Runs until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        self.stop().await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_is_read_from_the_path() {
        assert_eq!(connector_of("/scim/v2/mtt/Users/1"), "mtt");
        assert_eq!(connector_of("/scim/v2/mtt"), "mtt");
        assert_eq!(connector_of("/healthz"), "");
    }
}
