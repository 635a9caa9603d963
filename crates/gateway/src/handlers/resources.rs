//! `/Users` and `/Groups`: list and search, get, create, replace, patch, delete
//! (RFC 7644 §3.2–§3.6), with the answers Entra ID and Okta expect (docs/identity-providers.md "Identity providers").

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use scim::etag::TagList;
use scim::members::{MEMBERS, Member};
use scim::{ListQuery, ListResponse, Projection, ResourceKind};
use serde_json::Value;
use store::StoredResource;

use crate::cache::Slot;
use crate::error::ApiError;
use crate::extract::{Scim, header_text, json_body, query_pairs};
use crate::render::{
    json_response, member_location, members_whole, resource_json, resource_response,
    stored_text_response,
};

/// The resource kind a route serves (set per scope, so handlers are not looked up by name).
pub type Kind = web::Data<ResourceKind>;

fn projection(req: &HttpRequest) -> Result<Projection, ApiError> {
    let pairs = query_pairs(req)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Ok(Projection::parse(
        get("attributes"),
        get("excludedAttributes"),
    )?)
}

/// Whether resources of `kind` show `groups`: Users, where the connector offers Groups.
fn has_groups(scim: &Scim, kind: ResourceKind) -> bool {
    kind == ResourceKind::User && scim.runtime.schema(ResourceKind::Group).is_some()
}

/// The `groups` of a User, for single-resource answers (lists carry them only when asked,
/// since each costs a lookup).
async fn groups_of(
    scim: &Scim,
    stored: &StoredResource,
) -> Result<Option<Vec<(String, String)>>, ApiError> {
    if !has_groups(scim, stored.kind) {
        return Ok(None);
    }
    Ok(Some(
        scim.state
            .store
            .groups_of(&scim.runtime.name, &stored.id)
            .await?,
    ))
}

/// Puts a Group's members into its attributes when the answer shows them: the store keeps them
/// apart, and an answer that leaves them out (`excludedAttributes=members`) never reads them.
async fn with_members(
    scim: &Scim,
    stored: &mut StoredResource,
    projection: &Projection,
) -> Result<(), ApiError> {
    if let Some(members) = members_shown(scim, stored, projection).await? {
        let base = scim.base_url();
        let list = members
            .iter()
            .map(|m| m.to_json(member_location(&base, m)))
            .collect();
        stored.attributes.insert(MEMBERS.into(), Value::Array(list));
    }
    Ok(())
}

/// A Group's members, when the answer shows them.
async fn members_shown(
    scim: &Scim,
    stored: &StoredResource,
    projection: &Projection,
) -> Result<Option<Vec<Member>>, ApiError> {
    if stored.kind != ResourceKind::Group || !projection.shows(scim.schema(stored.kind)?, MEMBERS) {
        return Ok(None);
    }
    Ok(Some(scim.writer().members_of(&stored.id).await?))
}

/// One resource as an answer. A Group's members shown whole are written into the body
/// directly (`render::resource_response`); a projection of some of their sub-attributes goes
/// through JSON values.
async fn respond(
    scim: &Scim,
    status: StatusCode,
    mut stored: StoredResource,
    groups: Option<&[(String, String)]>,
    projection: &Projection,
) -> Result<HttpResponse, ApiError> {
    let schema = scim.schema(stored.kind)?;
    let members = if members_whole(schema, projection) {
        members_shown(scim, &stored, projection).await?
    } else {
        with_members(scim, &mut stored, projection).await?;
        None
    };
    Ok(resource_response(
        status,
        &scim.base_url(),
        schema,
        stored,
        groups,
        members.as_deref(),
        projection,
    ))
}

/// [`respond`] for a resource just written: a User's `groups` are read first.
async fn respond_written(
    scim: &Scim,
    status: StatusCode,
    stored: StoredResource,
    projection: &Projection,
) -> Result<HttpResponse, ApiError> {
    let groups = groups_of(scim, &stored).await?;
    respond(scim, status, stored, groups.as_deref(), projection).await
}

