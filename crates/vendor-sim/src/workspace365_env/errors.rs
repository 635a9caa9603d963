//! The environment API's error answers: the `ApiErrorResponse` body (docs/connectors/workspace365-adsync.md "The vendor API") and the
//! mapping of every failure to its documented status.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use super::auth::{AuthFailure, Scheme};

/// Content type of every JSON answer, as in the seed's example responses.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// One human-readable message inside an [`ApiErrorResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub message: String,
}

/// The 400 body: `{"globalError": {"message"} | null, "fieldErrors": {"<Field>": {"message"}}}`.
///
/// Field names are echoed as the client spelled them (binding is case-insensitive, docs/connectors/workspace365-adsync.md "The vendor API").
/// `fieldErrors` is `{}`, never null, when only a global error applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorResponse {
    pub global_error: Option<ErrorMessage>,
    pub field_errors: BTreeMap<String, ErrorMessage>,
}

impl ApiErrorResponse {
    /// A validation error not tied to one field.
    pub fn global(message: impl Into<String>) -> Self {
        Self {
            global_error: Some(ErrorMessage {
                message: message.into(),
            }),
            field_errors: BTreeMap::new(),
        }
    }

    /// A response with a single field error.
    pub fn field(name: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add_field(name, message);
        errors
    }

    /// Adds a field error; the first message for a field wins, as ModelState shows the first.
    pub fn add_field(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.field_errors
            .entry(name.into())
            .or_insert_with(|| ErrorMessage {
                message: message.into(),
            });
    }

    /// True when neither a global nor a field error was recorded.
    pub fn is_empty(&self) -> bool {
        self.global_error.is_none() && self.field_errors.is_empty()
    }
}

/// Every way a request to this simulator can fail, each with its documented status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// 401/403 with an empty body (docs/connectors/workspace365-adsync.md "The vendor API": the seed documents no body for these).
    #[error("authentication failed: {0:?}")]
    Auth(AuthFailure, Scheme),
    /// 400 `ApiErrorResponse`.
    #[error("validation failed")]
    Validation(ApiErrorResponse),
    /// 404 with an `ApiErrorResponse` (user apps: "404 Validation issue", docs/connectors/workspace365.md "The environment API").
    #[error("not found (validation issue)")]
    NotFoundWithBody(ApiErrorResponse),
    /// 404 with an empty body (integration credentials: "The user was not found", docs/connectors/workspace365.md "The environment API").
    #[error("not found")]
    NotFound,
    /// 500: "could be caused by passing an incorrect data object", i.e. malformed JSON (docs/connectors/workspace365-adsync.md "The vendor API").
    #[error("incorrect data object: {0}")]
    IncorrectDataObject(String),
}

impl ApiError {
    pub(crate) fn field(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(ApiErrorResponse::field(name, message))
    }

    pub(crate) fn global(message: impl Into<String>) -> Self {
        Self::Validation(ApiErrorResponse::global(message))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Auth(failure, _) => failure.status(),
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::NotFoundWithBody(_) | Self::NotFound => StatusCode::NOT_FOUND,
            Self::IncorrectDataObject(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::Auth(failure, scheme) => {
                if failure.status() == StatusCode::UNAUTHORIZED {
                    res.insert_header((WWW_AUTHENTICATE, scheme.challenge()));
                }
                res.finish()
            }
            Self::Validation(body) | Self::NotFoundWithBody(body) => res
                .insert_header((CONTENT_TYPE, JSON_UTF8))
                .body(serde_json::to_string(body).unwrap_or_default()),
            Self::NotFound => res.finish(),
            Self::IncorrectDataObject(_) => res
                .insert_header((CONTENT_TYPE, JSON_UTF8))
                // ASP.NET Web API's default unhandled-error body.
                .body(r#"{"Message":"An error has occurred."}"#),
        }
    }
}
