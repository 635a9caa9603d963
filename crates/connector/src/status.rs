//! What a connector reports about its vendor endpoints (the admin API's connector status):
//! whether the vendor answers, how its calls went lately, and the outbound limiter's state.
//! `CallRecord` keeps the numbers; the shared [`crate::http::VendorClient`] updates it once
//! per call, so every vendor call counts without any connector doing more than asking.
//!
//! Nothing secret goes in: errors are our own one-line reasons (vendor, call, HTTP status or
//! transport failure), never request headers or bodies, and URLs lose user info and query.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use time::OffsetDateTime;

/// The live status of one connector: one entry per vendor endpoint it calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnectorStatus {
    /// The vendor endpoints, in a fixed order; empty for a connector without a vendor.
    pub endpoints: Vec<EndpointStatus>,
}

/// How calls to one vendor endpoint have gone since the connector was built.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// The endpoint, named as `vendor` in log lines (`"mytimetable"`, `"workspace365-environment"`).
    pub name: String,
    /// Where calls go, without user info, query or fragment.
    pub base_url: String,
    /// `None` before any call reached the network; else whether the last one got an HTTP
    /// answer that is not a server failure (5xx, or a SOAP `Server` fault) nor a timeout (408).
    pub reachable: Option<bool>,
    /// When a call last succeeded (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    /// When a call last failed (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_failure: Option<OffsetDateTime>,
    /// Why the last failed call failed, in one line (`"mytimetable list users: HTTP 503 …"`).
    pub last_error: Option<String>,
    /// Failed calls since the last success.
    pub consecutive_failures: u32,
    /// Calls finished (each counted once, whatever its retries).
    pub calls: u64,
    /// Calls that failed: no answer, a server failure, credentials refused, throttled,
    /// refused by our own limiter, or an answer its protocol calls a failure (a SOAP fault
    /// refusing our credentials, a probe's unexpected answer).
    pub failures: u64,
    /// Attempts beyond each call's first.
    pub retries: u64,
    /// Calls under way now (waiting for the limiter included).
    pub in_flight: u64,
    /// Whether the vendor refused our credentials on the last call that said either way;
    /// it stays so until a call is accepted.
    pub credentials_refused: bool,
    /// The outbound rate limit, when one is configured.
    pub limiter: Option<LimiterStatus>,
}

/// The state of an endpoint's outbound rate limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimiterStatus {
    /// Calls per second, sustained.
    pub rate_per_second: u32,
    /// Calls that may go at once after a quiet spell.
    pub burst: u32,
    /// The longest a call waits for its turn before it is refused.
    pub max_wait_ms: u64,
    /// Attempts waiting for their turn now.
    pub waiting: u64,
    /// No call goes before this (RFC 3339): the vendor answered 429 with a `Retry-After`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub paused_until: Option<OffsetDateTime>,
}

/// The running numbers behind an [`EndpointStatus`]. The counters that change while a call
/// is under way are atomics; the rest changes once per finished call, under a small lock.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    in_flight: AtomicU64,
    retries: AtomicU64,
    last: Mutex<Last>,
}

#[derive(Debug, Default)]
struct Last {
    reachable: Option<bool>,
    last_success: Option<OffsetDateTime>,
    last_failure: Option<OffsetDateTime>,
    last_error: Option<String>,
    consecutive_failures: u32,
    calls: u64,
    failures: u64,
    credentials_refused: bool,
}

/// How one call ended, for its endpoint's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Whether the vendor was reachable by this call's last attempt; `None` when no attempt
    /// reached the network (our own limiter refused it), which leaves `reachable` as it was.
    pub reached: Option<bool>,
    /// Why the call failed; `None` for a success.
    pub error: Option<String>,
    /// What the answer said of our credentials: refused, accepted, or nothing (no answer, or
    /// one that could go either way, such as throttling or a server failure).
    pub credentials: Option<Credentials>,
}

