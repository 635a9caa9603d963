//! The log of requests a simulator received, for tests to assert on the exact wire shape.

use std::sync::{Arc, Mutex};

/// Headers whose values are credentials: recorded as `***` (keeping an auth scheme word).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "apitoken",
    "provisioningkey",
    "cookie",
    "proxy-authorization",
];

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/api/v0/users?x=1`.
    pub path: String,
    /// Header names lower-cased, in arrival order; secret values masked.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), with secrets masked by the simulator's body masker.
    pub body: String,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Masks a header value if the header carries a credential.
pub fn mask_header(name: &str, value: &str) -> String {
    if !SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return value.to_owned();
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} ***"),
        None => "***".to_owned(),
    }
}

/// A shared, append-only request log.
#[derive(Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl RequestLog {
    pub fn push(&self, request: RecordedRequest) {
        self.lock().push(request);
    }

    /// A copy of every request received so far.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// The most recent request, if any.
    pub fn last(&self) -> Option<RecordedRequest> {
        self.lock().last().cloned()
    }

    /// The requests with this method whose path starts with `prefix`.
    pub fn matching(&self, method: &str, prefix: &str) -> Vec<RecordedRequest> {
        self.lock()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_but_schemes_kept() {
        assert_eq!(mask_header("Authorization", "Basic dG9rZW46"), "Basic ***");
        assert_eq!(mask_header("apiToken", "s3cret"), "***");
        assert_eq!(mask_header("ProvisioningKey", "k"), "***");
        assert_eq!(mask_header("Content-Length", "0"), "0");
    }
}
