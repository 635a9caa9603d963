//! The deletion guards on PostgreSQL ([`crate::guard`]), decided by every replica at once. A
//! decision is one transaction that first locks the connector's row (the upsert of `TAKE`), so
//! replicas deciding at the same moment take turns; nothing else waits for it.

use async_trait::async_trait;
use scim::ResourceKind;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::PgTx;
use crate::guard::{
    self, CLEAR, GuardRow, GuardTx, HELD, HOLD, HeldColumns, RELEASE, ROW, Removal, RowColumns,
    SAVE, TAKE,
};
use crate::{Admission, GuardRule, GuardState, StoreError};

#[async_trait]
impl GuardTx for PgTx {
    async fn take(&mut self, connector: &str) -> Result<GuardRow, StoreError> {
        let columns: RowColumns = sqlx::query_as(TAKE.postgres)
            .bind(connector)
            .fetch_one(&mut *self.0)
            .await?;
        GuardRow::from_columns(columns)
    }

    async fn save(&mut self, connector: &str, row: &GuardRow) -> Result<(), StoreError> {
        sqlx::query(SAVE.postgres)
            .bind(connector)
            .bind(row.tripped_since)
            .bind(row.allowed_count)
            .bind(row.allowed_until)
            .bind(row.recent_text()?)
            .bind(row.held)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn hold(
        &mut self,
        connector: &str,
        removal: &Removal<'_>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(HOLD.postgres)
            .bind(connector)
            .bind(removal.kind.as_str())
            .bind(removal.id)
            .bind(at)
            .bind(removal.name)
            .bind(removal.what)
            .bind(removal.request_id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RELEASE.postgres)
            .bind(connector)
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn clear(&mut self, connector: &str) -> Result<(), StoreError> {
        for statement in CLEAR {
            sqlx::query(statement.postgres)
                .bind(connector)
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }
}

/// Runs `step` in a transaction of its own, committed when it succeeds.
async fn in_tx<T>(
    pool: &PgPool,
    step: impl AsyncFnOnce(&mut PgTx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = PgTx(pool.begin().await?);
    let outcome = step(&mut tx).await?;
    tx.0.commit().await?;
    Ok(outcome)
}

pub(crate) async fn admit(
    pool: &PgPool,
    connector: &str,
    removal: Removal<'_>,
    rule: GuardRule,
    now: OffsetDateTime,
) -> Result<Admission, StoreError> {
    in_tx(pool, async |tx| {
        guard::admit(tx, connector, &removal, rule, now).await
    })
    .await
}

pub(crate) async fn allow(
    pool: &PgPool,
    connector: &str,
    count: u32,
    until: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    in_tx(pool, async |tx| {
        guard::allow(tx, connector, count, until).await
    })
    .await
}

pub(crate) async fn reset(pool: &PgPool, connector: &str) -> Result<(), StoreError> {
    in_tx(pool, async |tx| tx.clear(connector).await).await
}

/// The guard's state, in one snapshot (the row's count and the list agree).
pub(crate) async fn state(
    pool: &PgPool,
    connector: &str,
    window: std::time::Duration,
    now: OffsetDateTime,
    shown: usize,
) -> Result<GuardState, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let row: Option<RowColumns> = sqlx::query_as(ROW.postgres)
        .bind(connector)
        .fetch_optional(&mut *tx)
        .await?;
    let held: Vec<HeldColumns> = sqlx::query_as(HELD.postgres)
        .bind(connector)
        .bind(i64::try_from(shown).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    guard::state_of(row, held, window, now)
}
