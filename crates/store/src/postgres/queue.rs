//! The delivery queue on PostgreSQL, worked by every replica at once. A claim locks the rows it
//! takes with `FOR UPDATE SKIP LOCKED`, so two replicas never take the same entry and neither
//! waits for the other; a lease (`lease_until`) lets another replica take over the entries of
//! one that died. Times come from the database's clock (`now()`).

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Row};
use time::OffsetDateTime;

use crate::codec;
use crate::queue::{DELIVERY_SELECT, DeliveryColumns, delivery, millis, prune_sql};
use crate::{
    Claim, Delivery, DeliveryOutcome, NewJournalEntry, Pruned, QueueFilter, QueueStats, StoreError,
};

fn delivery_row(row: &PgRow) -> Result<Delivery, StoreError> {
    delivery(
        super::rows::journal_entry(row)?,
        DeliveryColumns {
            state: row.try_get("delivery_state")?,
            attempts: row.try_get("delivery_attempts")?,
            next_attempt: row.try_get("next_attempt")?,
            last_error: row.try_get("delivery_error")?,
            delivered_keys: row.try_get("delivered_keys")?,
        },
    )
}

/// Queues the delivery of journal entry `seq` inside the caller's transaction.
pub(crate) async fn enqueue_in(
    conn: &mut PgConnection,
    seq: i64,
    entry: &NewJournalEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (seq, connector, kind, resource_id, next_attempt, created, updated) \
         VALUES ($1, $2, $3, $4, now(), $5, $5)",
    )
    .bind(seq)
    .bind(&entry.connector)
    .bind(entry.kind.as_str())
    .bind(entry.change.id())
    .bind(codec::now())
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn claim(pool: &PgPool, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError> {
    let mut tx = pool.begin().await?;
    // A row another replica is claiming right now is skipped, not waited for; one it claimed
    // and committed is re-checked against the lease condition and left out.
    let seqs: Vec<i64> = sqlx::query_scalar(
        "WITH due AS ( \
           SELECT o.seq FROM outbox o \
           WHERE o.state = 'queued' AND o.next_attempt <= now() \
             AND (o.lease_until IS NULL OR o.lease_until < now()) \
             AND o.connector = ANY($3) \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.connector = o.connector \
               AND p.kind = o.kind AND p.resource_id = o.resource_id AND p.seq < o.seq \
               AND p.state IN ('queued', 'failed')) \
           ORDER BY o.seq LIMIT $4 \
           FOR UPDATE SKIP LOCKED) \
         UPDATE outbox SET lease_owner = $1, \
           lease_until = now() + $2 * interval '1 millisecond', updated = now() \
         FROM due WHERE outbox.seq = due.seq RETURNING outbox.seq",
    )
    .bind(claim.owner)
    .bind(millis(claim.lease))
    .bind(claim.connectors)
    .bind(i64::try_from(claim.limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    if seqs.is_empty() {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let sql = format!("{DELIVERY_SELECT} WHERE o.seq = ANY($1) ORDER BY o.seq");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&seqs)
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
    pool: &PgPool,
    seq: i64,
    owner: &str,
    outcome: DeliveryOutcome,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let (state, retry_in, error, keys) = match &outcome {
        DeliveryOutcome::Delivered(keys) => {
            ("delivered", None, None, Some(codec::json_text(keys)?))
        }
        DeliveryOutcome::RetryIn(after, reason) => {
            ("queued", Some(millis(*after)), Some(reason.as_str()), None)
        }
        DeliveryOutcome::Failed(reason) => ("failed", None, Some(reason.as_str()), None),
    };
    let done = sqlx::query(
        "UPDATE outbox SET state = $3, attempts = attempts + 1, \
         next_attempt = COALESCE(now() + $4 * interval '1 millisecond', next_attempt), \
         last_error = $5, vendor_keys = $6, lease_owner = NULL, lease_until = NULL, \
         updated = now() \
         WHERE seq = $1 AND lease_owner = $2 AND state = 'queued'",
    )
    .bind(seq)
    .bind(owner)
    .bind(state)
    .bind(retry_in)
    .bind(error)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    if let Some(keys) = keys {
        // The resource's keys follow the vendor, without a new version: nothing SCIM shows moved.
        sqlx::query(
            "UPDATE resources r SET vendor_keys = $2 FROM outbox o \
             WHERE o.seq = $1 AND r.connector = o.connector AND r.kind = o.kind \
             AND r.id = o.resource_id",
        )
        .bind(seq)
        .bind(keys)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn release(pool: &PgPool, owner: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = $1 AND state = 'queued'",
    )
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn list(
    pool: &PgPool,
    filter: QueueFilter<'_>,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "{DELIVERY_SELECT} WHERE ($1::text IS NULL OR o.connector = $1) \
         AND ($2::text IS NULL OR o.state = $2) AND ($3::bigint IS NULL OR o.seq < $3) \
         ORDER BY o.seq DESC LIMIT $4"
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

pub(crate) async fn retry(pool: &PgPool, seq: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt = now(), updated = now() \
         WHERE seq = $1 AND state = 'failed'",
    )
    .bind(seq)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    Ok(())
}

pub(crate) async fn drop_entry(pool: &PgPool, seq: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'dropped', lease_owner = NULL, lease_until = NULL, \
         updated = now() \
         WHERE seq = $1 AND (state = 'failed' \
           OR (state = 'queued' AND (lease_until IS NULL OR lease_until < now())))",
    )
    .bind(seq)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    Ok(())
}

pub(crate) async fn stats(pool: &PgPool) -> Result<Vec<QueueStats>, StoreError> {
    let rows: Vec<(String, i64, i64, Option<OffsetDateTime>)> = sqlx::query_as(
        "SELECT connector, count(*) FILTER (WHERE state = 'queued'), \
         count(*) FILTER (WHERE state = 'failed'), min(created) FILTER (WHERE state = 'queued') \
         FROM outbox WHERE state IN ('queued', 'failed') GROUP BY connector ORDER BY connector",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(connector, queued, failed, oldest_queued)| QueueStats {
            connector,
            queued: u64::try_from(queued).unwrap_or(0),
            failed: u64::try_from(failed).unwrap_or(0),
            oldest_queued,
        })
        .collect())
}

/// [`crate::Store::prune`]: each batch is a statement of its own (one short transaction).
pub(crate) async fn prune(
    pool: &PgPool,
    older_than: OffsetDateTime,
    batch: usize,
) -> Result<Pruned, StoreError> {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let cut: Option<i64> = sqlx::query_scalar(prune_sql!(cut, "$1"))
        .bind(older_than)
        .fetch_optional(pool)
        .await?;
    // No entry is young enough: every one is old.
    let cut = cut.unwrap_or(i64::MAX);
    // Each delete binds the cut, the horizon and the batch size as $1, $2, $3.
    let delete = |sql: &'static str| async move {
        Ok::<_, StoreError>(
            sqlx::query(sql)
                .bind(cut)
                .bind(older_than)
                .bind(batch)
                .execute(pool)
                .await?
                .rows_affected(),
        )
    };
    let trail_cut: Option<i64> = sqlx::query_scalar(prune_sql!(trail_cut, "$1"))
        .bind(older_than)
        .fetch_optional(pool)
        .await?;
    let trail_cut = trail_cut.unwrap_or(i64::MAX);
    Pruned::until_done(|| async move {
        let deliveries = delete(prune_sql!(deliveries, "$1", "$2", "$3")).await?;
        let journal = delete(prune_sql!(journal, "$1", "$2", "$3")).await?;
        let trail = sqlx::query(prune_sql!(trail, "journal", "$1", "$2", "$3"))
            .bind(trail_cut)
            .bind(older_than)
            .bind(batch)
            .execute(pool)
            .await?
            .rows_affected();
        Ok(Pruned {
            deliveries,
            journal,
            trail,
        })
    })
    .await
}
