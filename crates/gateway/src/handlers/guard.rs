//! The admin API's side of a connector's deletion guard (crate::guard): what it holds, and an
//! operator letting it through or resetting it.

use actix_web::{HttpResponse, web};
use scim::ScimType;
use serde::Deserialize;

use super::admin::Admin;
use crate::error::ApiError;

fn guard_of<'a>(admin: &'a Admin, name: &str) -> Result<&'a crate::guard::DeletionGuard, ApiError> {
    admin.connector(name)?.deletion_guard.as_ref().ok_or_else(|| {
        ApiError::not_found(format!(
            "connector \"{name}\" has no deletion guard: give it a [connectors.{name}.deletion_guard] table"
        ))
    })
}

/// `GET /admin/connectors/{name}/guard`: the deletion guard's state and what it holds.
pub async fn status(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let guard = guard_of(&admin, &name)?;
    Ok(HttpResponse::Ok().json(guard.status(admin.state().store.as_ref()).await?))
}

/// How many held removals an operator allows, or for how long.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowParams {
    count: Option<u32>,
    minutes: Option<u64>,
}

/// `POST /admin/connectors/{name}/guard/allow?count=N` or `?minutes=M`: the next N removals
/// pass, or every one for M minutes.
pub async fn allow(
    admin: Admin,
    name: web::Path<String>,
    params: web::Query<AllowParams>,
) -> Result<HttpResponse, ApiError> {
    let guard = guard_of(&admin, &name)?;
    if params.count.unwrap_or(0) == 0 && params.minutes.unwrap_or(0) == 0 {
        return Err(ApiError::bad_request(
            ScimType::InvalidValue,
            "say how many removals to allow (?count=N) or for how long (?minutes=M)",
        ));
    }
    let store = admin.state().store.as_ref();
    guard.allow(store, params.count, params.minutes).await?;
    Ok(HttpResponse::Ok().json(guard.status(store).await?))
}

/// `POST /admin/connectors/{name}/guard/reset`: the guard counts afresh, and what it held is
/// forgotten (the identity provider retries it, and it counts anew).
pub async fn reset(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let guard = guard_of(&admin, &name)?;
    let store = admin.state().store.as_ref();
    guard.reset(store).await?;
    Ok(HttpResponse::Ok().json(guard.status(store).await?))
}
