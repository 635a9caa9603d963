//! The vendor-call series of the gateway's `/metrics`, recorded by the shared
//! [`crate::http::VendorClient`] once per call (not per attempt), so that every connector is
//! measured the same way without doing anything:
//!
//! * `vendor_calls_total{connector, endpoint, call, outcome}`: calls by how they ended;
//! * `vendor_call_duration_seconds{connector, endpoint, call}`: the whole call, retries and
//!   waits for the outbound limiter included (what the SCIM client waited for);
//! * `vendor_call_retries_total{connector, endpoint}`: attempts beyond each call's first;
//! * `vendor_credentials_refused{connector, endpoint}`: 1 while the vendor refuses our
//!   credentials (from the first refusal until a call is accepted), else 0. An alert on it
//!   fires for sync and queued connectors alike.
//!
//! `connector` is the configuration's name, `endpoint` the vendor API (one connector may call
//! two), `call` the connector's fixed name of the operation (`"create user"`): every label is
//! bounded, none carries an id or a URL.

use std::time::Duration;

/// How a vendor call ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An answer the connector can use (2xx, or a 404 a delete accepts).
    Ok,
    /// The vendor refused the input (4xx, or a SOAP `Client` fault).
    Rejected,
    /// Our credentials were refused (401, 403, 407, or a SOAP fault saying so).
    Unauthorized,
    /// The vendor is throttling us (429).
    Throttled,
    /// The vendor failed (5xx, or a SOAP `Server` fault).
    ServerError,
    /// No answer in time (a transport timeout, or 408).
    Timeout,
    /// No answer at all: the connection could not be made or broke.
    Unreachable,
    /// Our own outbound limiter refused the call before it left.
    Limited,
}

impl CallOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Unauthorized => "unauthorized",
            CallOutcome::Throttled => "throttled",
            CallOutcome::ServerError => "server_error",
            CallOutcome::Timeout => "timeout",
            CallOutcome::Unreachable => "unreachable",
            CallOutcome::Limited => "limited",
        }
    }
}

/// The series of one connector's calls to one vendor endpoint.
#[derive(Debug, Clone)]
pub(crate) struct CallMetrics {
    connector: String,
    endpoint: &'static str,
}

impl CallMetrics {
    pub fn new(connector: &str, endpoint: &'static str) -> Self {
        let metrics = CallMetrics {
            connector: connector.to_owned(),
            endpoint,
        };
        // Present from the start, so that an alert on it has a series before any refusal.
        metrics.credentials_refused(false);
        metrics
    }

    /// The connector's name, for log lines.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// One finished call.
    pub fn call(&self, call: &str, outcome: CallOutcome, elapsed: Duration) {
        let labels = [
            ("connector", self.connector.clone()),
            ("endpoint", self.endpoint.to_owned()),
            ("call", call.to_owned()),
        ];
        metrics::histogram!("vendor_call_duration_seconds", &labels).record(elapsed.as_secs_f64());
        let [connector, endpoint, call] = labels;
        metrics::counter!(
            "vendor_calls_total",
            &[
                connector,
                endpoint,
                call,
                ("outcome", outcome.as_str().to_owned())
            ]
        )
        .increment(1);
    }

    /// One attempt beyond a call's first.
    pub fn retried(&self) {
        metrics::counter!(
            "vendor_call_retries_total",
            "connector" => self.connector.clone(),
            "endpoint" => self.endpoint
        )
        .increment(1);
    }

    /// Whether the vendor refuses our credentials now.
    pub fn credentials_refused(&self, refused: bool) {
        metrics::gauge!(
            "vendor_credentials_refused",
            "connector" => self.connector.clone(),
            "endpoint" => self.endpoint
        )
        .set(if refused { 1.0 } else { 0.0 });
    }
}

/// The `# HELP` lines of the vendor-call series (the gateway's `/metrics`).
pub fn describe_metrics() {
    metrics::describe_counter!(
        "vendor_calls_total",
        "Calls to vendor APIs, by connector, endpoint, call and outcome (ok, rejected, unauthorized, throttled, server_error, timeout, unreachable, limited)"
    );
    metrics::describe_histogram!(
        "vendor_call_duration_seconds",
        metrics::Unit::Seconds,
        "Time of a vendor call, retries and outbound-limit waits included, by connector, endpoint and call"
    );
    metrics::describe_counter!(
        "vendor_call_retries_total",
        "Vendor call attempts beyond each call's first, by connector and endpoint"
    );
    metrics::describe_gauge!(
        "vendor_credentials_refused",
        "1 while the vendor refuses the connector's credentials (from the first refusal until a call is accepted), else 0"
    );
}
