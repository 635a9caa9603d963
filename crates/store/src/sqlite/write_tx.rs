//! The statements of a write on SQLite, on the writer's own connection (see
//! [`crate::sqlite::writer`]): [`WriteTx`] for the shared commit algorithm, and the journal and
//! outbox rows the writer adds around it.
//!
//! rusqlite, not sqlx: a statement here runs on the calling thread (the writer's), where sqlx
//! would hand every statement and row to its connection's thread and back. A create is about
//! ten statements, so the writer spent most of its time in those crossings; here each is a few
//! microseconds of SQLite. Prepared statements stay cached on the connection.
//!
//! The trait is async because PostgreSQL's statements are; these complete without waiting, so
//! the writer runs them with [`run_now`].

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use scim::ResourceKind;
use scim::members::Member;

use crate::codec::{self, timestamp_text};
use crate::keys::IndexKeys;
use crate::queue::prune_sql;
use crate::sql::{BY_ID, journal_columns};
use crate::sqlite::reader;
use crate::tx::{Fetched, WriteTx};
use crate::{JournalEntry, JournalState, NewJournalEntry, Pruned, StoreError, StoredResource};

/// Statements kept prepared on the writer's connection: the dozen or so a write uses.
pub(crate) const STATEMENT_CACHE: usize = 32;

/// An open write transaction on the writer's connection (begun and ended by the writer).
pub(crate) struct WriterTx<'c>(pub(crate) &'c mut Connection);

impl WriterTx<'_> {
    /// Runs one statement that returns no rows; how many rows it changed.
    pub(crate) fn execute(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, StoreError> {
        Ok(self.0.prepare_cached(sql)?.execute(params)?)
    }

    /// The first column of every row.
    fn column<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.0.prepare_cached(sql)?;
        let rows = statement.query_map(params, |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Drives a future that never waits (every statement above completes at once) to its end on
/// this thread. One that did wait would be a bug; it is reported, not spun on.
pub(crate) fn run_now<T>(
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(StoreError::Backend(
            "a SQLite write waited for something; the writer cannot wait".into(),
        )),
    }
}

/// A failed insert or update of a resource row: the unique index on `unique_key` taken is the
/// client's uniqueness error (SQLite names the columns in its message); anything else is the
/// database's.
fn write_error(error: rusqlite::Error, kind: ResourceKind, keys: &IndexKeys) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, Some(message)) = &error
        && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        && message.contains("unique_key")
    {
        return keys.uniqueness_error(kind);
    }
    StoreError::from(error)
}

/// A journal entry from the columns of `journal_columns!()`, in that order.
fn journal_entry(row: &Row<'_>) -> Result<JournalEntry, StoreError> {
    let text = |i: usize| -> Result<&str, StoreError> {
        Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
    };
    let before: Option<&str> = row
        .get_ref(4)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?;
    let kind = codec::parse_kind(text(2)?)?;
    let (change, before) = codec::parse_journalled(kind, text(3)?, before)?;
    Ok(JournalEntry {
        seq: row.get(0)?,
        connector: row.get(1)?,
        kind,
        change,
        before,
        state: codec::parse_state(text(5)?)?,
        attempts: row.get(6)?,
        last_error: row.get(7)?,
        request_id: row.get(8)?,
        created: codec::parse_timestamp(text(9)?)?,
    })
}

