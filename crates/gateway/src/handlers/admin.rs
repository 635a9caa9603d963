//! The admin API under `/admin`, for operators, with credentials of its own (`[admin.auth]`;
//! without any the whole API answers 404): connector status, the journal, the delivery queue
//! (retry, drop) and reconciliation runs. Answers are plain JSON; failures are SCIM error
//! bodies like everywhere else, so one client library reads both.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use scim::{ResourceKind, ScimType};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{
    Change, Delivery, DeliveryState, JournalEntry, JournalFilter, JournalState, QueueFilter,
    QueueStats, StoreError,
};
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;
use crate::reconcile::{Drift, Quiet, ReconcileError, Report};
use crate::state::{AppState, ConnectorRuntime};
use connector::ConnectorError;

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

fn rfc3339(t: time::OffsetDateTime) -> Value {
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
    reconciled: Option<&(time::OffsetDateTime, Report)>,
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
        "lastReconciliation": reconciled.map(|(at, report)| summary_json(*at, report)),
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
    connector: Option<String>,
    state: Option<String>,
    /// Entries older than this sequence number (the `next` of the previous page).
    before: Option<i64>,
    count: Option<usize>,
}

impl ListParams {
    fn limit(&self) -> usize {
        self.count.unwrap_or(100).clamp(1, MAX_PAGE)
    }

    fn state<T>(&self, parse: fn(&str) -> Option<T>, known: &str) -> Result<Option<T>, ApiError> {
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

fn delivery_json(delivery: &Delivery) -> Value {
    let mut entry = entry_json(&delivery.entry);
    if let Some(object) = entry.as_object_mut() {
        object.insert("state".into(), delivery.state.as_str().into());
        object.insert("attempts".into(), delivery.attempts.into());
        object.insert("lastError".into(), json!(delivery.last_error));
        object.insert("nextAttempt".into(), rfc3339(delivery.next_attempt));
    }
    entry
}

fn page_json(items: Vec<Value>, seqs: Vec<i64>, limit: usize) -> Value {
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

/// `GET /admin/queue?connector=&state=queued|delivered|failed|dropped&before=&count=`: queued
/// deliveries, newest first.
pub async fn queue(admin: Admin, params: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let state = params.state(DeliveryState::parse, "queued, delivered, failed, dropped")?;
    let limit = params.limit();
    let deliveries = admin
        .state
        .store
        .queue_list(QueueFilter {
            connector: params.connector.as_deref(),
            state,
            before_seq: params.before,
            limit,
        })
        .await?;
    let seqs = deliveries.iter().map(|d| d.entry.seq).collect();
    let items = deliveries.iter().map(delivery_json).collect();
    Ok(HttpResponse::Ok().json(page_json(items, seqs, limit)))
}

fn parse_seq(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            ScimType::InvalidValue,
            format!("\"{text}\" is not a queue entry number (the seq of GET /admin/queue)"),
        )
    })
}

fn settled_elsewhere(seq: i64, what: &str) -> impl FnOnce(StoreError) -> ApiError {
    let what = what.to_owned();
    move |e| match e {
        StoreError::NoSuchEntry(_) => ApiError::status(
            409,
            format!(
                "queue entry {seq} cannot be {what}: it does not exist, or is not in a state that allows it (see GET /admin/queue)"
            ),
        ),
        other => other.into(),
    }
}

