//! The one place where every failure becomes a SCIM error response (RFC 7644 §3.12): status,
//! `scimType`, a `detail` a human can act on, `application/scim+json`, plus `Retry-After` and
//! `WWW-Authenticate` where they apply. Internal failures are logged here and answered without
//! their internals.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use connector::ConnectorError;
use scim::{ScimError, ScimType};
use store::StoreError;

use crate::auth::AuthError;

/// Seconds a client should wait before retrying when the store or a vendor is unavailable.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A failed request: the SCIM error, and the headers that go with it.
#[derive(Debug)]
pub struct ApiError {
    pub error: ScimError,
    pub retry_after: Option<Duration>,
    pub www_authenticate: Option<String>,
    /// The methods an endpoint takes, for a 405.
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(error: ScimError) -> Self {
        ApiError {
            error,
            retry_after: None,
            www_authenticate: None,
            allow: None,
        }
    }

    /// 405: the endpoint takes only the methods `allow` lists.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        ApiError {
            allow: Some(allow),
            ..ApiError::status(
                405,
                format!("this endpoint takes only {allow}; see the Allow header"),
            )
        }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ApiError::new(ScimError::bad_request(scim_type, detail))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(ScimError::not_found(detail))
    }

    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        ApiError::new(ScimError::new(status, None, detail))
    }

    fn unavailable(detail: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ApiError {
            retry_after: Some(retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
            ..ApiError::new(ScimError::unavailable(detail))
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// The core's errors already say their SCIM status and type.
macro_rules! from_core_error {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::new(ScimError::from(e))
            }
        }
    )*};
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError::new(e)
    }
}

from_core_error!(
    scim::patch::PatchError,
    scim::query::QueryError,
    scim::validate::ValidationError,
    scim::filter::FilterError,
    scim::path::PathError,
    scim::bulk::BulkError
);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::SCIM_CONTENT_TYPE),
        ));
        if let Some(after) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, after.as_secs().max(1).to_string()));
        }
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, allow));
        }
        if let Some(challenge) = &self.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.clone()));
        }
        response.body(self.error.to_json().to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => {
                ApiError::not_found(format!("{kind} {id} not found"))
            }
            StoreError::Uniqueness {
                kind,
                attribute,
                value,
            } => ApiError::new(ScimError::uniqueness(format!(
                "{attribute} \"{value}\" is already used by another {kind}; {attribute} must be unique (case-insensitively)"
            ))),
            StoreError::VersionConflict { kind, id, .. } => {
                ApiError::new(ScimError::precondition_failed(format!(
                    "{kind} {id} was changed by another request; read it again and retry"
                )))
            }
            StoreError::NoSuchEntry(seq) => {
                tracing::error!(seq, "journal entry vanished during a write");
                ApiError::new(ScimError::internal(
                    "the write could not be completed; retry it",
                ))
            }
            StoreError::Backend(reason) => {
                tracing::error!(%reason, "store unavailable");
                ApiError::unavailable("the store is unavailable; retry later", None)
            }
        }
    }
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Rejected { reason } => ApiError::bad_request(
                ScimType::InvalidValue,
                format!("the application refused the change: {reason}"),
            ),
            ConnectorError::Immutable { reason } => {
                ApiError::bad_request(ScimType::Mutability, reason)
            }
            ConnectorError::Conflict { reason } => ApiError::new(ScimError::uniqueness(format!(
                "the application already has a conflicting account: {reason}"
            ))),
            ConnectorError::Unavailable {
                reason,
                retry_after,
            } => {
                tracing::warn!(%reason, "vendor unavailable");
                ApiError::unavailable(
                    format!("the application is unavailable: {reason}"),
                    retry_after,
                )
            }
            ConnectorError::Unauthorized { reason } => {
                tracing::error!(%reason, "the vendor refused scim-bridge's credentials: check the connector configuration");
                ApiError::status(
                    502,
                    "the application refused scim-bridge's credentials; an administrator must fix the connector configuration",
                )
            }
            ConnectorError::Unsupported(reason) => {
                ApiError::new(ScimError::not_implemented(reason))
            }
        }
    }
}

impl From<crate::guard::Held> for ApiError {
    fn from(held: crate::guard::Held) -> Self {
        ApiError::unavailable(held.to_string(), Some(held.retry_after))
    }
}

impl From<crate::limits::Limited> for ApiError {
    fn from(limited: crate::limits::Limited) -> Self {
        use crate::limits::Limited;
        let (detail, wait) = match limited {
            Limited::Client { retry_after } => (
                "this client has sent more requests than its quota allows",
                retry_after,
            ),
            Limited::Connector { retry_after } => (
                "this connector is receiving more requests than its quota allows",
                retry_after,
            ),
        };
        // Whole seconds, rounded up: a client that waits as told is let in.
        let wait = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        ApiError {
            retry_after: Some(wait),
            ..ApiError::status(
                429,
                format!("{detail}; retry after {} s", wait.as_secs().max(1)),
            )
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        // Not refusals of a credential, but of its checking: no challenge, come back later.
        let later = match e {
            AuthError::Throttled { retry_after } => {
                Some((429, retry_after.max(Duration::from_secs(1))))
            }
            AuthError::Busy => Some((503, Duration::from_secs(1))),
            _ => None,
        };
        if let Some((status, retry_after)) = later {
            return ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(ScimError::new(status, None, e.to_string()))
            };
        }
        let challenge = e.www_authenticate();
        ApiError {
            www_authenticate: Some(challenge),
            ..ApiError::new(ScimError::unauthorized(e.to_string()))
        }
    }
}