#[async_trait]
impl WriteTx for WriterTx<'_> {
    async fn pending_entry(&mut self, seq: i64) -> Result<Option<JournalEntry>, StoreError> {
        let mut statement = self.0.prepare_cached(concat!(
            "SELECT ",
            journal_columns!(),
            " FROM journal WHERE seq = ?1 AND state = 'pending'"
        ))?;
        let mut rows = statement.query([seq])?;
        rows.next()?.map(journal_entry).transpose()
    }

    async fn mark_committed(&mut self, seq: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE journal SET state = 'committed', attempts = attempts + 1, updated = ?2 \
             WHERE seq = ?1",
            params![seq, timestamp_text(codec::now())],
        )?;
        Ok(())
    }

    async fn current(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Fetched>, StoreError> {
        // The write transaction began IMMEDIATE: no other writer runs until it ends.
        reader::fetch_optional(self.0, BY_ID.sqlite, (connector, kind.as_str(), id), kind)
    }

    async fn insert(
        &mut self,
        connector: &str,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<i64, StoreError> {
        let mut statement = self.0.prepare_cached(
            "INSERT INTO resources (connector, kind, id, version, created, last_modified, \
             attributes, vendor_keys, unique_key, external_id, display_name, display_name_ci) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING seq",
        )?;
        statement
            .query_row(
                params![
                    connector,
                    resource.kind.as_str(),
                    resource.id,
                    resource.version,
                    timestamp_text(resource.created),
                    timestamp_text(resource.last_modified),
                    codec::json_text(&resource.attributes)?,
                    codec::json_text(&resource.vendor_keys)?,
                    keys.unique_key,
                    keys.external_id,
                    keys.display_name,
                    keys.display_name_ci,
                ],
                |row| row.get(0),
            )
            .map_err(|e| write_error(e, resource.kind, keys))
    }

    async fn update(
        &mut self,
        seq: i64,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE resources SET version = ?2, last_modified = ?3, attributes = ?4, \
                 vendor_keys = ?5, unique_key = ?6, external_id = ?7, display_name = ?8, \
                 display_name_ci = ?9 WHERE seq = ?1",
            )?
            .execute(params![
                seq,
                resource.version,
                timestamp_text(resource.last_modified),
                codec::json_text(&resource.attributes)?,
                codec::json_text(&resource.vendor_keys)?,
                keys.unique_key,
                keys.external_id,
                keys.display_name,
                keys.display_name_ci,
            ])
            .map_err(|e| write_error(e, resource.kind, keys))?;
        Ok(())
    }

    async fn delete(&mut self, seq: i64) -> Result<(), StoreError> {
        self.execute("DELETE FROM emails WHERE resource_seq = ?1", [seq])?;
        self.execute("DELETE FROM resources WHERE seq = ?1", [seq])?;
        Ok(())
    }

    async fn set_emails(
        &mut self,
        connector: &str,
        seq: i64,
        emails: &[String],
    ) -> Result<(), StoreError> {
        self.execute("DELETE FROM emails WHERE resource_seq = ?1", [seq])?;
        if !emails.is_empty() {
            self.execute(
                "INSERT OR IGNORE INTO emails (connector, email, resource_seq) \
                 SELECT ?1, value, ?2 FROM json_each(?3)",
                params![connector, seq, codec::json_text(&emails)?],
            )?;
        }
        Ok(())
    }

    async fn add_members(
        &mut self,
        connector: &str,
        group_id: &str,
        members: &[Member],
    ) -> Result<(), StoreError> {
        let rows: Vec<serde_json::Value> = members.iter().map(|m| m.to_json(None)).collect();
        // `WHERE true`: SQLite's documented way to tell an upsert's ON CONFLICT from a join.
        self.execute(
            "INSERT INTO memberships (connector, group_id, member_id, member_type, display) \
             SELECT ?1, ?2, json_extract(value, '$.value'), json_extract(value, '$.type'), \
             json_extract(value, '$.display') FROM json_each(?3) WHERE true \
             ON CONFLICT (connector, group_id, member_id) DO UPDATE SET \
             member_type = excluded.member_type, \
             display = coalesce(excluded.display, memberships.display)",
            params![connector, group_id, codec::json_text(&rows)?],
        )?;
        Ok(())
    }

    async fn clear_members(&mut self, connector: &str, group_id: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM memberships WHERE connector = ?1 AND group_id = ?2",
            (connector, group_id),
        )?;
        Ok(())
    }

    async fn remove_members(
        &mut self,
        connector: &str,
        group_id: &str,
        member_ids: &[String],
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM memberships WHERE connector = ?1 AND group_id = ?2 \
             AND member_id IN (SELECT value FROM json_each(?3))",
            params![connector, group_id, codec::json_text(&member_ids)?],
        )?;
        Ok(())
    }

    async fn groups_listing(
        &mut self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.column(
            "SELECT group_id FROM memberships WHERE connector = ?1 AND member_id = ?2 \
             ORDER BY group_id",
            (connector, member_id),
        )
    }

    async fn add_to_count(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        delta: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO counters (connector, kind, total, generation) VALUES (?1, ?2, ?3, 1) \
             ON CONFLICT (connector, kind) DO UPDATE \
             SET total = total + excluded.total, generation = generation + 1",
            params![connector, kind.as_str(), delta],
        )?;
        Ok(())
    }
}

