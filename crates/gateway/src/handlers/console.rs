//! The operator console at `/admin/`: one page, a script and a style sheet, embedded in the
//! binary (no CDN: it works offline and cannot change under us). The files hold no data; the
//! page asks the admin API for everything, with the admin credential the operator gives at
//! login, so the console can do exactly what the admin API allows and no more. Like the admin
//! API it answers 404 when `[admin.auth]` configures no credential.
//!
//! Every value on the page comes from an identity provider or a vendor, so it is attacker
//! controlled: the script sets text only (`textContent`), and the Content-Security-Policy
//! makes the browser enforce it. Only our own script runs (`script-src 'self'`, no inline
//! code), Trusted Types refuse any string that would become HTML (`innerHTML`), and the
//! page talks to its own origin only.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

const PAGE: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");

/// What the page may do: load its own script and style, call its own origin, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
     trusted-types 'none'";

/// 404 when the admin API is off.
fn console_on(state: &AppState) -> Result<(), ApiError> {
    match state.admin {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(
            "the console is off, like the admin API: give it credentials in an [admin.auth] table",
        )),
    }
}

fn asset(
    state: &AppState,
    content_type: &'static str,
    body: &'static str,
) -> Result<HttpResponse, ApiError> {
    console_on(state)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Small files: asking again costs less than serving a stale console after an upgrade.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}

/// `GET /admin/`: the console's page.
pub async fn page(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    asset(&state, "text/html; charset=utf-8", PAGE)
}

/// `GET /admin/console.js`.
pub async fn script(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    asset(&state, "text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /admin/console.css`.
pub async fn style(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    asset(&state, "text/css; charset=utf-8", STYLE)
}

/// `GET /admin`: to `/admin/`, so that the page's relative links resolve under it (also
/// behind a proxy that serves the gateway under a path of its own).
pub async fn to_page(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    console_on(&state)?;
    Ok(HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "admin/"))
        .finish())
}

/// Registers the console's routes in the `/admin` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(to_page))
        .route("/", web::get().to(page))
        .route("/console.js", web::get().to(script))
        .route("/console.css", web::get().to(style));
}
