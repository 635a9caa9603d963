//! The SCIM error (RFC 7644 §3.12), and the one place where every error of this crate becomes
//! one: each module has its own `thiserror` type saying what went wrong in its terms; the
//! `From` impls at the bottom decide the HTTP status and `scimType`.

use serde_json::{Value, json};

use crate::bulk::BulkError;
use crate::filter::FilterError;
use crate::patch::{PatchError, PatchErrorKind};
use crate::query::QueryError;
use crate::validate::ValidationError;

use crate::path::PathError;

/// URN of the error message schema.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error response: HTTP status, optional `scimType`, and a `detail` a human can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.map(|t| format!(" {t}")).unwrap_or_default())]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 401; the caller adds `WWW-Authenticate`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 409 `uniqueness`: the value is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412: `If-Match` named a version the resource no longer has.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// 413: the request is larger than the service accepts.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// 500: something the client cannot fix; the detail must not leak internals.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// 501: the operation is not offered here.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }

    /// 503: try again later (the caller adds `Retry-After`).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, None, detail)
    }

    /// The response body (RFC 7644 §3.12): `status` is a string, as the RFC's examples show.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.to_string(),
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.as_str().to_owned());
        }
        body["detail"] = Value::String(self.detail.clone());
        body
    }
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::bad_request(ScimType::InvalidFilter, e.to_string())
    }
}

impl From<PathError> for ScimError {
    fn from(e: PathError) -> Self {
        ScimError::bad_request(ScimType::InvalidPath, e.to_string())
    }
}

impl From<ValidationError> for ScimError {
    fn from(e: ValidationError) -> Self {
        let scim_type = match &e {
            ValidationError::NotAnObject { .. } | ValidationError::UnknownAttribute { .. } => {
                ScimType::InvalidSyntax
            }
            ValidationError::Immutable { .. } | ValidationError::ReadOnly { .. } => {
                ScimType::Mutability
            }
            ValidationError::WrongType { .. }
            | ValidationError::Missing { .. }
            | ValidationError::InvalidDateTime { .. }
            | ValidationError::MultiplePrimary { .. }
            | ValidationError::TooManyValues { .. }
            | ValidationError::TooLarge { .. } => ScimType::InvalidValue,
        };
        ScimError::bad_request(scim_type, e.to_string())
    }
}

impl From<PatchError> for ScimError {
    fn from(e: PatchError) -> Self {
        let scim_type = match e.kind {
            PatchErrorKind::Syntax => ScimType::InvalidSyntax,
            PatchErrorKind::Path => ScimType::InvalidPath,
            PatchErrorKind::NoTarget => ScimType::NoTarget,
            PatchErrorKind::Mutability => ScimType::Mutability,
            PatchErrorKind::Value => ScimType::InvalidValue,
            PatchErrorKind::TooMany => ScimType::TooMany,
        };
        ScimError::bad_request(scim_type, e.detail)
    }
}

impl From<QueryError> for ScimError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Filter(f) => f.into(),
            QueryError::Path(p) => p.into(),
            QueryError::Syntax(_) => ScimError::bad_request(ScimType::InvalidSyntax, e.to_string()),
            QueryError::Value(_) => ScimError::bad_request(ScimType::InvalidValue, e.to_string()),
        }
    }
}

impl From<BulkError> for ScimError {
    fn from(e: BulkError) -> Self {
        match e {
            BulkError::TooLarge { .. } | BulkError::TooManyOperations { .. } => {
                ScimError::payload_too_large(e.to_string())
            }
            BulkError::Syntax(_) => ScimError::bad_request(ScimType::InvalidSyntax, e.to_string()),
            BulkError::Value(_) | BulkError::UnknownBulkId(_) => {
                ScimError::bad_request(ScimType::InvalidValue, e.to_string())
            }
            // RFC 7644 §3.7.1: unresolvable circular references are a 409 `mutability`.
            BulkError::Circular(_) => {
                ScimError::new(409, Some(ScimType::Mutability), e.to_string())
            }
            BulkError::DependencyFailed(_) => ScimError::new(409, None, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_follows_rfc_7644_3_12() {
        let e = ScimError::bad_request(ScimType::Mutability, "Attribute 'id' is readOnly");
        assert_eq!(
            e.to_json(),
            json!({
                "schemas": [ERROR_URN],
                "status": "400",
                "scimType": "mutability",
                "detail": "Attribute 'id' is readOnly"
            })
        );
        let nf = ScimError::not_found("Resource 2819c223 not found").to_json();
        assert_eq!(nf["status"], "404");
        assert!(nf.get("scimType").is_none());
    }
}
