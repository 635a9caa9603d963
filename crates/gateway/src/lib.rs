//! The scim-bridge HTTP service: SCIM 2.0 per connector under `/scim/v2/{connector}`, over the
//! store and the connectors (docs/architecture.md "Data flow"). [`configure`] registers every route; [`server`]
//! runs them on a socket.

pub mod auth;
pub mod cache;
pub mod config;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod import;
pub mod limits;
pub mod queue;
pub mod reconcile;
pub mod recovery;
pub mod render;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod writer;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use scim::ResourceKind;

use crate::error::ApiError;
use crate::handlers::{admin, bulk, discovery, health, resources};

/// The media type of every SCIM response body (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

async fn no_such_endpoint() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "there is no such SCIM endpoint; see /ServiceProviderConfig, /ResourceTypes and /Schemas",
    ))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED.as_u16(),
        "this endpoint does not take that HTTP method",
    ))
}

/// Registers the routes of one resource kind under its endpoint.
fn resource_kind(cfg: &mut web::ServiceConfig, kind: ResourceKind) {
    cfg.service(
        web::scope(kind.endpoint())
            .app_data(web::Data::new(kind))
            .service(
                web::resource(["", "/"])
                    .route(web::get().to(resources::list))
                    .route(web::post().to(resources::create))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/.search")
                    .route(web::post().to(resources::search))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/{id}")
                    .route(web::get().to(resources::get))
                    .route(web::put().to(resources::replace))
                    .route(web::patch().to(resources::patch))
                    .route(web::delete().to(resources::delete))
                    .default_service(web::to(method_not_allowed)),
            ),
    );
}

/// Every route of the service. The app must carry `web::Data<AppState>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .configure(admin::configure)
        .service(
            web::scope("/scim/v2/{connector}")
                .configure(|cfg| resource_kind(cfg, ResourceKind::User))
                .configure(|cfg| resource_kind(cfg, ResourceKind::Group))
                .route("/.search", web::post().to(resources::search_all))
                .route("/Bulk", web::post().to(bulk::bulk))
                .route(
                    "/ServiceProviderConfig",
                    web::get().to(discovery::service_provider_config),
                )
                .route("/ResourceTypes", web::get().to(discovery::resource_types))
                .route(
                    "/ResourceTypes/{name}",
                    web::get().to(discovery::resource_type),
                )
                .route("/Schemas", web::get().to(discovery::schemas))
                .route("/Schemas/{id}", web::get().to(discovery::schema))
                .default_service(web::to(no_such_endpoint)),
        );
}
