//! The admin API under `/admin`, for operators, with credentials of its own (`[admin.auth]`;
//! without any the whole API answers 404): the [`Admin`] extractor that checks them, connector
//! status, the journal, and the routes. The other endpoints live beside it, one module each:
//! the delivery queue (`queue`), a person's history (`history`), reconciliation
//! (`reconcile`), the deletion guard (`guard`) and the console's files (`console`). Answers
//! are plain JSON; failures are SCIM error bodies like everywhere else, so one client library
//! reads both.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use scim::{ResourceKind, ScimType};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Change, JournalEntry, JournalFilter, JournalState, QueueStats};
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;
use crate::state::{AppState, ConnectorRuntime};

/// Entries per page of the journal and the queue, unless `count` asks for fewer.
pub(super) const MAX_PAGE: usize = 500;

/// An authenticated operator.
pub struct Admin {
    state: web::Data<AppState>,
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::status(500, "the service is not initialised"))?;
            let Some(authenticator) = &state.admin else {
                return Err(ApiError::not_found(
                    "the admin API is off: give it credentials in an [admin.auth] table",
                ));
            };
            let authorization = match authorization {
                None => None,
                Some(Ok(value)) => Some(value),
                Some(Err(_)) => return Err(crate::auth::AuthError::MalformedBearer.into()),
            };
            authenticator.authenticate(authorization.as_deref()).await?;
            Ok(Admin { state })
        })
    }
}

impl Admin {
    pub(super) fn state(&self) -> &AppState {
        &self.state
    }

    pub(super) fn connector(&self, name: &str) -> Result<&ConnectorRuntime, ApiError> {
        self.state
            .connectors
            .get(name)
            .map(AsRef::as_ref)
            .ok_or_else(|| ApiError::not_found(format!("there is no connector named \"{name}\"")))
    }
}

pub(super) fn rfc3339(t: time::OffsetDateTime) -> Value {
    t.format(&Rfc3339).map_or(Value::Null, Value::String)
}

fn queue_json(stats: Option<&QueueStats>) -> Value {
    let now = time::OffsetDateTime::now_utc();
    json!({
        "queued": stats.map_or(0, |s| s.queued),
        "failed": stats.map_or(0, |s| s.failed),
        "oldestQueuedAgeSeconds": stats
            .and_then(|s| s.oldest_queued)
            .map(|t| (now - t).as_seconds_f64().max(0.0)),
    })
}

/// How many resources kept in the store only the status names, per kind.
const STORE_ONLY_SHOWN: usize = 100;

/// The resources the connector keeps in the store only (they reach no vendor), per kind:
/// `{"Group": {"resources": [{"id", "displayName"}], "more": false}}`; kinds without any are
/// left out.
async fn store_only_json(state: &AppState, runtime: &ConnectorRuntime) -> Result<Value, ApiError> {
    let mut out = serde_json::Map::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let mut found = state
            .store
            .with_vendor_keys(
                &runtime.name,
                kind,
                &connector::store_only_keys(),
                STORE_ONLY_SHOWN + 1,
            )
            .await?;
        if found.is_empty() {
            continue;
        }
        let more = found.len() > STORE_ONLY_SHOWN;
        found.truncate(STORE_ONLY_SHOWN);
        let resources: Vec<Value> = found
            .into_iter()
            .map(|(id, name)| json!({"id": id, "displayName": name}))
            .collect();
        out.insert(
            kind.as_str().into(),
            json!({"resources": resources, "more": more}),
        );
    }
    Ok(Value::Object(out))
}

fn connector_json(
    runtime: &ConnectorRuntime,
    stats: &[QueueStats],
    reconciled: Option<&(time::OffsetDateTime, crate::reconcile::Report)>,
) -> Value {
    json!({
        "name": runtime.name,
        "kind": runtime.connector.kind(),
        "delivery": match runtime.delivery {
            crate::config::DeliveryMode::Sync => "sync",
            crate::config::DeliveryMode::Queued => "queued",
        },
        "queue": queue_json(stats.iter().find(|s| s.connector == runtime.name)),
        "vendor": serde_json::to_value(runtime.connector.status()).unwrap_or(Value::Null),
        "inboundLimits": runtime.limits.describe(),
        "lastReconciliation": reconciled.map(|(at, report)| super::reconcile::summary_json(*at, report)),
    })
}

/// `GET /admin/connectors`: every connector's status.
pub async fn connectors(admin: Admin) -> Result<HttpResponse, ApiError> {
    let stats = admin.state.store.queue_stats().await?;
    let reconciled = admin.state.reconciliations.lock().await;
    let mut names: Vec<&String> = admin.state.connectors.keys().collect();
    names.sort();
    let list: Vec<Value> = names
        .into_iter()
        .filter_map(|name| admin.state.connectors.get(name))
        .map(|runtime| connector_json(runtime, &stats, reconciled.get(&runtime.name)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "connectors": list })))
}

#[derive(Debug, Deserialize)]
pub struct ConnectorQuery {
    /// Call the vendor now (a cheap read) rather than report the last calls only.
    #[serde(default)]
    probe: bool,
}

