//! Stored resources as SCIM responses: `id` and `meta` (with the location under this
//! connector's base URL), the read-only `groups` of a User, the projection the client asked
//! for, the ETag.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use scim::etag::etag;
use scim::members::{MEMBERS, Member};
use scim::resource::{Meta, with_server_attributes};
use scim::{Projection, ResourceKind, ResourceSchema};
use serde_json::{Map, Value, json};
use store::{StoredResource, StoredText};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::SCIM_CONTENT_TYPE;

/// The absolute URL of a resource.
pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{base_url}{}/{id}", kind.endpoint())
}

/// The `meta` of a resource.
fn meta(
    base_url: &str,
    kind: ResourceKind,
    id: &str,
    version: i64,
    created: OffsetDateTime,
    last_modified: OffsetDateTime,
) -> Meta {
    Meta {
        resource_type: kind.as_str().to_owned(),
        created: created.format(&Rfc3339).unwrap_or_default(),
        last_modified: last_modified.format(&Rfc3339).unwrap_or_default(),
        location: location(base_url, kind, id),
        version: version.to_string(),
    }
}

/// A User's read-only `groups`, as `(group id, displayName)` pairs.
fn groups_json(base_url: &str, groups: &[(String, String)]) -> Value {
    groups
        .iter()
        .map(|(id, name)| json!({"value": id, "$ref": location(base_url, ResourceKind::Group, id), "display": name, "type": "direct"}))
        .collect()
}

/// The full resource as SCIM shows it, before projection (taking the stored attributes rather
/// than copying them).
pub fn resource_json(
    base_url: &str,
    stored: StoredResource,
    groups: Option<&[(String, String)]>,
) -> Map<String, Value> {
    let meta = meta(
        base_url,
        stored.kind,
        &stored.id,
        stored.version,
        stored.created,
        stored.last_modified,
    );
    let mut attributes = stored.attributes;
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        attributes.insert("groups".into(), groups_json(base_url, groups));
    }
    with_server_attributes(attributes, &stored.id, &meta)
}

/// A `200` answer written around the stored attributes' text, for a projection that shows
/// them unchanged ([`Projection::shows_unchanged`]): the attributes as stored, `id`, `groups`,
/// `meta`. Parsing them into values only to serialize them again was a fifth of the work of
/// a `GET /Users/{id}`. `None` when the text is not a JSON object's.
pub fn stored_text_response(
    base_url: &str,
    stored: &StoredText,
    groups: &[(String, String)],
) -> Option<HttpResponse> {
    let inner = stored
        .attributes
        .trim()
        .strip_prefix('{')?
        .strip_suffix('}')?
        .trim();
    let meta = meta(
        base_url,
        stored.kind,
        &stored.id,
        stored.version,
        stored.created,
        stored.last_modified,
    );
    let mut out = Vec::with_capacity(inner.len() + 256);
    out.push(b'{');
    if !inner.is_empty() {
        // `schemas` first, as stored.
        out.extend_from_slice(inner.as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"\"id\":");
    // Writing strings and values into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &stored.id);
    if !groups.is_empty() {
        out.extend_from_slice(b",\"groups\":");
        let _ = serde_json::to_writer(&mut out, &groups_json(base_url, groups));
    }
    out.extend_from_slice(b",\"meta\":");
    let _ = serde_json::to_writer(&mut out, &meta);
    out.push(b'}');
    Some(
        HttpResponse::Ok()
            .insert_header((header::ETAG, etag(&meta.version)))
            .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
            .body(out),
    )
}

/// A resource response: the projected body, `ETag`, and `Location` for a 201. A Group's
/// `members`, when given, are written straight into the body after the other attributes:
/// 100,000 of them are 15 MB of JSON, and a tree of JSON values for them first would hold
/// several times that (the projection must show `members` whole; see [`members_whole`]).
pub fn resource_response(
    status: StatusCode,
    base_url: &str,
    schema: &ResourceSchema,
    stored: StoredResource,
    groups: Option<&[(String, String)]>,
    members: Option<&[Member]>,
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
    let mut text = Value::Object(body).to_string();
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        append_members(&mut text, base_url, members);
    }
    response
        .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
        .body(text)
}

/// Whether `projection` shows a Group's `members` whole (not some of their sub-attributes), so
/// that [`resource_response`] may write them itself.
pub fn members_whole(schema: &ResourceSchema, projection: &Projection) -> bool {
    projection.shows(schema, MEMBERS)
        && projection
            .attributes
            .iter()
            .chain(&projection.excluded)
            .all(|path| !path.name.eq_ignore_ascii_case(MEMBERS))
}

/// A member's URL, where its kind is known.
pub fn member_location(base_url: &str, member: &Member) -> Option<String> {
    member
        .kind
        .map(|kind| location(base_url, kind, &member.value))
}

/// Adds `"members": [...]` as the last key of the JSON object in `text`.
fn append_members(text: &mut String, base_url: &str, members: &[Member]) {
    if !text.ends_with('}') {
        return;
    }
    text.pop();
    let mut out = std::mem::take(text).into_bytes();
    out.reserve(members.len() * 160);
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"members\":[");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let item = member.shown(member_location(base_url, member));
        // Writing plain strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &item);
    }
    out.extend_from_slice(b"]}");
    // Only JSON text was written: still UTF-8.
    *text = String::from_utf8(out).unwrap_or_default();
}

/// Any other SCIM JSON body.
pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(HeaderValue::from_static(SCIM_CONTENT_TYPE))
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_appended_as_the_last_key() {
        let members = [
            Member {
                value: "u1".into(),
                kind: Some(ResourceKind::User),
                display: Some("Ann \"A\"".into()),
            },
            Member {
                value: "g2".into(),
                kind: None,
                display: None,
            },
        ];
        let mut text = r#"{"id":"g","displayName":"G"}"#.to_owned();
        append_members(&mut text, "https://x/scim/v2/c", &members);
        let parsed: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            parsed,
            json!({"id": "g", "displayName": "G", "members": [
                {"value": "u1", "$ref": "https://x/scim/v2/c/Users/u1", "type": "User", "display": "Ann \"A\""},
                {"value": "g2"}
            ]})
        );
    }
}
