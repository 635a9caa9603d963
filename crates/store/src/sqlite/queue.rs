//! The delivery queue on SQLite. One process owns a SQLite file, so the plain `UPDATE … WHERE
//! seq IN (SELECT …)` under the write lock (`BEGIN IMMEDIATE`) is the whole claim; times are
//! this process's clock.

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use super::rows::{journal_entry, json_list};
use crate::codec::{self, parse_timestamp, timestamp_text};
use crate::queue::{DELIVERY_SELECT, DeliveryColumns, delivery};
use crate::{Claim, Delivery, DeliveryOutcome, QueueFilter, QueueStats, StoreError};

fn delivery_row(row: &SqliteRow) -> Result<Delivery, StoreError> {
    delivery(
        journal_entry(row)?,
        DeliveryColumns {
            state: row.try_get("delivery_state")?,
            attempts: row.try_get("delivery_attempts")?,
            next_attempt: parse_timestamp(row.try_get("next_attempt")?)?,
            last_error: row.try_get("delivery_error")?,
            delivered_keys: row.try_get("delivered_keys")?,
        },
    )
}

fn later(d: std::time::Duration) -> String {
    timestamp_text(codec::now() + d)
}

pub(crate) async fn claim(
    pool: &SqlitePool,
    claim: Claim<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    let now = timestamp_text(codec::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "UPDATE outbox SET lease_owner = ?1, lease_until = ?2, updated = ?3 WHERE seq IN ( \
           SELECT o.seq FROM outbox o \
           WHERE o.state = 'queued' AND o.next_attempt <= ?3 \
             AND (o.lease_until IS NULL OR o.lease_until < ?3) \
             AND o.connector IN (SELECT value FROM json_each(?4)) \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.connector = o.connector \
               AND p.kind = o.kind AND p.resource_id = o.resource_id AND p.seq < o.seq \
               AND p.state IN ('queued', 'failed')) \
           ORDER BY o.seq LIMIT ?5) \
         RETURNING seq",
    )
    .bind(claim.owner)
    .bind(later(claim.lease))
    .bind(&now)
    .bind(json_list(claim.connectors)?)
    .bind(i64::try_from(claim.limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    if seqs.is_empty() {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let sql = format!(
        "{DELIVERY_SELECT} WHERE o.seq IN (SELECT value FROM json_each(?1)) ORDER BY o.seq"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(json_list(&seqs)?)
        .fetch_all(&mut *tx)
        .await?;
    let claimed = rows
        .iter()
        .map(delivery_row)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await?;
    Ok(claimed)
}

pub(crate) async fn settle(
    pool: &SqlitePool,
    seq: i64,
    owner: &str,
    outcome: DeliveryOutcome,
) -> Result<(), StoreError> {
    let now = timestamp_text(codec::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let (state, next_attempt, error, keys) = match &outcome {
        DeliveryOutcome::Delivered(keys) => {
            ("delivered", None, None, Some(codec::json_text(keys)?))
        }
        DeliveryOutcome::RetryIn(after, reason) => {
            ("queued", Some(later(*after)), Some(reason.as_str()), None)
        }
        DeliveryOutcome::Failed(reason) => ("failed", None, Some(reason.as_str()), None),
    };
    let done = sqlx::query(
        "UPDATE outbox SET state = ?3, attempts = attempts + 1, \
         next_attempt = COALESCE(?4, next_attempt), last_error = ?5, vendor_keys = ?6, \
         lease_owner = NULL, lease_until = NULL, updated = ?7 \
         WHERE seq = ?1 AND lease_owner = ?2 AND state = 'queued'",
    )
    .bind(seq)
    .bind(owner)
    .bind(state)
    .bind(next_attempt)
    .bind(error)
    .bind(&keys)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    if let Some(keys) = keys {
        // The resource's keys follow the vendor, without a new version: nothing SCIM shows moved.
        sqlx::query(
            "UPDATE resources SET vendor_keys = ?2 WHERE (connector, kind, id) = \
             (SELECT connector, kind, resource_id FROM outbox WHERE seq = ?1)",
        )
        .bind(seq)
        .bind(keys)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn release(pool: &SqlitePool, owner: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = ?1 AND state = 'queued'",
    )
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn list(
    pool: &SqlitePool,
    filter: QueueFilter<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "{DELIVERY_SELECT} WHERE (?1 IS NULL OR o.connector = ?1) AND (?2 IS NULL OR o.state = ?2) \
         AND (?3 IS NULL OR o.seq < ?3) ORDER BY o.seq DESC LIMIT ?4"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(filter.connector)
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.before_seq)
        .bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    rows.iter().map(delivery_row).collect()
}

pub(crate) async fn retry(pool: &SqlitePool, seq: i64) -> Result<(), StoreError> {
    let now = timestamp_text(codec::now());
    let done = sqlx::query(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt = ?2, updated = ?2 \
         WHERE seq = ?1 AND state = 'failed'",
    )
    .bind(seq)
    .bind(now)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    Ok(())
}

pub(crate) async fn drop_entry(pool: &SqlitePool, seq: i64) -> Result<(), StoreError> {
    let now = timestamp_text(codec::now());
    let done = sqlx::query(
        "UPDATE outbox SET state = 'dropped', lease_owner = NULL, lease_until = NULL, updated = ?2 \
         WHERE seq = ?1 AND (state = 'failed' \
           OR (state = 'queued' AND (lease_until IS NULL OR lease_until < ?2)))",
    )
    .bind(seq)
    .bind(now)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    Ok(())
}

pub(crate) async fn stats(pool: &SqlitePool) -> Result<Vec<QueueStats>, StoreError> {
    let rows: Vec<(String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT connector, SUM(state = 'queued'), SUM(state = 'failed'), \
         MIN(CASE WHEN state = 'queued' THEN created END) \
         FROM outbox WHERE state IN ('queued', 'failed') GROUP BY connector ORDER BY connector",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(connector, queued, failed, oldest)| {
            Ok(QueueStats {
                connector,
                queued: u64::try_from(queued).unwrap_or(0),
                failed: u64::try_from(failed).unwrap_or(0),
                oldest_queued: oldest.as_deref().map(parse_timestamp).transpose()?,
            })
        })
        .collect()
}