/// One page of one kind, rendered.
async fn page(
    scim: &Scim,
    kind: ResourceKind,
    query: &ListQuery,
    offset: usize,
    limit: usize,
) -> Result<(usize, Vec<Value>), ApiError> {
    let schema = scim.schema(kind)?;
    let page = scim
        .state
        .store
        .list(
            &scim.runtime.name,
            kind,
            store::ListQuery {
                filter: query.filter.as_ref(),
                schema,
                sort: query.sort_by.as_ref().map(|s| (s, query.sort_order)),
                offset,
                limit,
            },
        )
        .await?;
    let wants_groups = query
        .projection
        .attributes
        .iter()
        .any(|a| a.name.eq_ignore_ascii_case("groups"));
    let base = scim.base_url();
    let mut resources = Vec::with_capacity(page.resources.len());
    for mut stored in page.resources {
        with_members(scim, &mut stored, &query.projection).await?;
        let groups = if wants_groups {
            groups_of(scim, &stored).await?
        } else {
            None
        };
        resources.push(Value::Object(
            query
                .projection
                .apply(schema, resource_json(&base, stored, groups.as_deref())),
        ));
    }
    Ok((page.total, resources))
}

async fn list_kind(
    scim: &Scim,
    kind: ResourceKind,
    query: ListQuery,
) -> Result<HttpResponse, ApiError> {
    let (total, resources) = page(scim, kind, &query, query.start_index - 1, query.count).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListResponse {
            total_results: total,
            start_index: query.start_index,
            resources,
        }
        .into_json(),
    ))
}

/// The cached answer to this read, or the slot to keep the answer in once it is made.
async fn cached(scim: &Scim, req: &HttpRequest) -> Result<HttpResponse, Slot> {
    let cache = &scim.state.cache;
    let slot = cache
        .slot(
            scim.state.store.as_ref(),
            &scim.runtime.name,
            &scim.principal.subject,
            req,
        )
        .await;
    cache.get(&slot, req).ok_or(slot)
}

/// `GET /Users?filter=…&startIndex=…&count=…`
pub async fn list(req: HttpRequest, scim: Scim, kind: Kind) -> Result<HttpResponse, ApiError> {
    let slot = match cached(&scim, &req).await {
        Ok(hit) => return Ok(hit),
        Err(slot) => slot,
    };
    let schema = scim.schema(**kind)?;
    let pairs = query_pairs(&req)?;
    let query = ListQuery::from_params(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        schema,
        scim.runtime.query_limits,
    )?;
    let response = list_kind(&scim, **kind, query).await?;
    Ok(scim.state.cache.keep(slot, response).await)
}

/// `POST /Users/.search`
pub async fn search(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
    kind: Kind,
) -> Result<HttpResponse, ApiError> {
    let schema = scim.schema(**kind)?;
    let body = json_body(&req, payload, scim.state.body_limits).await?;
    let query = ListQuery::from_search_request(&body, schema, scim.runtime.query_limits)?;
    list_kind(&scim, **kind, query).await
}

/// `POST /.search`: every resource type this connector offers, Users first, paged as one list.
pub async fn search_all(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, payload, scim.state.body_limits).await?;
    // Each kind reads the body against its own schema (filter checks, sort keys); paging is
    // one list across them, Users first.
    let mut queries = Vec::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        if let Some(schema) = scim.runtime.schema(kind) {
            queries.push((
                kind,
                ListQuery::from_search_request(&body, schema, scim.runtime.query_limits)?,
            ));
        }
    }
    let (start_index, count) = queries
        .first()
        .map_or((1, 0), |(_, q)| (q.start_index, q.count));
    let (mut total, mut resources) = (0, Vec::new());
    let mut skip = start_index - 1;
    for (kind, query) in &queries {
        let room = count - resources.len();
        let (kind_total, page) = page(&scim, *kind, query, skip, room).await?;
        skip = skip.saturating_sub(kind_total);
        total += kind_total;
        resources.extend(page);
    }
    Ok(json_response(
        StatusCode::OK,
        &ListResponse {
            total_results: total,
            start_index,
            resources,
        }
        .into_json(),
    ))
}

