//! The scim-bridge HTTP service: SCIM 2.0 per connector under `/scim/v2/{connector}`, over the
//! store and the connectors (docs/architecture.md "Data flow"). [`configure`] registers every route; [`server`]
//! runs them on a socket.

pub mod auth;
pub mod cache;
pub mod config;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod guard;
pub mod handlers;
pub mod import;
pub mod limits;
mod membership;
pub mod preview;
pub mod queue;
pub mod reconcile;
pub mod recovery;
pub mod render;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod trail;
pub mod writer;

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

/// The fallback of an endpoint that takes only the methods `allow` lists: 405 with an `Allow`
/// header (RFC 9110 §15.5.6) and a SCIM error body.
fn only(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(allow)) })
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
                    .default_service(only("GET, POST")),
            )
            .service(
                web::resource("/.search")
                    .route(web::post().to(resources::search))
                    .default_service(only("POST")),
            )
            .service(
                web::resource("/{id}")
                    .route(web::get().to(resources::get))
                    .route(web::put().to(resources::replace))
                    .route(web::patch().to(resources::patch))
                    .route(web::delete().to(resources::delete))
                    .default_service(only("GET, PUT, PATCH, DELETE")),
            ),
    );
}

/// An endpoint served by `route` alone, answering 405 to the other methods.
fn get_only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(only("GET"))
}

/// As [`get_only`], for the endpoints that take only POST.
fn post_only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(only("POST"))
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
                .service(post_only("/.search", web::post().to(resources::search_all)))
                .service(post_only("/Bulk", web::post().to(bulk::bulk)))
                .service(get_only(
                    "/ServiceProviderConfig",
                    web::get().to(discovery::service_provider_config),
                ))
                .service(get_only(
                    "/ResourceTypes",
                    web::get().to(discovery::resource_types),
                ))
                .service(get_only(
                    "/ResourceTypes/{name}",
                    web::get().to(discovery::resource_type),
                ))
                .service(get_only("/Schemas", web::get().to(discovery::schemas)))
                .service(get_only("/Schemas/{id}", web::get().to(discovery::schema)))
                .default_service(web::to(no_such_endpoint)),
        );
}
