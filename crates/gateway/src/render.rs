//! Stored resources as SCIM responses: `id` and `meta` (with the location under this
//! connector's base URL), the read-only `groups` of a User, the projection the client asked
//! for, the ETag.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use scim::etag::etag;
use scim::resource::{Meta, with_server_attributes};
use scim::{Projection, ResourceKind, ResourceSchema};
use serde_json::{Map, Value, json};
use store::StoredResource;
use time::format_description::well_known::Rfc3339;

use crate::SCIM_CONTENT_TYPE;

/// The absolute URL of a resource.
pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{base_url}{}/{id}", kind.endpoint())
}

/// The full resource as SCIM shows it, before projection (taking the stored attributes rather
/// than copying them).
pub fn resource_json(
    base_url: &str,
    stored: StoredResource,
    groups: Option<&[(String, String)]>,
) -> Map<String, Value> {
    let meta = Meta {
        resource_type: stored.kind.as_str().to_owned(),
        created: stored.created.format(&Rfc3339).unwrap_or_default(),
        last_modified: stored.last_modified.format(&Rfc3339).unwrap_or_default(),
        location: location(base_url, stored.kind, &stored.id),
        version: stored.version.to_string(),
    };
    let mut attributes = stored.attributes;
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        let list: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({"value": id, "$ref": location(base_url, ResourceKind::Group, id), "display": name, "type": "direct"}))
            .collect();
        attributes.insert("groups".into(), Value::Array(list));
    }
    with_server_attributes(attributes, &stored.id, &meta)
}

/// A resource response: the projected body, `ETag`, and `Location` for a 201.
pub fn resource_response(
    status: StatusCode,
    base_url: &str,
    schema: &ResourceSchema,
    stored: StoredResource,
    groups: Option<&[(String, String)]>,
    projection: &Projection,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag(&stored.version.to_string())));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            location(base_url, stored.kind, &stored.id),
        ));
    }
    let body = projection.apply(schema, resource_json(base_url, stored, groups));
    response
        .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
        .body(Value::Object(body).to_string())
}

/// Any other SCIM JSON body.
pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
        .body(body.to_string())
}
