//! The HTTP surface of the MyTimetable simulator.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::params::{form_params, param, query_params, required};
use super::state::{CreateSyncError, UnlinkMode};
use super::v2019;
use super::{ApiProfile, MyTimetableConfig, MyTimetableSim};

/// Every answer that is not a success. docs/connectors/mytimetable.md "The vendor API" [O]: auth failures have empty bodies,
/// other 4xx a short `text/plain` message that clients only log.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    #[error("missing or unknown apiToken")]
    Unauthorized,
    #[error("apiToken without admin privilege")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    /// "2019.16+" profile only (docs/connectors/mytimetable.md "Later versions of the API").
    #[error("{0}")]
    NotFound(&'static str),
    /// "2019.16+" profile only: `POST /users` for an existing user.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Unprocessable(&'static str),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized | Self::Forbidden => response.finish(),
            _ => response
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

pub(super) type Reply = Result<HttpResponse, ApiError>;

pub(super) fn configure(cfg: &mut web::ServiceConfig, sim: MyTimetableSim) {
    let config = sim.config.clone();
    let later = sim.config.profile == ApiProfile::V2019_16;
    let mut users = web::resource("/users").route(web::get().to(list_users));
    let mut user = web::resource("/users/{username}")
        .route(web::put().to(put_user))
        .route(web::delete().to(delete_user));
    if later {
        users = users.route(web::post().to(v2019::create_user));
        user = user.route(web::get().to(v2019::get_user));
    }
    let mut scope = web::scope("/api/v0")
        .app_data(web::Data::new(sim))
        .service(users)
        .service(user)
        .service(
            web::resource("/synchronizations")
                .route(web::get().to(list_synchronizations))
                .route(web::put().to(create_synchronization)),
        )
        .service(
            web::resource("/synchronizations/{id}").route(web::delete().to(delete_synchronization)),
        );
    if later {
        scope = scope
            .service(
                web::resource("/users/{username}/synchronizations")
                    .route(web::get().to(v2019::list_user_synchronizations))
                    .route(web::delete().to(v2019::delete_user_synchronizations)),
            )
            .service(
                web::resource("/users/{username}/synchronizations/{type}")
                    .route(web::delete().to(v2019::delete_user_synchronizations_of_type)),
            );
    }
    cfg.service(
        scope.wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
            let config = config.clone();
            async move {
                match authorize(&req, &config) {
                    Ok(()) => next.call(req).await,
                    Err(e) => Ok(req.error_response(e)),
                }
            }
        })),
    );
}

/// docs/connectors/mytimetable.md "Quirks" [O]: a missing or unknown `apiToken` is 401; a token without admin rights
/// is 403 (the provisioning API is admin-only).
fn authorize(req: &ServiceRequest, config: &MyTimetableConfig) -> Result<(), ApiError> {
    let presented = req
        .headers()
        .get("apiToken")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let token = config
        .tokens
        .iter()
        .find(|t| t.token == presented)
        .ok_or(ApiError::Unauthorized)?;
    if token.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn list_users(sim: web::Data<MyTimetableSim>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "users": sim.users() }))
}

/// M2: an idempotent ensure, 204 whether created or already there. The "2019.16+" profile
/// treats a form body as a profile upsert (201/200).
async fn put_user(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    username: web::Path<String>,
    body: Bytes,
) -> Reply {
    if sim.config.profile == ApiProfile::V2019_16 && !body.is_empty() {
        return v2019::upsert_user(&sim, &req, &username, &body);
    }
    sim.lock().ensure_user(&username);
    Ok(HttpResponse::NoContent().finish())
}

/// M3: 204 also when the user does not exist (v8); the "2019.16+" profile says 404.
async fn delete_user(sim: web::Data<MyTimetableSim>, username: web::Path<String>) -> Reply {
    let existed = sim.lock().delete_user(&username);
    if !existed && sim.config.profile == ApiProfile::V2019_16 {
        return Err(ApiError::NotFound("user not found"));
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn list_synchronizations(sim: web::Data<MyTimetableSim>) -> HttpResponse {
    let synchronizations: Vec<_> = sim
        .synchronizations()
        .into_iter()
        .map(|s| json!({ "id": s.id, "username": s.username, "type": s.sync_type }))
        .collect();
    HttpResponse::Ok().json(json!({ "synchronizations": synchronizations }))
}

/// M5: the parameters come from the form-encoded body only, as documented; 204 without an id.
async fn create_synchronization(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    body: Bytes,
) -> Reply {
    let form = form_params(&req, &body)?;
    let username = required(&form, "username")?;
    let sync_type = required(&form, "type")?;
    if let Some(allowed) = &sim.config.sync_types
        && !allowed.iter().any(|t| t.eq_ignore_ascii_case(sync_type))
    {
        return Err(ApiError::BadRequest(format!(
            "unsupported synchronization type: {sync_type}"
        )));
    }
    let smtp_address = param(&form, "provisioning_smtpAddress").filter(|s| !s.is_empty());
    match sim.lock().create_sync(username, sync_type, smtp_address) {
        Ok(_) => Ok(HttpResponse::NoContent().finish()),
        // docs/connectors/mytimetable.md "Quirks" [O]: 422, the vendor's status for a missing referenced entity.
        Err(CreateSyncError::UnknownUser) => Err(ApiError::Unprocessable("user not found")),
    }
}

/// M6: 204, or 422 for an unknown id (not 404; seed 000).
async fn delete_synchronization(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Bytes,
) -> Reply {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid synchronization id: {id}")))?;
    let mode = unlink_mode(&req, &body)?;
    if sim.lock().delete_sync(id, mode) {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::Unprocessable("synchronization not found"))
    }
}

/// docs/connectors/mytimetable.md "Quirks": `unlinkMode` is read from the query string, and also from a form body
/// because the seed does not say where it goes; missing or invalid is 400.
pub(super) fn unlink_mode(req: &HttpRequest, body: &[u8]) -> Result<UnlinkMode, ApiError> {
    let mut params = query_params(req)?;
    params.extend(form_params(req, body)?);
    let raw = required(&params, "unlinkMode")?;
    UnlinkMode::parse(raw).ok_or_else(|| ApiError::BadRequest(format!("invalid unlinkMode: {raw}")))
}