/// What a vendor's answer said of our credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    Accepted,
    Refused,
}

/// A change of an endpoint's credentials state, for the one log line it deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialsChange {
    /// The first refusal after acceptance (or since start).
    NowRefused,
    /// Accepted again after a refusal.
    NowAccepted,
}

/// Counts a call as under way for as long as it lives (a dropped call future included).
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CallRecord {
    fn last(&self) -> std::sync::MutexGuard<'_, Last> {
        // Nothing can panic while the lock is held, so a poisoned lock holds whole numbers.
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call starts; it is under way until the guard drops.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(&self.in_flight)
    }

    /// A call makes another attempt.
    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// A call ended this way; says whether that changed the credentials state.
    pub fn finish(&self, outcome: Outcome) -> Option<CredentialsChange> {
        let now = OffsetDateTime::now_utc();
        let mut last = self.last();
        last.calls += 1;
        if outcome.reached.is_some() {
            last.reachable = outcome.reached;
        }
        match outcome.error {
            None => {
                last.last_success = Some(now);
                last.consecutive_failures = 0;
            }
            Some(error) => Self::fail(&mut last, now, error),
        }
        outcome
            .credentials
            .and_then(|c| Self::credentials(&mut last, c))
    }

    /// A call already counted as answered turned out to have failed, by what its answer said
    /// rather than its HTTP status (a SOAP fault refusing our credentials).
    pub fn failed_after_answer(
        &self,
        error: String,
        credentials: Option<Credentials>,
    ) -> Option<CredentialsChange> {
        let now = OffsetDateTime::now_utc();
        let mut last = self.last();
        Self::fail(&mut last, now, error);
        credentials.and_then(|c| Self::credentials(&mut last, c))
    }

    fn credentials(last: &mut Last, now: Credentials) -> Option<CredentialsChange> {
        let refused = now == Credentials::Refused;
        let change = match (last.credentials_refused, refused) {
            (false, true) => Some(CredentialsChange::NowRefused),
            (true, false) => Some(CredentialsChange::NowAccepted),
            _ => None,
        };
        last.credentials_refused = refused;
        change
    }

    fn fail(last: &mut Last, now: OffsetDateTime, error: String) {
        last.failures += 1;
        last.consecutive_failures = last.consecutive_failures.saturating_add(1);
        last.last_failure = Some(now);
        last.last_error = Some(error);
    }

    /// The status as of now.
    pub fn snapshot(
        &self,
        name: &str,
        base_url: &str,
        limiter: Option<LimiterStatus>,
    ) -> EndpointStatus {
        let last = self.last();
        EndpointStatus {
            name: name.to_owned(),
            base_url: public_url(base_url),
            reachable: last.reachable,
            last_success: last.last_success,
            last_failure: last.last_failure,
            last_error: last.last_error.clone(),
            consecutive_failures: last.consecutive_failures,
            calls: last.calls,
            failures: last.failures,
            retries: self.retries.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Acquire),
            credentials_refused: last.credentials_refused,
            limiter,
        }
    }
}

