//! The outbound HTTP every vendor connector shares: one client per vendor endpoint (connection
//! reuse, a connect timeout and a timeout for the whole call), retries with exponential backoff
//! and full jitter for calls that are safe to repeat, `Retry-After` honoured, and vendor answers
//! classified once into [`ConnectorError`]. Our request id travels to the vendor in
//! `X-Request-Id`; the vendor's request id, when it sends one, is logged beside ours. Each
//! call's outcome (not each attempt's) is recorded once in the endpoint's
//! [`crate::status::EndpointStatus`].

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::outbound::{OutboundLimiter, OutboundRate};
use crate::status::{CallRecord, Credentials, CredentialsChange, EndpointStatus, Outcome};
use crate::telemetry::{CallMetrics, CallOutcome};
use crate::trail::{CallObserver, Context, VendorAttempt, masked_path};
use crate::{ConnectorError, Problem};

/// The header our request id travels in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Response headers vendors use for their own request ids.
const VENDOR_REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-ms-request-id",
];

/// At most this much of a vendor's error body goes into a log line or a SCIM `detail`.
const MAX_REASON_BYTES: usize = 1024;

/// How calls to one vendor endpoint behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `https://vendor.example/api` (no trailing slash needed).
    pub base_url: String,
    pub connect_timeout: Duration,
    /// The whole call: connect, send, and read the answer.
    pub timeout: Duration,
    /// Retries after the first attempt, for calls that are safe to repeat.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the SCIM client gets the 503
    /// with that `Retry-After` instead.
    pub max_retry_after: Duration,
    /// How fast calls may go to this endpoint (no limit when `None`).
    pub rate_limit: Option<OutboundRate>,
}

impl EndpointConfig {
    /// Defaults that suit a vendor API answering in well under a second.
    pub fn new(base_url: impl Into<String>) -> Self {
        EndpointConfig {
            base_url: base_url.into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
            rate_limit: None,
        }
    }
}

/// The `[connectors.<name>.<kind>.http]` settings every vendor connector takes: how long to
/// wait and how often to retry. Defaults suit a vendor answering in well under a second.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    pub connect_timeout_secs: u64,
    /// The whole call: connect, send, and read the answer.
    pub timeout_secs: u64,
    /// Retries after the first attempt, for calls that are safe to repeat.
    pub max_retries: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// A vendor's `Retry-After` up to this long is waited for; a longer one is passed on to
    /// the SCIM client as a 503 with that `Retry-After`.
    pub max_retry_after_secs: u64,
    /// How fast calls may go to the vendor (no limit when absent).
    pub rate_limit: Option<OutboundRate>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let d = EndpointConfig::new("");
        HttpSettings {
            connect_timeout_secs: d.connect_timeout.as_secs(),
            timeout_secs: d.timeout.as_secs(),
            max_retries: d.max_retries,
            initial_backoff_ms: d.initial_backoff.as_millis() as u64,
            max_backoff_ms: d.max_backoff.as_millis() as u64,
            max_retry_after_secs: d.max_retry_after.as_secs(),
            rate_limit: None,
        }
    }
}

