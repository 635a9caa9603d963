//! Request parameters: the API "only supports JSON output and form-encoded input" (seed 000).

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_TYPE;

use super::routes::ApiError;

/// Parameters in arrival order; names may repeat.
pub(super) type Params = Vec<(String, String)>;

pub(super) fn query_params(req: &HttpRequest) -> Result<Params, ApiError> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::BadRequest("malformed query string".into()))
}

pub(super) fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The body's parameters when it is `application/x-www-form-urlencoded`; any other body
/// carries no parameters.
pub(super) fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Params, ApiError> {
    if !is_form(req) {
        return Ok(Vec::new());
    }
    serde_urlencoded::from_bytes(body).map_err(|_| ApiError::BadRequest("malformed form".into()))
}

/// The first value of a parameter, like a servlet's `getParameter`.
pub(super) fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of a repeatable parameter.
pub(super) fn all<'a>(params: &'a Params, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    params
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// docs/connectors/mytimetable.md "Quirks" [O]: a missing (or blank) required parameter is 400.
pub(super) fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    param(params, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("missing parameter: {name}")))
}
