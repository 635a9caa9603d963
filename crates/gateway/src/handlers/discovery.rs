//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4): what this connector
//! offers, as its registry and capabilities say.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use scim::ListResponse;

use crate::error::ApiError;
use crate::extract::Scim;
use crate::render::json_response;

/// A ListResponse holding every item (discovery lists are small and unpaged).
fn complete_list(resources: Vec<serde_json::Value>) -> HttpResponse {
    let list = ListResponse {
        total_results: resources.len(),
        start_index: 1,
        resources,
    };
    json_response(StatusCode::OK, &list.to_json())
}

pub async fn service_provider_config(scim: Scim) -> HttpResponse {
    let location = format!("{}/ServiceProviderConfig", scim.base_url());
    json_response(
        StatusCode::OK,
        &scim.runtime.service_provider_config.to_json(&location),
    )
}

pub async fn resource_types(scim: Scim) -> HttpResponse {
    let base = scim.base_url();
    let registry = &scim.runtime.registry;
    let resources: Vec<_> = registry
        .resource_types()
        .iter()
        .map(|rt| registry.resource_type_json(rt, &base))
        .collect();
    complete_list(resources)
}

pub async fn resource_type(
    scim: Scim,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, name) = path.into_inner();
    let registry = &scim.runtime.registry;
    let rt = registry
        .resource_type(&name)
        .ok_or_else(|| ApiError::not_found(format!("no resource type named \"{name}\"")))?;
    Ok(json_response(
        StatusCode::OK,
        &registry.resource_type_json(rt, &scim.base_url()),
    ))
}

pub async fn schemas(scim: Scim) -> HttpResponse {
    let base = scim.base_url();
    let registry = &scim.runtime.registry;
    let resources: Vec<_> = registry
        .schemas()
        .map(|s| registry.schema_json(s, &base))
        .collect();
    complete_list(resources)
}

pub async fn schema(
    scim: Scim,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let registry = &scim.runtime.registry;
    let schema = registry
        .schema(&id)
        .ok_or_else(|| ApiError::not_found(format!("no schema with id \"{id}\"")))?;
    Ok(json_response(
        StatusCode::OK,
        &registry.schema_json(schema, &scim.base_url()),
    ))
}