/// `GET /Users/{id}`; 304 when `If-None-Match` names the current version.
pub async fn get(
    req: HttpRequest,
    scim: Scim,
    kind: Kind,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let slot = match cached(&scim, &req).await {
        Ok(hit) => return Ok(hit),
        Err(slot) => slot,
    };
    let kind = **kind;
    let schema = scim.schema(kind)?;
    let projection = projection(&req)?;
    let response = if has_groups(&scim, kind) {
        // A User and its groups in one read, its attributes as stored text: the usual
        // answer is written around that text (`render::stored_text_response`).
        let (stored, groups) = scim
            .state
            .store
            .get_with_groups(&scim.runtime.name, kind, &id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("{kind} {id} not found")))?;
        if let Some(unchanged) = not_modified(&req, stored.version) {
            return Ok(unchanged);
        }
        let shown = projection
            .shows_unchanged(schema, &stored.attributes)
            .then(|| stored_text_response(&scim.base_url(), &stored, &groups))
            .flatten();
        match shown {
            Some(response) => response,
            None => {
                let stored = stored.parse()?;
                respond(&scim, StatusCode::OK, stored, Some(&groups), &projection).await?
            }
        }
    } else {
        let stored = scim.writer().fetch(kind, &id).await?;
        if let Some(unchanged) = not_modified(&req, stored.version) {
            return Ok(unchanged);
        }
        respond(&scim, StatusCode::OK, stored, None, &projection).await?
    };
    Ok(scim.state.cache.keep(slot, response).await)
}

/// `304 Not Modified` when `If-None-Match` names `version`.
fn not_modified(req: &HttpRequest, version: i64) -> Option<HttpResponse> {
    let header = header_text(req, header::IF_NONE_MATCH)?;
    let version = version.to_string();
    TagList::parse(header)
        .is_ok_and(|tags| tags.matches(Some(&version)))
        .then(|| {
            HttpResponse::NotModified()
                .insert_header((header::ETAG, scim::etag::etag(&version)))
                .finish()
        })
}

/// `POST /Users`: 201 with the resource, `Location` and `ETag`.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
    kind: Kind,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, payload, scim.state.body_limits).await?;
    let stored = scim.writer().create(**kind, &body).await?;
    respond_written(&scim, StatusCode::CREATED, stored, &projection(&req)?).await
}

/// `PUT /Users/{id}`: 200 with the replaced resource.
pub async fn replace(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
    kind: Kind,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let body = json_body(&req, payload, scim.state.body_limits).await?;
    let stored = scim
        .writer()
        .replace(**kind, &id, &body, header_text(&req, header::IF_MATCH))
        .await?;
    respond_written(&scim, StatusCode::OK, stored, &projection(&req)?).await
}

/// `PATCH /Users/{id}`: 200 with the User; 204 for a Group (docs/identity-providers.md "Entra ID: updates": Entra prefers
/// it, and a large member list need not travel back).
pub async fn patch(
    req: HttpRequest,
    payload: web::Payload,
    scim: Scim,
    kind: Kind,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let body = json_body(&req, payload, scim.state.body_limits).await?;
    let stored = scim
        .writer()
        .patch(**kind, &id, &body, header_text(&req, header::IF_MATCH))
        .await?;
    if stored.kind == ResourceKind::Group {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, scim::etag::etag(&stored.version.to_string())))
            .finish());
    }
    respond_written(&scim, StatusCode::OK, stored, &projection(&req)?).await
}

/// `DELETE /Users/{id}`: 204.
pub async fn delete(
    req: HttpRequest,
    scim: Scim,
    kind: Kind,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    scim.writer()
        .delete(**kind, &id, header_text(&req, header::IF_MATCH))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
