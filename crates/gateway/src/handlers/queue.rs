//! The admin API's delivery queue: the deliveries of queued connectors, newest first, and an
//! operator's retry or drop of one failed delivery, or of every one that matches.

use std::future::Future;
use std::ops::ControlFlow;

use actix_web::{HttpResponse, web};
use scim::{ResourceKind, ScimType};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Delivery, DeliveryState, QueueFilter, StoreError};

use super::admin::{Admin, ListParams, MAX_PAGE, entry_json, page_json, rfc3339};
use crate::error::ApiError;

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

/// `GET /admin/queue?connector=&state=queued|delivered|failed|dropped&before=&count=`: queued
/// deliveries, newest first.
pub async fn list(admin: Admin, params: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let state = params.state(DeliveryState::parse, "queued, delivered, failed, dropped")?;
    let limit = params.limit();
    let deliveries = admin
        .state()
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
        .state()
        .store
        .queue_retry(seq)
        .await
        .map_err(settled_elsewhere(seq, "retried"))?;
    admin.state().queue.wake();
    tracing::info!(seq, "an operator retried a delivery");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/queue/{seq}/drop`: a failed or waiting delivery is given up; the later writes
/// of its resource go ahead.
pub async fn drop(admin: Admin, seq: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let seq = parse_seq(&seq)?;
    admin
        .state()
        .store
        .queue_drop(seq)
        .await
        .map_err(settled_elsewhere(seq, "dropped"))?;
    admin.state().queue.wake();
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
    let mut more = false;
    let filter = QueueFilter {
        connector: Some(connector),
        state: Some(state),
        before_seq: None,
        limit: MAX_PAGE,
    };
    admin
        .state()
        .store
        .queue_each(filter, &mut |delivery| {
            if !params.matches(delivery, kind) {
                return ControlFlow::Continue(());
            }
            if seqs.len() == wanted {
                more = true;
                return ControlFlow::Break(());
            }
            seqs.push(delivery.entry.seq);
            ControlFlow::Continue(())
        })
        .await?;
    seqs.reverse();
    Ok((seqs, more))
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
    let store = &admin.state().store;
    let (retried, skipped) = settle_all(&seqs, |seq| store.queue_retry(seq)).await?;
    admin.state().queue.wake();
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
    let store = &admin.state().store;
    let (dropped, skipped) = settle_all(&seqs, |seq| store.queue_drop(seq)).await?;
    admin.state().queue.wake();
    tracing::info!(
        connector = params.connector.as_deref(),
        dropped,
        skipped,
        "an operator dropped deliveries"
    );
    Ok(HttpResponse::Ok().json(json!({"dropped": dropped, "skipped": skipped, "more": more})))
}
