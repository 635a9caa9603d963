//! `GET /admin/history`: what happened to one person (or one request). The resource as the
//! store holds it now, and its journal entries newest first, each with its trail: the inbound
//! request that made it and every vendor call attempt it caused (crate::trail).
//!
//! A person is named the way an identity admin knows them: `userName` (or a Group's
//! `displayName`), `externalId`, the SCIM `id`, or the request id an identity provider's log
//! shows. Each lookup is one index read, and a page of history reads only that page's entries
//! and their trail.
//!
//! With `vendor=true` the answer also says what the vendor holds for the resource now and how
//! it differs from the store: reconciliation of one resource (crate::reconcile), so that
//! "is this person right at the vendor?" needs no listing of every account.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use connector::ConnectorError;
use scim::{Filter, ResourceKind, ScimType};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{HistoryFilter, HistoryKey, JournalState, ListQuery, StoredResource, TrailRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::admin::{Admin, MAX_PAGE, entry_json};
use crate::error::ApiError;
use crate::reconcile;

/// Who to look up, and which page of their history.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryParams {
    connector: Option<String>,
    /// `User` (the default) or `Group`; implied by `userName` and `displayName`.
    resource_type: Option<String>,
    user_name: Option<String>,
    display_name: Option<String>,
    external_id: Option<String>,
    id: Option<String>,
    request_id: Option<String>,
    /// The entries' outcome: `committed`, `failed` or `pending`.
    outcome: Option<String>,
    /// RFC 3339 times: entries journalled at or after `since`, before `until`.
    since: Option<String>,
    until: Option<String>,
    /// Entries older than this sequence number (the `next` of the previous page).
    before: Option<i64>,
    count: Option<usize>,
    /// Also read what the vendor holds for the resource now, and compare.
    vendor: Option<bool>,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(ScimType::InvalidValue, detail.into())
}

fn time_param(name: &str, text: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    text.map(|t| {
        OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            invalid(format!(
                "{name} \"{t}\" is not an RFC 3339 time, e.g. 2026-12-01T08:00:00Z"
            ))
        })
    })
    .transpose()
}

/// The one resource the parameters name: its kind and id, when the store has it.
async fn resolve(
    admin: &Admin,
    connector: &str,
    params: &HistoryParams,
) -> Result<(ResourceKind, String), ApiError> {
    let runtime = admin.connector(connector)?;
    let named = [
        params.user_name.as_deref().map(|v| ("userName", v)),
        params.display_name.as_deref().map(|v| ("displayName", v)),
        params.external_id.as_deref().map(|v| ("externalId", v)),
        params.id.as_deref().map(|v| ("id", v)),
    ];
    let mut given = named.into_iter().flatten();
    let (attribute, value) = given.next().ok_or_else(|| {
        invalid("name who to look up: userName, displayName, externalId, id or requestId")
    })?;
    if given.next().is_some() {
        return Err(invalid(
            "give one of userName, displayName, externalId and id, not several",
        ));
    }
    let kind = match (attribute, params.resource_type.as_deref()) {
        ("userName", _) => ResourceKind::User,
        ("displayName", _) => ResourceKind::Group,
        (_, None) => ResourceKind::User,
        (_, Some(text)) => ResourceKind::from_name(text).ok_or_else(|| {
            invalid(format!(
                "resourceType \"{text}\" is unknown; use User or Group"
            ))
        })?,
    };
    let store = &admin.state().store;
    let id = match attribute {
        "id" => Some(value.to_owned()),
        "externalId" => {
            let schema = runtime.schema(kind).ok_or_else(|| {
                ApiError::not_found(format!("connector \"{connector}\" offers no {kind}s"))
            })?;
            let filter = Filter::parse(&format!(
                "externalId eq {}",
                Value::String(value.to_owned())
            ))
            .map_err(|e| invalid(format!("externalId: {e}")))?;
            let page = store
                .list(
                    connector,
                    kind,
                    ListQuery {
                        filter: Some(&filter),
                        schema,
                        sort: None,
                        offset: 0,
                        limit: 2,
                    },
                )
                .await?;
            if page.total > 1 {
                return Err(ApiError::status(
                    409,
                    format!(
                        "{} {kind}s have externalId \"{value}\"; look one up by id",
                        page.total
                    ),
                ));
            }
            page.resources.into_iter().next().map(|r| r.id)
        }
        _ => store.find_by_unique_key(connector, kind, value).await?,
    };
    let Some(id) = id else {
        return Err(ApiError::not_found(format!(
            "connector \"{connector}\" has no {kind} with {attribute} \"{value}\"; a deleted one is found by its id or by the request id that deleted it"
        )));
    };
    Ok((kind, id))
}