/// `POST /admin/queue/{seq}/retry`: a failed delivery is attempted again, now.
pub async fn retry(admin: Admin, seq: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let seq = parse_seq(&seq)?;
    admin
        .state
        .store
        .queue_retry(seq)
        .await
        .map_err(settled_elsewhere(seq, "retried"))?;
    admin.state.queue.wake();
    tracing::info!(seq, "an operator retried a delivery");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/queue/{seq}/drop`: a failed or waiting delivery is given up; the later writes
/// of its resource go ahead.
pub async fn drop(admin: Admin, seq: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let seq = parse_seq(&seq)?;
    admin
        .state
        .store
        .queue_drop(seq)
        .await
        .map_err(settled_elsewhere(seq, "dropped"))?;
    admin.state.queue.wake();
    tracing::info!(seq, "an operator dropped a delivery");
    Ok(HttpResponse::NoContent().finish())
}

/// At most this many deliveries are settled by one bulk request; `more` says there are others.
const MAX_SETTLED: usize = 1_000;

/// Which deliveries a bulk retry or drop settles: every one of `connector` in `state` (failed
/// unless it says otherwise), narrowed by resource type, resource id and error text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettleParams {
    connector: Option<String>,
    state: Option<String>,
    resource_type: Option<String>,
    id: Option<String>,
    /// Only deliveries whose last error contains this text (`HTTP 401`).
    error: Option<String>,
    /// At most this many (1 to 1000, the default).
    count: Option<usize>,
}

impl SettleParams {
    fn matches(&self, delivery: &Delivery, kind: Option<ResourceKind>) -> bool {
        kind.is_none_or(|k| delivery.entry.kind == k)
            && self
                .id
                .as_deref()
                .is_none_or(|id| delivery.entry.change.id() == id)
            && self.error.as_deref().is_none_or(|text| {
                delivery
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains(text))
            })
    }
}

/// The deliveries a bulk request names, oldest first (so that one resource's writes are
/// settled in their order), and whether more match than one request settles.
async fn settle_targets(
    admin: &Admin,
    params: &SettleParams,
    allowed: &[DeliveryState],
) -> Result<(Vec<i64>, bool), ApiError> {
    let invalid = |detail: String| ApiError::bad_request(ScimType::InvalidValue, detail);
    let connector = params.connector.as_deref().ok_or_else(|| {
        invalid("name the connector: ?connector=… (a bulk retry or drop is per connector)".into())
    })?;
    admin.connector(connector)?;
    let state = match params.state.as_deref() {
        None => DeliveryState::Failed,
        Some(text) => DeliveryState::parse(text)
            .filter(|s| allowed.contains(s))
            .ok_or_else(|| {
                let known: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                invalid(format!(
                    "state \"{text}\" cannot be settled this way; use one of: {}",
                    known.join(", ")
                ))
            })?,
    };
    let kind = params
        .resource_type
        .as_deref()
        .map(|text| {
            ResourceKind::from_name(text).ok_or_else(|| {
                invalid(format!(
                    "resourceType \"{text}\" is unknown; use User or Group"
                ))
            })
        })
        .transpose()?;
    let wanted = params.count.unwrap_or(MAX_SETTLED).clamp(1, MAX_SETTLED);
    let mut seqs = Vec::new();
    let mut before = None;
    loop {
        let page = admin
            .state
            .store
            .queue_list(QueueFilter {
                connector: Some(connector),
                state: Some(state),
                before_seq: before,
                limit: MAX_PAGE,
            })
            .await?;
        for delivery in page.iter().filter(|d| params.matches(d, kind)) {
            if seqs.len() == wanted {
                seqs.reverse();
                return Ok((seqs, true));
            }
            seqs.push(delivery.entry.seq);
        }
        match page.last() {
            Some(last) if page.len() == MAX_PAGE => before = Some(last.entry.seq),
            _ => break,
        }
    }
    seqs.reverse();
    Ok((seqs, false))
}

/// Settles each of `seqs` with `settle`; an entry another operator or worker settled meanwhile
/// is counted as skipped.
async fn settle_all<F, Fut>(seqs: &[i64], settle: F) -> Result<(usize, usize), ApiError>
where
    F: Fn(i64) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let (mut settled, mut skipped) = (0, 0);
    for &seq in seqs {
        match settle(seq).await {
            Ok(()) => settled += 1,
            Err(StoreError::NoSuchEntry(_)) => skipped += 1,
            Err(other) => return Err(other.into()),
        }
    }
    Ok((settled, skipped))
}

/// `POST /admin/queue/retry?connector=&resourceType=&id=&error=&count=`: the failed
/// deliveries of a connector that match are attempted again, now (at most 1000 a request).
pub async fn retry_all(
    admin: Admin,
    params: web::Query<SettleParams>,
) -> Result<HttpResponse, ApiError> {
    let (seqs, more) = settle_targets(&admin, &params, &[DeliveryState::Failed]).await?;
    let store = &admin.state.store;
    let (retried, skipped) = settle_all(&seqs, |seq| store.queue_retry(seq)).await?;
    admin.state.queue.wake();
    tracing::info!(
        connector = params.connector.as_deref(),
        retried,
        skipped,
        "an operator retried deliveries"
    );
    Ok(HttpResponse::Ok().json(json!({"retried": retried, "skipped": skipped, "more": more})))
}

/// `POST /admin/queue/drop?connector=&state=failed|queued&resourceType=&id=&error=&count=`:
/// the matching deliveries of a connector are given up (failed ones unless `state` says
/// queued); the later writes of their resources go ahead.
pub async fn drop_all(
    admin: Admin,
    params: web::Query<SettleParams>,
) -> Result<HttpResponse, ApiError> {
    let allowed = [DeliveryState::Failed, DeliveryState::Queued];
    let (seqs, more) = settle_targets(&admin, &params, &allowed).await?;
    let store = &admin.state.store;
    let (dropped, skipped) = settle_all(&seqs, |seq| store.queue_drop(seq)).await?;
    admin.state.queue.wake();
    tracing::info!(
        connector = params.connector.as_deref(),
        dropped,
        skipped,
        "an operator dropped deliveries"
    );
    Ok(HttpResponse::Ok().json(json!({"dropped": dropped, "skipped": skipped, "more": more})))
}

fn guard_of<'a>(admin: &'a Admin, name: &str) -> Result<&'a crate::guard::DeletionGuard, ApiError> {
    admin.connector(name)?.deletion_guard.as_ref().ok_or_else(|| {
        ApiError::not_found(format!(
            "connector \"{name}\" has no deletion guard: give it a [connectors.{name}.deletion_guard] table"
        ))
    })
}

/// `GET /admin/connectors/{name}/guard`: the deletion guard's state and what it holds.
pub async fn guard(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(guard_of(&admin, &name)?.status()))
}

/// How many held removals an operator allows, or for how long.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowParams {
    count: Option<u32>,
    minutes: Option<u64>,
}

/// `POST /admin/connectors/{name}/guard/allow?count=N` or `?minutes=M`: the next N removals
/// pass, or every one for M minutes.
pub async fn guard_allow(
    admin: Admin,
    name: web::Path<String>,
    params: web::Query<AllowParams>,
) -> Result<HttpResponse, ApiError> {
    let guard = guard_of(&admin, &name)?;
    if params.count.unwrap_or(0) == 0 && params.minutes.unwrap_or(0) == 0 {
        return Err(ApiError::bad_request(
            ScimType::InvalidValue,
            "say how many removals to allow (?count=N) or for how long (?minutes=M)",
        ));
    }
    guard.allow(params.count, params.minutes);
    Ok(HttpResponse::Ok().json(guard.status()))
}

/// `POST /admin/connectors/{name}/guard/reset`: the guard counts afresh, and what it held is
/// forgotten (the identity provider retries it, and it counts anew).
pub async fn guard_reset(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let guard = guard_of(&admin, &name)?;
    guard.reset();
    Ok(HttpResponse::Ok().json(guard.status()))
}

fn drift_json(drift: &Drift) -> Value {
    match drift {
        Drift::MissingAtVendor { kind, id, name } => json!({
            "drift": "missingAtVendor", "resourceType": kind.as_str(), "id": id, "name": name,
        }),
        Drift::OnlyAtVendor {
            kind,
            name,
            imported_as,
        } => json!({
            "drift": "onlyAtVendor", "resourceType": kind.as_str(), "name": name,
            "importedAs": imported_as,
        }),
        Drift::Differs {
            kind,
            id,
            name,
            differences,
        } => json!({
            "drift": "differs", "resourceType": kind.as_str(), "id": id, "name": name,
            "differences": differences,
        }),
    }
}

fn summary_json(at: time::OffsetDateTime, report: &Report) -> Value {
    json!({
        "finished": rfc3339(at),
        "stored": report.stored,
        "atVendor": report.at_vendor,
        "inSync": report.in_sync,
        "unresolved": report.unresolved(),
    })
}

fn report_json(at: time::OffsetDateTime, report: &Report) -> Value {
    let mut body = summary_json(at, report);
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "drift".into(),
            report
                .drift
                .iter()
                .map(drift_json)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    body
}

/// `POST /admin/connectors/{name}/reconcile`: compares the store with the vendor now (no
/// import; `scim-bridge reconcile --import` does that) and keeps the report.
pub async fn reconcile(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let runtime = admin.connector(&name)?;
    let report = crate::reconcile::reconcile(&admin.state, &runtime.name, false, &Quiet)
        .await
        .map_err(|e| match e {
            // Not a failure of the server: this connector has no vendor accounts to list.
            ReconcileError::Vendor(ConnectorError::Unsupported(reason)) => ApiError::new(
                scim::ScimError::new(409, None, format!("nothing to reconcile: {reason}")),
            ),
            ReconcileError::Vendor(e) => ApiError::from(e),
            ReconcileError::Store(e) => ApiError::from(e),
            other => ApiError::status(500, other.to_string()),
        })?;
    let at = time::OffsetDateTime::now_utc();
    let body = report_json(at, &report);
    admin
        .state
        .reconciliations
        .lock()
        .await
        .insert(runtime.name.clone(), (at, report));
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /admin/connectors/{name}/reconcile`: the last report this process made.
pub async fn last_reconciliation(
    admin: Admin,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let runtime = admin.connector(&name)?;
    let reconciled = admin.state.reconciliations.lock().await;
    let (at, report) = reconciled.get(&runtime.name).ok_or_else(|| {
        ApiError::not_found(format!(
            "connector \"{}\" has not been reconciled since this process started; POST to this URL to run one",
            runtime.name
        ))
    })?;
    Ok(HttpResponse::Ok().json(report_json(*at, report)))
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
            .route("/connectors", web::get().to(connectors))
            .route("/connectors/{name}", web::get().to(connector))
            .route("/connectors/{name}/reconcile", web::post().to(reconcile))
            .route(
                "/connectors/{name}/reconcile",
                web::get().to(last_reconciliation),
            )
            .route("/connectors/{name}/guard", web::get().to(guard))
            .route("/connectors/{name}/guard/allow", web::post().to(guard_allow))
            .route("/connectors/{name}/guard/reset", web::post().to(guard_reset))
            .route("/journal", web::get().to(journal))
            .route("/history", web::get().to(super::history::history))
            .route("/queue", web::get().to(queue))
            .route("/queue/retry", web::post().to(retry_all))
            .route("/queue/drop", web::post().to(drop_all))
            .route("/queue/{seq}/retry", web::post().to(retry))
            .route("/queue/{seq}/drop", web::post().to(drop))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::not_found(
                    "no such admin endpoint; see /admin/connectors, /admin/journal and /admin/queue",
                ))
            })),
    );
}