impl HttpSettings {
    /// The endpoint these settings describe at `base_url`.
    pub fn endpoint(&self, base_url: &str) -> EndpointConfig {
        EndpointConfig {
            base_url: base_url.to_owned(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            timeout: Duration::from_secs(self.timeout_secs),
            max_retries: self.max_retries,
            initial_backoff: Duration::from_millis(self.initial_backoff_ms),
            max_backoff: Duration::from_millis(self.max_backoff_ms),
            max_retry_after: Duration::from_secs(self.max_retry_after_secs),
            rate_limit: self.rate_limit,
        }
    }

    /// What is wrong with these settings, with keys under `http.`.
    pub fn problems(&self) -> Vec<Problem> {
        let problem = |key: &str, problem: String, fix: &str| {
            Problem::new(format!("http.{key}"), problem, fix)
        };
        let mut problems = Vec::new();
        for (key, value) in [
            ("timeout_secs", self.timeout_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
        ] {
            if value == 0 {
                problems.push(problem(
                    key,
                    "must be greater than 0".into(),
                    "remove the key to use the default",
                ));
            }
        }
        if let Some(rate) = self.rate_limit
            && (rate.per_second == 0 || rate.burst == 0)
        {
            problems.push(problem(
                "rate_limit",
                "per_second and burst must both be at least 1".into(),
                "give a rate and a burst of at least 1, or remove the key for no limit",
            ));
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            problems.push(problem(
                "initial_backoff_ms",
                format!("is larger than max_backoff_ms ({})", self.max_backoff_ms),
                "make initial_backoff_ms at most max_backoff_ms",
            ));
        }
        problems
    }
}

/// The problem of a URL setting that is not an absolute http(s) URL able to carry a path;
/// `example` shows what belongs there.
pub fn url_problem(key: &str, url: &str, example: &str) -> Option<Problem> {
    let ok = reqwest::Url::parse(url).is_ok_and(|u| !u.cannot_be_a_base())
        && (url.starts_with("http://") || url.starts_with("https://"));
    (!ok).then(|| {
        Problem::new(
            key,
            format!("\"{url}\" is not an http(s) URL"),
            format!("give it as, e.g., {example}"),
        )
    })
}

/// Whether a call may be sent again after a failure whose effect is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Idempotent (GET, PUT-as-ensure, DELETE that tolerates absence): retried.
    Safe,
    /// Sending it twice could do it twice: never retried.
    Unsafe,
}

/// A vendor's answer with a final HTTP status (after retries, where they applied).
#[derive(Debug, Clone)]
pub struct VendorResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl VendorResponse {
    /// The body as text (lossy), shortened for logs and SCIM `detail`s.
    pub fn reason(&self) -> String {
        let end = self.body.len().min(MAX_REASON_BYTES);
        let text = String::from_utf8_lossy(&self.body[..end]).trim().to_owned();
        if text.is_empty() {
            format!("HTTP {}", self.status.as_u16())
        } else {
            format!("HTTP {}: {text}", self.status.as_u16())
        }
    }

    /// The answer if it is a success, else the [`ConnectorError`] it means (the one place a
    /// vendor status becomes our error; connectors handle vendor-specific statuses before).
    pub fn error_for_status(self) -> Result<VendorResponse, ConnectorError> {
        let status = self.status;
        if status.is_success() {
            return Ok(self);
        }
        let reason = self.reason();
        Err(match status.as_u16() {
            401 | 403 | 407 => ConnectorError::Unauthorized { reason },
            409 => ConnectorError::Conflict { reason },
            408 | 429 | 500..=599 => ConnectorError::Unavailable {
                reason,
                retry_after: retry_after(&self.headers),
            },
            _ => ConnectorError::Rejected { reason },
        })
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| ConnectorError::Unavailable {
            reason: format!(
                "the vendor answered {} with a body that is not the documented JSON: {e}",
                self.status.as_u16()
            ),
            retry_after: None,
        })
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs and read as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn vendor_request_id(headers: &HeaderMap) -> Option<String> {
    VENDOR_REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Statuses worth another attempt for a call that is safe to repeat.
pub fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The client of one vendor endpoint. Cheap to clone (the connection pool, the limiter and
/// the status are shared by every clone).
#[derive(Debug, Clone)]
pub struct VendorClient {
    vendor: &'static str,
    client: reqwest::Client,
    config: EndpointConfig,
    limiter: Option<Arc<OutboundLimiter>>,
    record: Arc<CallRecord>,
    metrics: CallMetrics,
    /// Where each attempt of a call made for a request is reported (the trail).
    observer: Option<Arc<dyn CallObserver>>,
}

/// What the attempts of a call found, beyond its result.
#[derive(Debug, Default)]
struct Trace {
    /// Our own limiter refused an attempt: it never reached the network.
    limited: bool,
    /// `retry_on`'s verdict on the last answer.
    retry_verdict: bool,
    /// Why the last attempt got no answer (`Timeout` or `Unreachable`).
    no_answer: Option<CallOutcome>,
}

/// What decides whether a call's final answer means the vendor is failing (see
/// [`EndpointStatus::reachable`]).
#[derive(Debug, Clone, Copy)]
enum Failing {
    /// Its status: any 5xx.
    ByStatus,
    /// The caller's `retry_on`: a protocol that answers every fault with HTTP 500 (SOAP)
    /// knows better which answers are the vendor failing.
    ByRetryVerdict,
}

impl VendorClient {
    /// A client of the connector `context` names (its metrics and trail) for `vendor` (a
    /// short name for logs and the `endpoint` label, e.g. `"mytimetable"`).
    pub fn new(
        context: &Context,
        vendor: &'static str,
        config: EndpointConfig,
    ) -> Result<VendorClient, ConnectorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("scim-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::Unsupported(format!(
                    "cannot build the HTTP client for {vendor}: {e}"
                ))
            })?;
        Ok(VendorClient {
            vendor,
            client,
            limiter: config
                .rate_limit
                .and_then(OutboundLimiter::new)
                .map(Arc::new),
            config,
            record: Arc::new(CallRecord::default()),
            metrics: CallMetrics::new(&context.name, vendor),
            observer: context.calls.clone(),
        })
    }