/// Each entry with the trail records of its request, in the order they were kept.
fn with_trail(entries: &[store::JournalEntry], trail: &[TrailRecord]) -> Vec<Value> {
    entries
        .iter()
        .map(|entry| {
            let mut item = entry_json(entry);
            let records: Vec<Value> = trail
                .iter()
                .filter(|r| Some(&r.request_id) == entry.request_id.as_ref())
                .map(|r| r.record.clone())
                .collect();
            if let Some(object) = item.as_object_mut() {
                object.insert("trail".into(), Value::Array(records));
            }
            item
        })
        .collect()
}

/// What the vendor holds now for the resource the store has (`None`: the store has none any
/// more). A connector that cannot read one account says why; any other vendor failure fails
/// the request, as the vendor's SCIM error.
async fn vendor_now(
    connector: &dyn connector::Connector,
    kind: ResourceKind,
    stored: Option<&StoredResource>,
) -> Result<Value, ApiError> {
    let Some(stored) = stored else {
        return Ok(json!({
            "checked": false,
            "reason": format!("the store no longer has this {kind}, so there is nothing to compare the vendor with"),
        }));
    };
    match reconcile::check_account(connector, stored).await {
        Ok(check) => Ok(json!({
            "checked": true,
            "account": check.account.as_ref().map(|a| json!({"name": a.name, "keys": a.keys})),
            "inSync": check.in_sync(),
            "differences": check.differences,
        })),
        Err(ConnectorError::Unsupported(reason)) => Ok(json!({"checked": false, "reason": reason})),
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/history?connector=&(userName|displayName|externalId|id)=…[&resourceType=]` or
/// `?requestId=…`, with `outcome=`, `since=`, `until=`, `before=`, `count=`, `vendor=`.
pub async fn history(
    admin: Admin,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let state = params
        .outcome
        .as_deref()
        .map(|text| {
            JournalState::parse(text).ok_or_else(|| {
                invalid(format!(
                    "outcome \"{text}\" is unknown; use committed, failed or pending"
                ))
            })
        })
        .transpose()?;
    let since = time_param("since", params.since.as_deref())?;
    let until = time_param("until", params.until.as_deref())?;
    let limit = params.count.unwrap_or(100).clamp(1, MAX_PAGE);
    let with_vendor = params.vendor == Some(true);
    if with_vendor && params.request_id.is_some() {
        return Err(invalid(
            "vendor=true needs a resource: name it with connector and userName, displayName, externalId or id instead of requestId",
        ));
    }
    let store = &admin.state().store;

    let resource = match (params.request_id.as_deref(), params.connector.as_deref()) {
        (Some(_), _) => None,
        (None, Some(connector)) => {
            let (kind, id) = resolve(&admin, connector, &params).await?;
            Some((connector, kind, id))
        }
        (None, None) => {
            return Err(invalid(
                "name the connector (?connector=…) with who to look up, or give a requestId",
            ));
        }
    };
    let key = match (&resource, params.request_id.as_deref()) {
        (Some((connector, _, id)), _) => HistoryKey::Resource { connector, id },
        (None, request_id) => HistoryKey::Request(request_id.unwrap_or_default()),
    };
    let entries = store
        .journal_history(HistoryFilter {
            key,
            state,
            since,
            until,
            before_seq: params.before,
            limit,
        })
        .await?;
    // The request itself has a trail even when nothing was journalled (a refused write).
    let mut request_ids: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e.request_id.clone())
        .collect();
    if let Some(request_id) = &params.request_id {
        request_ids.insert(request_id.clone());
    }
    let request_ids: Vec<String> = request_ids.into_iter().collect();
    let trail = store.trail_of(&request_ids).await?;
    let stored = match &resource {
        Some((connector, kind, id)) => store.get(connector, *kind, id).await?,
        None => None,
    };
    let vendor = match &resource {
        Some((connector, kind, _)) if with_vendor => {
            let runtime = admin.connector(connector)?;
            Some(vendor_now(runtime.connector.as_ref(), *kind, stored.as_ref()).await?)
        }
        _ => None,
    };
    let now = stored.map(|r| {
        json!({
            "resourceType": r.kind.as_str(),
            "id": r.id,
            "version": r.version,
            "attributes": r.attributes,
            "vendorKeys": r.vendor_keys,
        })
    });
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let mut body = json!({
        "resource": now,
        "entries": with_trail(&entries, &trail),
        "next": next,
    });
    if let (Some(vendor), Some(object)) = (vendor, body.as_object_mut()) {
        object.insert("vendor".into(), vendor);
    }
    if params.request_id.is_some()
        && let Some(object) = body.as_object_mut()
    {
        // The inbound request's records even when no entry holds them.
        let requests: Vec<Value> = trail
            .iter()
            .filter(|r| r.record["type"] == "request")
            .map(|r| r.record.clone())
            .collect();
        object.insert("requests".into(), Value::Array(requests));
    }
    Ok(HttpResponse::Ok().json(body))
}