/// Appends a journal entry, pending; returns its sequence number.
pub(crate) fn append(tx: &WriterTx<'_>, entry: &NewJournalEntry) -> Result<i64, StoreError> {
    append_as(tx, entry, JournalState::Pending)
}

/// Appends a journal entry already committed: its change is applied in the same transaction
/// (what [`crate::commit::commit`] would record, without reading the entry back).
pub(crate) fn append_committed(
    tx: &WriterTx<'_>,
    entry: &NewJournalEntry,
) -> Result<i64, StoreError> {
    append_as(tx, entry, JournalState::Committed)
}

fn append_as(
    tx: &WriterTx<'_>,
    entry: &NewJournalEntry,
    state: JournalState,
) -> Result<i64, StoreError> {
    let before = entry
        .before
        .as_ref()
        .map(|r| codec::json_text(&codec::resource_json(r)))
        .transpose()?;
    // A committed entry counts its one attempt, as `mark_committed` would.
    let attempts = i64::from(state == JournalState::Committed);
    let mut statement = tx.0.prepare_cached(
        "INSERT INTO journal (connector, kind, resource_id, operation, change, \
         before_resource, request_id, created, updated, state, attempts) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10) RETURNING seq",
    )?;
    Ok(statement.query_row(
        params![
            entry.connector,
            entry.kind.as_str(),
            entry.change.id(),
            entry.change.operation().as_str(),
            codec::json_text(&codec::change_json(&entry.change))?,
            before,
            entry.request_id,
            timestamp_text(codec::now()),
            state.as_str(),
            attempts,
        ],
        |row| row.get(0),
    )?)
}

/// Marks a pending journal entry failed.
pub(crate) fn fail(tx: &WriterTx<'_>, seq: i64, reason: &str) -> Result<(), StoreError> {
    let done = tx.execute(
        "UPDATE journal SET state = 'failed', last_error = ?2, attempts = attempts + 1, \
         updated = ?3 WHERE seq = ?1 AND state = 'pending'",
        params![seq, reason, timestamp_text(codec::now())],
    )?;
    if done == 0 {
        return Err(StoreError::NoSuchEntry(seq));
    }
    Ok(())
}

/// Queues the delivery of journal entry `seq`, due at once.
pub(crate) fn enqueue(
    tx: &WriterTx<'_>,
    seq: i64,
    entry: &NewJournalEntry,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (seq, connector, kind, resource_id, next_attempt, created, updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)",
        params![
            seq,
            entry.connector,
            entry.kind.as_str(),
            entry.change.id(),
            timestamp_text(codec::now())
        ],
    )?;
    Ok(())
}

/// One batch of [`crate::Store::prune`]: at most `batch` deliveries and `batch` journal
/// entries journalled before `older_than` (a stored timestamp). The trail is pruned in its own
/// file (see [`crate::sqlite::trail`]).
pub(crate) fn prune_batch(
    tx: &WriterTx<'_>,
    older_than: &str,
    batch: i64,
) -> Result<Pruned, StoreError> {
    let cut: Option<i64> =
        tx.0.prepare_cached(prune_sql!(cut, "?1"))?
            .query_row([older_than], |row| row.get(0))
            .optional()?;
    // No entry is young enough: every one is old.
    let cut = cut.unwrap_or(i64::MAX);
    let deliveries = tx.execute(
        prune_sql!(deliveries, "?1", "?2", "?3"),
        params![cut, older_than, batch],
    )?;
    let journal = tx.execute(
        prune_sql!(journal, "?1", "?2", "?3"),
        params![cut, older_than, batch],
    )?;
    Ok(Pruned {
        deliveries: u64::try_from(deliveries).unwrap_or(0),
        journal: u64::try_from(journal).unwrap_or(0),
        trail: 0,
    })
}