    /// How calls to this endpoint have gone, and its limiter's state; no call is made.
    pub fn status(&self) -> EndpointStatus {
        self.record.snapshot(
            self.vendor,
            &self.config.base_url,
            self.limiter.as_deref().map(OutboundLimiter::status),
        )
    }

    /// Records as failed a call the vendor answered without an HTTP error but whose answer
    /// says it failed (a SOAP fault refusing our credentials, a probe's unexpected answer).
    /// Only for calls whose status counted the answer as a success.
    pub fn record_failure(&self, error: &ConnectorError) {
        let refused = matches!(error, ConnectorError::Unauthorized { .. });
        let reason = reason_of(error);
        let change = self
            .record
            .failed_after_answer(reason.clone(), refused.then_some(Credentials::Refused));
        self.credentials_changed(change, &reason);
    }

    /// The log line and the gauge of a change of the credentials state: the first refusal is
    /// an ERROR, since every call to this vendor fails until someone fixes the credentials.
    fn credentials_changed(&self, change: Option<CredentialsChange>, reason: &str) {
        match change {
            Some(CredentialsChange::NowRefused) => {
                tracing::error!(
                    connector = self.metrics.connector(),
                    vendor = self.vendor,
                    reason,
                    "the vendor refuses our credentials: every call to it fails until they are fixed in the connector's settings"
                );
                self.metrics.credentials_refused(true);
            }
            Some(CredentialsChange::NowAccepted) => {
                tracing::info!(
                    connector = self.metrics.connector(),
                    vendor = self.vendor,
                    "the vendor accepts our credentials again"
                );
                self.metrics.credentials_refused(false);
            }
            None => {}
        }
    }

    /// One attempt of a harmless call, to learn whether the vendor answers and takes our
    /// credentials now (no retries: a probe reports what the vendor does at this moment).
    /// `accept` judges the answer; one it refuses although its HTTP status looked healthy is
    /// recorded as a failure, so that the status shows what the probe found.
    pub async fn probe(
        &self,
        call: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        accept: impl FnOnce(VendorResponse) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let answer = self.send(call, Repeat::Unsafe, None, build).await?;
        let failing = answer.status.is_server_error();
        let healthy = judge(self.vendor, call, answer.status, failing)
            .error
            .is_none();
        let accepted = accept(answer);
        if let Err(e) = &accepted
            && healthy
        {
            self.record_failure(e);
        }
        accepted
    }

