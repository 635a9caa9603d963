//! The vendor calls a write caused, one record per attempt, for the operator's trail of that
//! write (docs/architecture.md "The trail"). The shared [`crate::http::VendorClient`] reports
//! every attempt of a call that carries a request id to the connector's [`CallObserver`]; the
//! gateway stores them beside the journal entry with that request id.
//!
//! A record holds no body and no header: the method, the path with every query value masked,
//! the status, how long it took, the attempt number, the vendor's own request id and how the
//! attempt ended. Passwords and vendor credentials travel in bodies and headers, so none can
//! reach a record.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::telemetry::CallOutcome;

/// One attempt of a vendor call made for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorAttempt {
    /// The request (or queued write) the call was made for.
    pub request_id: String,
    /// The connector's name in the configuration.
    pub connector: String,
    /// The vendor API (`"mytimetable"`, `"workspace365-environment"`).
    pub endpoint: &'static str,
    /// The connector's name of the operation (`"ensure user"`).
    pub call: String,
    pub method: String,
    /// The URL's path, with each query value as `***` (`/api/v0/users/alice?unlinkMode=***`).
    pub path: String,
    /// The HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    pub duration: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The vendor's request id, when its answer names one.
    pub vendor_request_id: Option<String>,
    pub outcome: CallOutcome,
    /// When the attempt started.
    pub at: OffsetDateTime,
}

/// Where a connector's vendor call attempts are reported. Called on the request path: an
/// implementation must not block (the gateway's queues the record and returns).
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    fn attempt(&self, attempt: VendorAttempt);
}

/// What a connector is built with besides its settings: its name in the configuration (which
/// labels its metrics and trail records) and where its vendor calls are reported.
#[derive(Debug, Clone)]
pub struct Context {
    pub name: String,
    pub calls: Option<Arc<dyn CallObserver>>,
}

impl Context {
    /// A connector `name` whose calls are reported nowhere (tests, `check-config`, previews).
    pub fn named(name: &str) -> Context {
        Context {
            name: name.to_owned(),
            calls: None,
        }
    }
}

/// `url`'s path and query, each query value replaced by `***`: a query may carry a key or a
/// personal token, and the trail keeps none.
pub fn masked_path(url: &reqwest::Url) -> String {
    let mut path = url.path().to_owned();
    let mut pairs = url.query_pairs().peekable();
    if pairs.peek().is_some() {
        let masked: Vec<String> = pairs.map(|(key, _)| format!("{key}=***")).collect();
        path.push('?');
        path.push_str(&masked.join("&"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_masked_and_the_path_kept() {
        let url = reqwest::Url::parse(
            "https://u:p@vendor.example/api/v0/users/alice%40uni.edu?key=s3cret&unlinkMode=DELETE_ALL",
        )
        .expect("url");
        assert_eq!(
            masked_path(&url),
            "/api/v0/users/alice%40uni.edu?key=***&unlinkMode=***"
        );
        let plain = reqwest::Url::parse("http://127.0.0.1:8081/soap/3/x").expect("url");
        assert_eq!(masked_path(&plain), "/soap/3/x");
    }
}
