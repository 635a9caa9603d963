//! The deletion guards on SQLite ([`crate::guard`]). A decision is a write like any other: the
//! writer thread runs it in its group (see [`crate::sqlite::writer`]), on its own connection,
//! where the write lock is held already. It therefore waits for no lock, and a mass removal's
//! decisions share the group's one fsync with its journal entries.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use scim::ResourceKind;
use time::OffsetDateTime;

use crate::guard::{
    self, CLEAR, GuardRow, GuardTx, HELD, HOLD, HeldColumns, RELEASE, ROW, Removal, RowColumns,
    SAVE, TAKE,
};
use crate::sqlite::reader::{Readers, in_snapshot};
use crate::sqlite::write_tx::{WriterTx, run_now};
use crate::{Admission, GuardRule, GuardState, StoreError};

/// A decision for the writer to run, owning what it borrows so that it can cross to the
/// writer's thread.
pub(crate) struct Ask {
    connector: String,
    kind: ResourceKind,
    id: String,
    name: Option<String>,
    what: String,
    request_id: Option<String>,
    rule: GuardRule,
    now: OffsetDateTime,
}

impl Ask {
    pub(crate) fn new(
        connector: &str,
        removal: Removal<'_>,
        rule: GuardRule,
        now: OffsetDateTime,
    ) -> Ask {
        Ask {
            connector: connector.to_owned(),
            kind: removal.kind,
            id: removal.id.to_owned(),
            name: removal.name.map(str::to_owned),
            what: removal.what.to_owned(),
            request_id: removal.request_id.map(str::to_owned),
            rule,
            now,
        }
    }

    pub(crate) fn run(self, tx: &mut WriterTx<'_>) -> Result<Admission, StoreError> {
        let removal = Removal {
            kind: self.kind,
            id: &self.id,
            name: self.name.as_deref(),
            what: &self.what,
            request_id: self.request_id.as_deref(),
        };
        run_now(guard::admit(
            tx,
            &self.connector,
            &removal,
            self.rule,
            self.now,
        ))
    }
}

/// An operator's order to a connector's guard, for the writer to run.
pub(crate) enum Order {
    Allow {
        count: u32,
        until: Option<OffsetDateTime>,
    },
    Reset,
}

impl Order {
    pub(crate) fn run(self, tx: &mut WriterTx<'_>, connector: &str) -> Result<(), StoreError> {
        match self {
            Order::Allow { count, until } => run_now(guard::allow(tx, connector, count, until)),
            Order::Reset => run_now(tx.clear(connector)),
        }
    }
}

#[async_trait]
impl GuardTx for WriterTx<'_> {
    async fn take(&mut self, connector: &str) -> Result<GuardRow, StoreError> {
        let columns = self
            .0
            .prepare_cached(TAKE.sqlite)?
            .query_row([connector], row_columns)?;
        GuardRow::from_columns(columns)
    }

    async fn save(&mut self, connector: &str, row: &GuardRow) -> Result<(), StoreError> {
        self.execute(
            SAVE.sqlite,
            params![
                connector,
                row.tripped_since,
                row.allowed_count,
                row.allowed_until,
                row.recent_text()?,
                row.held
            ],
        )?;
        Ok(())
    }

    async fn hold(
        &mut self,
        connector: &str,
        removal: &Removal<'_>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let inserted = self.execute(
            HOLD.sqlite,
            params![
                connector,
                removal.kind.as_str(),
                removal.id,
                at,
                removal.name,
                removal.what,
                removal.request_id
            ],
        )?;
        Ok(inserted == 1)
    }

    async fn release(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self.execute(RELEASE.sqlite, params![connector, kind.as_str(), id])?;
        Ok(deleted == 1)
    }

    async fn clear(&mut self, connector: &str) -> Result<(), StoreError> {
        for statement in CLEAR {
            self.execute(statement.sqlite, [connector])?;
        }
        Ok(())
    }
}

/// The guard's state, read on one of the store's read connections, in one snapshot (the
/// row's count and the list agree).
pub(crate) fn state(
    readers: &Readers,
    connector: &str,
    window: std::time::Duration,
    now: OffsetDateTime,
    shown: usize,
) -> Result<GuardState, StoreError> {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    let (row, held) = readers.read(|conn| {
        in_snapshot(conn, true, |conn| {
            let row = conn
                .prepare_cached(ROW.sqlite)?
                .query_row([connector], row_columns)
                .optional()?;
            let held = conn
                .prepare_cached(HELD.sqlite)?
                .query_map(params![connector, shown], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect::<Result<Vec<HeldColumns>, _>>()?;
            Ok((row, held))
        })
    })?;
    guard::state_of(row, held, window, now)
}

/// A row of the `TAKE` or `ROW` statement.
fn row_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}
