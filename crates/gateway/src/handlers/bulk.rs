//! `POST /Bulk` (RFC 7644 §3.7): the core's [`BulkRun`] orders the operations and resolves
//! `bulkId` references; each operation runs through the same write path as a single request.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::future::join_all;
use scim::bulk::{BulkMethod, BulkRequest, BulkRun, BulkSuccess, ReadyOperation};
use scim::{ResourceKind, ScimError, ScimType};
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::{BodyLimits, Scim, raw_body};
use crate::render::{json_response, location};

/// `/Users` or `/Groups/{id}` → the kind and the id, if any.
fn target(path: &str) -> Result<(ResourceKind, Option<&str>), ScimError> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let endpoint = parts.next().unwrap_or_default();
    let kind = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| {
            k.endpoint()
                .trim_start_matches('/')
                .eq_ignore_ascii_case(endpoint)
        })
        .ok_or_else(|| {
            ScimError::bad_request(
                ScimType::InvalidPath,
                format!("\"{path}\" is not /Users or /Groups (optionally /{{id}})"),
            )
        })?;
    let id = parts.next().filter(|id| !id.is_empty());
    Ok((kind, id))
}

async fn run(scim: &Scim, op: &ReadyOperation) -> Result<BulkSuccess, ApiError> {
    if op.path.contains('\0') {
        return Err(ApiError::new(scim::storable::nul_refused(
            "the operation's path",
        )));
    }
    if let Some(data) = &op.data {
        scim::storable::check_body(data).map_err(ApiError::new)?;
    }
    let (kind, id) = target(&op.path)?;
    let base = scim.base_url();
    let data = op.data.clone().unwrap_or(Value::Null);
    let precondition = op.version.as_deref();
    let need_id = || {
        id.ok_or_else(|| {
            ApiError::bad_request(
                ScimType::InvalidPath,
                format!("{} needs a resource id in its path", op.method.as_str()),
            )
        })
    };
    let stored = match op.method {
        BulkMethod::Post => {
            if id.is_some() {
                return Err(ApiError::bad_request(
                    ScimType::InvalidPath,
                    "POST goes to /Users or /Groups, without an id",
                ));
            }
            Some(scim.writer().create(kind, &data).await?)
        }
        BulkMethod::Put => Some(
            scim.writer()
                .replace(kind, need_id()?, &data, precondition)
                .await?,
        ),
        BulkMethod::Patch => Some(
            scim.writer()
                .patch(kind, need_id()?, &data, precondition)
                .await?,
        ),
        BulkMethod::Delete => {
            scim.writer().delete(kind, need_id()?, precondition).await?;
            None
        }
    };
    Ok(match stored {
        Some(stored) => BulkSuccess {
            status: if op.method == BulkMethod::Post {
                201
            } else {
                200
            },
            id: Some(stored.id.clone()),
            location: Some(location(&base, kind, &stored.id)),
            version: Some(scim::etag::etag(&stored.version.to_string())),
        },
        None => BulkSuccess {
            status: 204,
            ..BulkSuccess::default()
        },
    })
}

/// `POST /Bulk`: 200 with a BulkResponse (each operation has its own status).
pub async fn bulk(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
) -> Result<HttpResponse, ApiError> {
    let limits = scim.runtime.bulk_limits;
    // Read a little past the limit so an oversized body gets the Bulk-specific 413.
    let read = BodyLimits {
        max_bytes: limits.max_payload_size.saturating_add(1),
        ..scim.state.body_limits
    };
    let body = raw_body(&req, payload, read).await?;
    let request = BulkRequest::parse(&body, &limits)?;
    let mut run_state = BulkRun::new(request);
    loop {
        // Independent creates run together, as many as the connector takes at once, so that
        // it can batch them (TimeEdit) and one slow vendor call does not hold up the others.
        let wave = run_state.next_wave(scim.runtime.connector.concurrency());
        if wave.is_empty() {
            break;
        }
        let outcomes = join_all(wave.iter().map(|op| run(&scim, op))).await;
        for (op, outcome) in wave.iter().zip(outcomes) {
            run_state.complete(op.index, outcome.map_err(|e| e.error));
        }
    }
    Ok(json_response(StatusCode::OK, &run_state.finish()))
}