/// `url` without user info, query and fragment: a base URL may carry credentials there.
fn public_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            // Both fail only for URLs that cannot have user info, which then have none.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(not a valid URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: &str) -> Outcome {
        Outcome {
            reached: Some(false),
            error: Some(error.to_owned()),
            credentials: None,
        }
    }

    fn answered(credentials: Credentials) -> Outcome {
        Outcome {
            reached: Some(true),
            error: (credentials == Credentials::Refused).then(|| "v c: HTTP 401".to_owned()),
            credentials: Some(credentials),
        }
    }

    #[test]
    fn successes_reset_the_failure_streak_and_counts_add_up() {
        let record = CallRecord::default();
        let fresh = record.snapshot("v", "https://v.example/api", None);
        assert_eq!(fresh.reachable, None);
        assert_eq!((fresh.calls, fresh.failures), (0, 0));
        record.finish(failed("v c: timed out"));
        record.finish(failed("v c: HTTP 503 Service Unavailable"));
        let down = record.snapshot("v", "https://v.example/api", None);
        assert_eq!(down.reachable, Some(false));
        assert_eq!(down.consecutive_failures, 2);
        assert_eq!(
            down.last_error.as_deref(),
            Some("v c: HTTP 503 Service Unavailable")
        );
        assert!(down.last_success.is_none() && down.last_failure.is_some());
        record.finish(Outcome {
            reached: Some(true),
            error: None,
            credentials: None,
        });
        let up = record.snapshot("v", "https://v.example/api", None);
        assert_eq!(up.reachable, Some(true));
        assert_eq!(up.consecutive_failures, 0);
        assert_eq!((up.calls, up.failures), (3, 2));
        assert!(up.last_success >= up.last_failure);
        // The last error stays for the operator, next to the later success.
        assert!(up.last_error.is_some());
    }

    #[test]
    fn a_call_that_never_left_keeps_reachability_and_a_late_failure_counts() {
        let record = CallRecord::default();
        record.finish(Outcome {
            reached: Some(true),
            error: None,
            credentials: None,
        });
        record.finish(Outcome {
            reached: None,
            error: Some("v c: more calls are waiting".into()),
            credentials: None,
        });
        record.failed_after_answer("v c: Invalid credentials".into(), None);
        let status = record.snapshot("v", "https://v.example", None);
        assert_eq!(status.reachable, Some(true));
        assert_eq!((status.calls, status.failures), (2, 2));
        assert_eq!(status.consecutive_failures, 2);
    }

    #[test]
    fn a_credentials_refusal_is_reported_once_and_holds_until_accepted() {
        let record = CallRecord::default();
        assert!(!record.snapshot("v", "http://v", None).credentials_refused);
        assert_eq!(
            record.finish(answered(Credentials::Refused)),
            Some(CredentialsChange::NowRefused)
        );
        assert_eq!(record.finish(answered(Credentials::Refused)), None);
        // A call that says nothing of them (no answer) leaves them refused.
        assert_eq!(record.finish(failed("v c: timed out")), None);
        assert!(record.snapshot("v", "http://v", None).credentials_refused);
        assert_eq!(
            record.finish(answered(Credentials::Accepted)),
            Some(CredentialsChange::NowAccepted)
        );
        assert!(!record.snapshot("v", "http://v", None).credentials_refused);
        // A SOAP fault read after the answer refuses them too.
        assert_eq!(
            record.failed_after_answer("v c: invalid".into(), Some(Credentials::Refused)),
            Some(CredentialsChange::NowRefused)
        );
    }

    #[test]
    fn in_flight_counts_live_calls_only() {
        let record = CallRecord::default();
        let a = record.start();
        let b = record.start();
        assert_eq!(record.snapshot("v", "http://v", None).in_flight, 2);
        drop(a);
        drop(b);
        assert_eq!(record.snapshot("v", "http://v", None).in_flight, 0);
    }

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            public_url("https://user:hunter2@vendor.example/api/v0?key=s3cret#x"),
            "https://vendor.example/api/v0"
        );
        assert_eq!(
            public_url("http://127.0.0.1:8080/soap/3/inst"),
            "http://127.0.0.1:8080/soap/3/inst"
        );
        assert_eq!(public_url("not a url hunter2"), "(not a valid URL)");
    }

    #[test]
    fn timestamps_serialize_as_rfc3339() {
        let record = CallRecord::default();
        record.finish(failed("v c: timed out"));
        let json = serde_json::to_value(record.snapshot("v", "http://v", None)).expect("json");
        let at = json["lastFailure"].as_str().expect("a string");
        assert!(
            OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
            "{at}"
        );
        assert!(json["lastSuccess"].is_null());
        assert!(json["limiter"].is_null());
    }
}