/// `GET /admin/connectors/{name}[?probe=true]`: one connector's status.
pub async fn connector(
    admin: Admin,
    name: web::Path<String>,
    query: web::Query<ConnectorQuery>,
) -> Result<HttpResponse, ApiError> {
    let runtime = admin.connector(&name)?;
    let probe = if query.probe {
        Some(match runtime.connector.probe().await {
            Ok(()) => json!({"reachable": true}),
            Err(e) => json!({"reachable": false, "error": e.to_string()}),
        })
    } else {
        None
    };
    let stats = admin.state.store.queue_stats().await?;
    let reconciled = admin.state.reconciliations.lock().await;
    let mut body = connector_json(runtime, &stats, reconciled.get(&runtime.name));
    std::mem::drop(reconciled);
    let store_only = store_only_json(&admin.state, runtime).await?;
    if let Some(object) = body.as_object_mut() {
        if let Some(probe) = probe {
            object.insert("probe".into(), probe);
        }
        object.insert("storeOnly".into(), store_only);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// Paging and filters of the journal and queue listings.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    pub(super) connector: Option<String>,
    state: Option<String>,
    /// Entries older than this sequence number (the `next` of the previous page).
    pub(super) before: Option<i64>,
    count: Option<usize>,
}

impl ListParams {
    pub(super) fn limit(&self) -> usize {
        self.count.unwrap_or(100).clamp(1, MAX_PAGE)
    }

    pub(super) fn state<T>(
        &self,
        parse: fn(&str) -> Option<T>,
        known: &str,
    ) -> Result<Option<T>, ApiError> {
        self.state
            .as_deref()
            .map(|text| {
                parse(text).ok_or_else(|| {
                    ApiError::bad_request(
                        ScimType::InvalidValue,
                        format!("state \"{text}\" is unknown; use one of: {known}"),
                    )
                })
            })
            .transpose()
    }
}

/// A journalled change for an operator: a Group's members as the ids added and removed.
fn change_json(change: &Change) -> Value {
    let mut out = match change {
        Change::Create { id, attributes, .. } => {
            json!({"operation": "create", "id": id, "attributes": attributes})
        }
        Change::Replace {
            id,
            expected_version,
            attributes,
            ..
        } => json!({
            "operation": "replace", "id": id, "fromVersion": expected_version,
            "attributes": attributes,
        }),
        Change::Delete {
            id,
            expected_version,
            ..
        } => json!({"operation": "delete", "id": id, "fromVersion": expected_version}),
    };
    let members = change.members();
    if !members.is_empty() {
        let added: Vec<&str> = members.add.iter().map(|m| m.value.as_str()).collect();
        out["members"] = json!({"added": added, "removed": members.remove});
    }
    out
}

pub(super) fn entry_json(entry: &JournalEntry) -> Value {
    json!({
        "seq": entry.seq,
        "connector": entry.connector,
        "resourceType": entry.kind.as_str(),
        "change": change_json(&entry.change),
        "state": entry.state.as_str(),
        "attempts": entry.attempts,
        "lastError": entry.last_error,
        "requestId": entry.request_id,
        "created": rfc3339(entry.created),
    })
}

pub(super) fn page_json(items: Vec<Value>, seqs: Vec<i64>, limit: usize) -> Value {
    let next = (seqs.len() == limit)
        .then(|| seqs.last().copied())
        .flatten();
    json!({ "entries": items, "next": next })
}

/// `GET /admin/journal?connector=&state=pending|committed|failed&before=&count=`: journal
/// entries, newest first. A `pending` entry of a sync connector is a write in flight (or one
/// a crash interrupted, finished at the next start).
pub async fn journal(
    admin: Admin,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let state = params.state(JournalState::parse, "pending, committed, failed")?;
    let limit = params.limit();
    let entries = admin
        .state
        .store
        .journal_list(JournalFilter {
            connector: params.connector.as_deref(),
            state,
            before_seq: params.before,
            limit,
        })
        .await?;
    let seqs = entries.iter().map(|e| e.seq).collect();
    let items = entries.iter().map(entry_json).collect();
    Ok(HttpResponse::Ok().json(page_json(items, seqs, limit)))
}

/// Registers the admin routes under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::bad_request(
                    ScimType::InvalidValue,
                    format!("the query string is not understood: {e}"),
                )
                .into()
            }))
            .configure(super::console::configure)
            .route("/connectors", web::get().to(connectors))
            .route("/connectors/{name}", web::get().to(connector))
            .route("/connectors/{name}/reconcile", web::post().to(super::reconcile::reconcile))
            .route(
                "/connectors/{name}/reconcile",
                web::get().to(super::reconcile::last_reconciliation),
            )
            .route("/connectors/{name}/guard", web::get().to(super::guard::status))
            .route("/connectors/{name}/guard/allow", web::post().to(super::guard::allow))
            .route("/connectors/{name}/guard/reset", web::post().to(super::guard::reset))
            .route("/journal", web::get().to(journal))
            .route("/history", web::get().to(super::history::history))
            .route("/queue", web::get().to(super::queue::list))
            .route("/queue/retry", web::post().to(super::queue::retry_all))
            .route("/queue/drop", web::post().to(super::queue::drop_all))
            .route("/queue/{seq}/retry", web::post().to(super::queue::retry))
            .route("/queue/{seq}/drop", web::post().to(super::queue::drop))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::not_found(
                    "no such admin endpoint; see /admin/ (the console), /admin/connectors, /admin/journal and /admin/queue",
                ))
            })),
    );
}