    /// `{base_url}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// Sends the request `build` makes (once per attempt), retrying transport failures and
    /// retryable statuses when `repeat` allows, and returns the final answer whatever its status.
    /// `call` names the operation in logs (`"ensure user"`).
    pub async fn send(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, ConnectorError> {
        self.send_judged(
            call,
            repeat,
            request_id,
            |answer| retryable(answer.status),
            Failing::ByStatus,
            build,
        )
        .await
    }

    /// [`VendorClient::send`], with the caller deciding which answers deserve another attempt
    /// (a SOAP service answers every fault with HTTP 500, whether retrying can help or not).
    /// `retry_on` sees every answer, the one returned included; the endpoint's status counts
    /// a final answer it would retry as the vendor failing, and no other 5xx.
    pub async fn send_with(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        retry_on: impl Fn(&VendorResponse) -> bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, ConnectorError> {
        self.send_judged(
            call,
            repeat,
            request_id,
            retry_on,
            Failing::ByRetryVerdict,
            build,
        )
        .await
    }

    /// [`VendorClient::send_with`], and the call's outcome recorded once in the status.
    async fn send_judged(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        retry_on: impl Fn(&VendorResponse) -> bool,
        failing: Failing,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, ConnectorError> {
        let _in_flight = self.record.start();
        let started = std::time::Instant::now();
        let mut trace = Trace::default();
        let result = self
            .attempts(call, repeat, request_id, &retry_on, &mut trace, build)
            .await;
        let (outcome, label) = match &result {
            Ok(answer) => {
                let is_failing = match failing {
                    Failing::ByStatus => answer.status.is_server_error(),
                    Failing::ByRetryVerdict => trace.retry_verdict,
                };
                (
                    judge(self.vendor, call, answer.status, is_failing),
                    outcome_of(answer.status, is_failing),
                )
            }
            Err(e) => {
                let label = if trace.limited {
                    CallOutcome::Limited
                } else {
                    trace.no_answer.unwrap_or(CallOutcome::Unreachable)
                };
                let outcome = Outcome {
                    // A call our own limiter refused says nothing about the vendor.
                    reached: (!trace.limited).then_some(false),
                    error: Some(reason_of(e)),
                    credentials: None,
                };
                (outcome, label)
            }
        };
        self.metrics.call(call, label, started.elapsed());
        let reason = outcome.error.clone().unwrap_or_default();
        let change = self.record.finish(outcome);
        self.credentials_changed(change, &reason);
        result
    }

    /// Every attempt of one call, as [`VendorClient::send_with`] describes.
    async fn attempts(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        retry_on: &impl Fn(&VendorResponse) -> bool,
        trace: &mut Trace,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, ConnectorError> {
        let attempts = match repeat {
            Repeat::Safe => 1 + self.config.max_retries,
            Repeat::Unsafe => 1,
        };
        let mut backoff = self.config.initial_backoff;
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.record.retried();
                self.metrics.retried();
            }
            let at = time::OffsetDateTime::now_utc();
            let started = std::time::Instant::now();
            let mut request = build(&self.client);
            if let Some(id) = request_id {
                request = request.header(REQUEST_ID_HEADER, id);
            }
            // Built here, so that the trail knows the method and path even of a refused call.
            let request = request.build();
            // What the trail keeps of the request: worked out only for a call that has one
            // (an observer, and a request to file it under).
            let trailed = match (&self.observer, request_id) {
                (Some(observer), Some(id)) => {
                    let (method, path) = request.as_ref().map_or_else(
                        |_| (String::new(), String::new()),
                        |r| (r.method().to_string(), masked_path(r.url())),
                    );
                    Some((observer, id, method, path))
                }
                _ => None,
            };
            let report =
                |status: Option<u16>, headers: Option<&HeaderMap>, outcome: CallOutcome| {
                    if let Some((observer, id, method, path)) = &trailed {
                        observer.attempt(VendorAttempt {
                            request_id: (*id).to_owned(),
                            connector: self.metrics.connector().to_owned(),
                            endpoint: self.vendor,
                            call: call.to_owned(),
                            method: method.clone(),
                            path: path.clone(),
                            status,
                            duration: started.elapsed(),
                            attempt,
                            vendor_request_id: headers.and_then(vendor_request_id),
                            outcome,
                            at,
                        });
                    }
                };
            if let Some(limiter) = &self.limiter
                && let Err(e) = limiter.acquire(self.vendor, call).await
            {
                trace.limited = true;
                report(None, None, CallOutcome::Limited);
                return Err(e);
            }
            let sent = match request {
                Ok(request) => self.client.execute(request).await,
                Err(e) => Err(e),
            };
            let outcome = match sent {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(body) => Ok(VendorResponse {
                            status,
                            headers,
                            body: body.to_vec(),
                        }),
                        Err(e) => Err(transport(self.vendor, call, &e, trace)),
                    }
                }
                Err(e) => Err(transport(self.vendor, call, &e, trace)),
            };
            match &outcome {
                Ok(answer) => report(
                    Some(answer.status.as_u16()),
                    Some(&answer.headers),
                    outcome_of(answer.status, answer.status.is_server_error()),
                ),
                Err(_) => report(
                    None,
                    None,
                    trace.no_answer.unwrap_or(CallOutcome::Unreachable),
                ),
            }
            let last = attempt == attempts;
            let wait = match &outcome {
                Ok(answer) => {
                    tracing::debug!(
                        vendor = self.vendor,
                        call,
                        attempt,
                        status = answer.status.as_u16(),
                        request_id,
                        vendor_request_id = vendor_request_id(&answer.headers).as_deref(),
                        "vendor call"
                    );
                    if answer.status == StatusCode::TOO_MANY_REQUESTS
                        && let (Some(limiter), Some(after)) =
                            (&self.limiter, retry_after(&answer.headers))
                    {
                        // The vendor's own limit: every call to it holds off, not just this one.
                        limiter.pause(after);
                    }
                    trace.retry_verdict = retry_on(answer);
                    if !trace.retry_verdict || last {
                        return outcome;
                    }
                    match retry_after(&answer.headers) {
                        // Longer than we will hold the SCIM client: let it retry later instead.
                        Some(after) if after > self.config.max_retry_after => return outcome,
                        Some(after) => after.max(jittered(backoff)),
                        None => jittered(backoff),
                    }
                }
                Err(e) => {
                    if last {
                        return outcome;
                    }
                    tracing::debug!(vendor = self.vendor, call, attempt, error = %e, request_id, "vendor call failed; retrying");
                    jittered(backoff)
                }
            };
            tracing::info!(
                vendor = self.vendor,
                call,
                attempt,
                wait_ms = wait.as_millis() as u64,
                request_id,
                "retrying a vendor call"
            );
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
        Err(ConnectorError::Unavailable {
            reason: format!("{call}: no attempt was made"),
            retry_after: None,
        })
    }
}

/// How a call's final answer counts for the endpoint's status; `failing` says whether the
/// answer is the vendor failing (see [`Failing`]). Credentials refused and throttling are
/// failures from a vendor that answered; failing and timing out (408) are failures of one that
/// is not working. Other answers, 4xx refusals of the input included, are the vendor working.
fn judge(vendor: &str, call: &str, status: StatusCode, failing: bool) -> Outcome {
    let failed = |reached: bool, what: &str, credentials: Option<Credentials>| Outcome {
        reached: Some(reached),
        error: Some(format!("{vendor} {call}: HTTP {status}{what}")),
        credentials,
    };
    match status.as_u16() {
        401 | 403 | 407 => failed(true, " (credentials refused)", Some(Credentials::Refused)),
        429 => failed(true, " (the vendor is throttling us)", None),
        408 => failed(false, "", None),
        _ if failing => failed(false, "", None),
        _ => Outcome {
            reached: Some(true),
            error: None,
            credentials: Some(Credentials::Accepted),
        },
    }
}

/// The `outcome` label of a call that got an answer (`failing` as for [`judge`]).
fn outcome_of(status: StatusCode, failing: bool) -> CallOutcome {
    match status.as_u16() {
        401 | 403 | 407 => CallOutcome::Unauthorized,
        429 => CallOutcome::Throttled,
        408 => CallOutcome::Timeout,
        _ if failing => CallOutcome::ServerError,
        200..=399 => CallOutcome::Ok,
        _ => CallOutcome::Rejected,
    }
}

/// The reason inside an error, without the variant's prefix: statuses name the call
/// (`"timeedit register: timed out"`).
fn reason_of(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Rejected { reason }
        | ConnectorError::Immutable { reason }
        | ConnectorError::Conflict { reason }
        | ConnectorError::Unavailable { reason, .. }
        | ConnectorError::Unauthorized { reason }
        | ConnectorError::Unsupported(reason) => reason.clone(),
    }
}

