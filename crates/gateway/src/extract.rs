//! Request extractors: the authenticated connector a request addresses, its JSON body, its
//! query parameters. Each failure is a SCIM error, never actix's plain-text default.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use scim::{ResourceKind, ResourceSchema, ScimType};
use serde_json::Value;

use crate::auth::{AuthError, Principal};
use crate::error::ApiError;
use crate::state::{AppState, ConnectorRuntime};
use crate::writer::Writer;

/// The id of the request (the client's `X-Request-Id`, or one we made), kept in the request
/// extensions by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A request authenticated for the connector named in its path.
pub struct Scim {
    pub state: web::Data<AppState>,
    pub runtime: Arc<ConnectorRuntime>,
    pub principal: Principal,
    pub request_id: Option<String>,
}

impl Scim {
    /// The schema of `kind` on this connector; a clear 404 when the connector does not offer it.
    pub fn schema(&self, kind: ResourceKind) -> Result<&ResourceSchema, ApiError> {
        self.runtime.offered_schema(kind)
    }

    /// Writes on this connector on behalf of this request.
    pub fn writer(&self) -> Writer {
        Writer::new(
            Arc::clone(&self.state),
            self.runtime.clone(),
            self.request_id.clone(),
        )
    }

    /// `{public_url}/scim/v2/{connector}`.
    pub fn base_url(&self) -> String {
        self.state.base_url(&self.runtime.name)
    }
}

impl FromRequest for Scim {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let name = req
            .match_info()
            .get("connector")
            .unwrap_or_default()
            .to_owned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let source = req.peer_addr().map(|a| a.ip());
        // A write's trail names who made it (the request middleware reads it back); reads
        // have no trail and skip the copy.
        let trailed = (!matches!(*req.method(), Method::GET | Method::HEAD)).then(|| req.clone());
        // An id in the path is looked up as it stands: one holding NUL could never be stored.
        let nul_in_path = req
            .match_info()
            .iter()
            .find(|(_, segment)| segment.contains('\0'))
            .map(|(name, _)| name.to_owned());
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::status(500, "the service is not initialised"))?;
            let authorization = match authorization {
                None => None,
                Some(Ok(value)) => Some(value),
                Some(Err(_)) => {
                    return Err(ApiError::from(AuthError::MalformedBearer));
                }
            };
            let Some(runtime) = state.connectors.get(&name).cloned() else {
                // No credential opens a connector that does not exist; the refusal is the one
                // a known connector gives, so that names cannot be probed.
                let refused = state
                    .unknown_connector
                    .authenticate(authorization.as_deref())
                    .await
                    .err()
                    .unwrap_or(AuthError::UnknownToken);
                return Err(ApiError::from(refused));
            };
            let principal = runtime
                .authenticator
                .authenticate_from(authorization.as_deref(), source)
                .await?;
            if let Some(segment) = nul_in_path {
                return Err(ApiError::new(scim::storable::nul_refused(&format!(
                    "the {segment} in the path"
                ))));
            }
            runtime
                .limits
                .check(&principal.subject)
                .map_err(|limited| {
                    crate::telemetry::record_rate_limited(&runtime.name, &limited);
                    ApiError::from(limited)
                })?;
            if let Some(req) = trailed {
                req.extensions_mut().insert(principal.clone());
            }
            Ok(Scim {
                state,
                runtime,
                principal,
                request_id,
            })
        })
    }
}

/// How much of a request body is read, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// 413 above.
    pub max_bytes: usize,
    /// 408 when the whole body has not arrived by then.
    pub deadline: Duration,
}

/// Reads a JSON body: `application/scim+json` or `application/json` (a missing type is
/// tolerated), within `limits`.
pub async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limits: BodyLimits,
) -> Result<Value, ApiError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/scim+json" && essence != "application/json" {
            return Err(ApiError::status(
                415,
                format!(
                    "the body must be application/scim+json or application/json, not \"{essence}\""
                ),
            ));
        }
    }
    let body = raw_body(req, payload, limits).await?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            ScimType::InvalidSyntax,
            "the request body is empty; a JSON object is expected",
        ));
    }
    if body.len() < PARSE_OFF_WORKER {
        return parse_json(&body);
    }
    // A megabyte of JSON is milliseconds of CPU: off the actix worker, whose other requests
    // would wait for it.
    tokio::task::spawn_blocking(move || parse_json(&body))
        .await
        .map_err(|_| ApiError::status(500, "reading the request body failed"))?
}

/// Bodies at least this large are parsed on a blocking thread.
const PARSE_OFF_WORKER: usize = 64 << 10;

/// A body as JSON, without text no store keeps.
fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    let body = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            ScimType::InvalidSyntax,
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    scim::storable::check_body(&body).map_err(ApiError::new)?;
    Ok(body)
}

/// The raw body bytes, within `limits` (Bulk reads one byte past its own limit, so that its
/// error decides). A declared `Content-Length` above the limit is refused before any byte is
/// read.
pub async fn raw_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: BodyLimits,
) -> Result<web::Bytes, ApiError> {
    let limit = limits.max_bytes;
    let too_large = || {
        ApiError::new(scim::ScimError::payload_too_large(format!(
            "the request body is larger than {limit} bytes, the most this service accepts"
        )))
    };
    let declared =
        header_text(req, header::CONTENT_LENGTH).and_then(|n| n.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + limits.deadline;
    // Room for what was declared, up to 64 KiB: a declaration alone does not buy memory.
    let mut body = web::BytesMut::with_capacity(
        declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit).min(64 << 10)),
    );
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                return Err(ApiError::status(
                    408,
                    format!(
                        "the request body did not arrive within {} s; send it whole, without pauses",
                        limits.deadline.as_secs()
                    ),
                ));
            }
        };
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                ScimType::InvalidSyntax,
                format!("the request body could not be read: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The query parameters as name/value pairs (percent-decoded).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            ApiError::bad_request(
                ScimType::InvalidSyntax,
                format!("the query string cannot be decoded: {e}"),
            )
        })?;
    if let Some((name, _)) = pairs
        .iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(ApiError::new(scim::storable::nul_refused(&format!(
            "the query parameter '{}'",
            scim::storable::escaped(name)
        ))));
    }
    Ok(pairs)
}

/// A header's value as text, if present and readable.
pub fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
