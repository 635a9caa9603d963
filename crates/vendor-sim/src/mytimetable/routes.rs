//! The HTTP surface of the MyTimetable simulator.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::state::{CreateSyncError, UnlinkMode};
use super::{MyTimetableConfig, MyTimetableSim};

/// Every answer that is not a success. VENDORS.md §1.1 [O]: auth failures have empty bodies,
/// other 4xx a short `text/plain` message that clients only log.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("")]
    Unauthorized,
    #[error("")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(&'static str),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized | Self::Forbidden => response.finish(),
            Self::BadRequest(_) | Self::Unprocessable(_) => response
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

type Reply = Result<HttpResponse, ApiError>;

pub(super) fn configure(cfg: &mut web::ServiceConfig, sim: MyTimetableSim) {
    let config = sim.config.clone();
    cfg.service(
        web::scope("/api/v0")
            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                let config = config.clone();
                async move {
                    match authorize(&req, &config) {
                        Ok(()) => next.call(req).await,
                        Err(e) => Ok(req.error_response(e)),
                    }
                }
            }))
            .app_data(web::Data::new(sim))
            .service(web::resource("/users").route(web::get().to(list_users)))
            .service(
                web::resource("/users/{username}")
                    .route(web::put().to(ensure_user))
                    .route(web::delete().to(delete_user)),
            )
            .service(
                web::resource("/synchronizations")
                    .route(web::get().to(list_synchronizations))
                    .route(web::put().to(create_synchronization)),
            )
            .service(
                web::resource("/synchronizations/{id}")
                    .route(web::delete().to(delete_synchronization)),
            ),
    );
}

/// VENDORS.md §1.4 [O]: a missing or unknown `apiToken` is 401; a token without admin rights
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

/// M2: an idempotent ensure, 204 whether created or already there.
async fn ensure_user(sim: web::Data<MyTimetableSim>, username: web::Path<String>) -> HttpResponse {
    sim.seed_user(&username);
    HttpResponse::NoContent().finish()
}

/// M3: 204 also when the user does not exist.
async fn delete_user(sim: web::Data<MyTimetableSim>, username: web::Path<String>) -> HttpResponse {
    sim.lock().delete_user(&username);
    HttpResponse::NoContent().finish()
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
        // VENDORS.md §1.4 [O]: 422, the vendor's status for a missing referenced entity.
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
    // VENDORS.md §1.4: `unlinkMode` is read from the query string, and also from a form body
    // because the seed does not say where it goes; missing or invalid is 400.
    let mut params = query_params(&req)?;
    params.extend(form_params(&req, &body)?);
    let raw = required(&params, "unlinkMode")?;
    let mode = UnlinkMode::parse(raw)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid unlinkMode: {raw}")))?;
    if sim.lock().delete_sync(id, mode) {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::Unprocessable("synchronization not found"))
    }
}

type Params = Vec<(String, String)>;

fn query_params(req: &HttpRequest) -> Result<Params, ApiError> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::BadRequest("malformed query string".into()))
}

/// The body's parameters when it is `application/x-www-form-urlencoded`, the only input format
/// the API supports (seed 000); any other body carries no parameters.
fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Params, ApiError> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Ok(Vec::new());
    }
    serde_urlencoded::from_bytes(body).map_err(|_| ApiError::BadRequest("malformed form".into()))
}

/// The first value of a parameter, like a servlet's `getParameter`.
fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// VENDORS.md §1.4 [O]: a missing (or blank) required parameter is 400.
fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    param(params, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("missing parameter: {name}")))
}
