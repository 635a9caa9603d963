//! The HTTP surface of the Workspace 365 Provisioning simulator.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::Workspace365Sim;
use super::body::{UserBody, ValidationResult};
use super::state::UserError;

/// Every answer that is not a 200 (docs/connectors/workspace365.md "Vendor calls").
#[derive(Debug, thiserror::Error)]
enum ApiError {
    /// One of the three documented 403 reasons (or the strict X-Requested-With switch).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("The resource is not found")]
    NotFound,
    #[error("The header \"Content-Length: 0\" is missing")]
    LengthRequired,
    #[error("validation failed")]
    Invalid(Vec<ValidationResult>),
    /// docs/connectors/workspace365.md "The vendor API": a body that is not a User object is a 500, not a 400.
    #[error("An error has occurred.")]
    IncorrectDataObject,
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::NotFound => Self::NotFound,
            UserError::Invalid(results) => Self::Invalid(results),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::IncorrectDataObject => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            // docs/connectors/workspace365.md "Quirks" [O]: the serialized .NET ValidationResult list.
            Self::Invalid(results) => response.json(results),
            Self::NotFound => response.finish(),
            Self::LengthRequired => response
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
            // The ASP.NET Web API error shape.
            Self::Forbidden(_) | Self::IncorrectDataObject => {
                response.json(json!({ "Message": self.to_string() }))
            }
        }
    }
}

type Reply = Result<HttpResponse, ApiError>;

pub(super) fn configure(cfg: &mut web::ServiceConfig, sim: Workspace365Sim) {
    let prefix = sim.config.path_prefix.trim_end_matches('/').to_owned();
    let strict = sim.config.strict_trailing_slash;
    // Every documented path ends with '/'; the slash is optional unless strict (docs/connectors/workspace365.md "Quirks").
    let at = |path: &str| -> Vec<String> {
        let slashed = format!("{prefix}{path}");
        if strict {
            vec![slashed]
        } else {
            vec![slashed.clone(), slashed.trim_end_matches('/').to_owned()]
        }
    };
    cfg.app_data(web::Data::new(sim))
        // Before `/{env}/User/{email}/`, which would otherwise take `Validate` as an address.
        .service(web::resource(at("/{env}/User/Validate/")).route(web::post().to(validate_create)))
        .service(web::resource(at("/{env}/User/")).route(web::post().to(create)))
        .service(
            web::resource(at("/{env}/User/{email}/Validate/"))
                .route(web::put().to(validate_update)),
        )
        .service(web::resource(at("/{env}/User/{email}/Activate/")).route(web::put().to(activate)))
        .service(
            web::resource(at("/{env}/User/{email}/Deactivate/")).route(web::put().to(deactivate)),
        )
        .service(
            web::resource(at("/{env}/User/{email}/"))
                .route(web::put().to(update))
                .route(web::delete().to(delete)),
        );
}

/// The 403 reasons of seed 002, checked before anything else the application does.
fn admit(sim: &Workspace365Sim, req: &HttpRequest) -> Result<(), ApiError> {
    let config = &sim.config;
    if !config.api_enabled {
        return Err(ApiError::Forbidden(
            "The Provisioning API is not enabled in the configuration.",
        ));
    }
    let Some(key) = config.provisioning_key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(ApiError::Forbidden(
            "The Provisioning Key in the configuration is not defined or empty.",
        ));
    };
    if req.headers().get("ProvisioningKey").map(|v| v.as_bytes()) != Some(key.as_bytes()) {
        return Err(ApiError::Forbidden(
            "The Provisioning Key in the header does not match the configured value",
        ));
    }
    if config.require_x_requested_with
        && req.headers().get("X-Requested-With").map(|v| v.as_bytes()) != Some(b"XMLHttpRequest")
    {
        return Err(ApiError::Forbidden(
            "X-Requested-With: XMLHttpRequest is required",
        ));
    }
    Ok(())
}

/// Admits the request and checks that the environment exists (404 on every route otherwise).
fn admit_env(sim: &Workspace365Sim, req: &HttpRequest, env: &str) -> Result<(), ApiError> {
    admit(sim, req)?;
    if sim.lock().has_environment(env) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

fn parse(body: &[u8]) -> Result<UserBody, ApiError> {
    UserBody::parse(body).map_err(|_| ApiError::IncorrectDataObject)
}

/// W1: 200 with the new user's integer id as a bare JSON number.
async fn create(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    env: web::Path<String>,
    body: Bytes,
) -> Reply {
    admit_env(&sim, &req, &env)?;
    let user = parse(&body)?;
    let id = sim.lock().create(&env, &user)?;
    Ok(HttpResponse::Ok().json(id))
}

/// W2: 200 with an empty body (docs/connectors/workspace365.md "Vendor calls": the seed's "id of the created User" is a
/// copy-paste; nothing is created).
async fn validate_create(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    env: web::Path<String>,
    body: Bytes,
) -> Reply {
    admit_env(&sim, &req, &env)?;
    let user = parse(&body)?;
    sim.lock().validate_create(&env, &user)?;
    Ok(HttpResponse::Ok().finish())
}

/// W3: the path names the existing user; the body's EmailAddress may rename it.
async fn update(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let (env, email) = path.into_inner();
    admit_env(&sim, &req, &env)?;
    let user = parse(&body)?;
    sim.lock().update(&env, &email, &user)?;
    Ok(HttpResponse::Ok().finish())
}

/// W4: W3's checks without the change.
async fn validate_update(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let (env, email) = path.into_inner();
    admit_env(&sim, &req, &env)?;
    let user = parse(&body)?;
    sim.lock().validate_update(&env, &email, &user)?;
    Ok(HttpResponse::Ok().finish())
}

/// W5.
async fn activate(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Reply {
    set_active(&sim, &req, path.into_inner(), true)
}

/// W6.
async fn deactivate(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Reply {
    set_active(&sim, &req, path.into_inner(), false)
}

fn set_active(
    sim: &Workspace365Sim,
    req: &HttpRequest,
    (env, email): (String, String),
    active: bool,
) -> Reply {
    // docs/connectors/workspace365.md "Quirks": 411 unless the request says `Content-Length: 0` (absent, chunked or
    // non-zero all fail). The web server refuses it before the application sees the key.
    let zero_length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    if !zero_length {
        return Err(ApiError::LengthRequired);
    }
    admit_env(sim, req, &env)?;
    sim.lock().set_active(&env, &email, active)?;
    Ok(HttpResponse::Ok().finish())
}

/// W7: 404 for an unknown user (unlike MyTimetable's 204).
async fn delete(
    sim: web::Data<Workspace365Sim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Reply {
    let (env, email) = path.into_inner();
    admit_env(&sim, &req, &env)?;
    sim.lock().delete(&env, &email)?;
    Ok(HttpResponse::Ok().finish())
}