/// A random wait in `[backoff / 2, backoff]`: spreads retries of many callers, never zero.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    half + Duration::from_micros(
        rand::rng().random_range(0..=half.as_micros().min(u64::MAX as u128) as u64),
    )
}

/// A call that got no HTTP answer: the vendor is down, slow or the connection broke.
fn transport(vendor: &str, call: &str, e: &reqwest::Error, trace: &mut Trace) -> ConnectorError {
    let (what, outcome) = if e.is_timeout() {
        ("timed out", CallOutcome::Timeout)
    } else if e.is_connect() {
        ("could not connect", CallOutcome::Unreachable)
    } else {
        ("the connection failed", CallOutcome::Unreachable)
    };
    trace.no_answer = Some(outcome);
    ConnectorError::Unavailable {
        reason: format!("{vendor} {call}: {what}"),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, retry: Option<&str>) -> VendorResponse {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            headers.insert(RETRY_AFTER, r.parse().expect("header"));
        }
        VendorResponse {
            status: StatusCode::from_u16(status).expect("status"),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_are_classified_once() {
        assert!(answer(204, "", None).error_for_status().is_ok());
        assert!(matches!(
            answer(401, "", None).error_for_status(),
            Err(ConnectorError::Unauthorized { .. })
        ));
        assert!(matches!(
            answer(403, "", None).error_for_status(),
            Err(ConnectorError::Unauthorized { .. })
        ));
        assert!(
            matches!(answer(409, "exists", None).error_for_status(), Err(ConnectorError::Conflict { reason }) if reason == "HTTP 409: exists")
        );
        assert_eq!(
            answer(429, "", Some("7")).error_for_status().err(),
            Some(ConnectorError::Unavailable {
                reason: "HTTP 429".into(),
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            answer(503, "", None).error_for_status(),
            Err(ConnectorError::Unavailable { .. })
        ));
        assert!(
            matches!(answer(422, "no such sync", None).error_for_status(), Err(ConnectorError::Rejected { reason }) if reason.contains("no such sync"))
        );
        let long = "x".repeat(5000);
        let Err(ConnectorError::Rejected { reason }) = answer(400, &long, None).error_for_status()
        else {
            panic!("rejected")
        };
        assert!(reason.len() < 1100, "vendor bodies are shortened");
    }

    #[test]
    fn answers_count_for_the_status_by_what_they_say_of_the_vendor() {
        let judged = |status: u16, failing: bool| {
            let outcome = judge(
                "v",
                "c",
                StatusCode::from_u16(status).expect("status"),
                failing,
            );
            (outcome.reached, outcome.error.is_some())
        };
        // Working: successes and refusals of the input.
        assert_eq!(judged(200, false), (Some(true), false));
        assert_eq!(judged(404, false), (Some(true), false));
        assert_eq!(judged(422, false), (Some(true), false));
        // A SOAP Client fault: HTTP 500, and not the vendor failing.
        assert_eq!(judged(500, false), (Some(true), false));
        // Answering, but failing us.
        assert_eq!(judged(401, false), (Some(true), true));
        assert_eq!(judged(403, false), (Some(true), true));
        assert_eq!(judged(429, true), (Some(true), true));
        // Not working.
        assert_eq!(judged(503, true), (Some(false), true));
        assert_eq!(judged(408, false), (Some(false), true));
        let error = judge("mytimetable", "list users", StatusCode::UNAUTHORIZED, false).error;
        assert_eq!(
            error.as_deref(),
            Some("mytimetable list users: HTTP 401 Unauthorized (credentials refused)")
        );
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_millis(200));
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_millis(200),
                "{d:?}"
            );
        }
    }
}
