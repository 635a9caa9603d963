//! The SQLite backend: one file in WAL mode, the embedded default. Writes go through one
//! writer thread ([`writer`], with [`write_tx`] and its checkpoints beside it in
//! [`checkpoint`]); point reads run on the caller's thread ([`reader`]); the delivery queue's
//! statements are in [`queue`]. The trail has a file and a writer of its own ([`trail`]).

mod checkpoint;
mod guard;
mod queue;
mod reader;
mod rows;
mod trail;
mod write_tx;
mod writer;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use scim::members::Member;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, Sqlite, Transaction};

use crate::anchors::Anchors;
use crate::codec::{self};
use crate::commit::Vendor;
use crate::list::NeededMembers;
use crate::plan::{self, Lookup, Plan, SqlOrder};
use crate::sql::{
    self, BY_ID, Dialect, GROUPS_OF, ID_BY_UNIQUE_KEY, JOURNAL_PENDING, KINDS_AMONG, MEMBERS,
    MEMBERS_AMONG, SCAN_AFTER, WITH_VENDOR_KEYS, journal_columns, resource_columns,
};
use crate::tx::{Counters, Fetched, ReadTx};
use crate::{
    Admission, Claim, Delivery, DeliveryOutcome, GuardRule, GuardState, Guards, HistoryFilter,
    Journal, JournalEntry, JournalFilter, ListQuery, Maintenance, NewJournalEntry, Outbox, Page,
    PagingStats, Pruned, QueueFilter, QueueStats, Removal, Resources, StoreError, StoredResource,
    StoredText, Trail, TrailRecord, list, migrations,
};
use checkpoint::WAL_LIMIT_PAGES;
use reader::Readers;
use rows::{all_fetched, journal_entry, json_list};
use trail::TrailFile;
use writer::Writer;

/// Connections of a file store: SQLite runs one writer at a time and readers beside it, and the
/// machine is small.
const MAX_CONNECTIONS: u32 = 4;
/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`sql::BY_ID`] and, as the last column, the Groups listing the resource as a JSON array of
/// `[id, displayName]` in insertion order (what [`sql::GROUPS_OF`] answers), in one statement.
const BY_ID_WITH_GROUPS: &str = concat!(
    "SELECT ",
    resource_columns!(),
    ", (SELECT json_group_array(json_array(g.id, g.display_name) ORDER BY g.seq) \
     FROM memberships m JOIN resources g \
     ON g.connector = m.connector AND g.kind = 'Group' AND g.id = m.group_id \
     WHERE m.connector = ?1 AND m.member_id = ?3) AS groups \
     FROM resources WHERE connector = ?1 AND kind = ?2 AND id = ?3"
);

/// The store on SQLite.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Every write goes through it (group commit, see [`crate::sqlite::writer`]).
    writer: Writer,
    /// Where the pages of walks in progress continue.
    anchors: Anchors,
    /// Point reads on the caller's thread (see [`crate::sqlite::reader`]).
    readers: Readers,
    /// The trail's own file, beside the store's (see [`crate::sqlite::trail`]).
    trail: TrailFile,
    /// The directory of a temporary store ([`SqliteStore::temporary`]), removed when the store
    /// is dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and the trail's file beside it
    /// ([`trail::path_beside`]), and applies the migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a journal entry the gateway was told is durable survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // The writer's checkpoint thread keeps the WAL short; the pool's connections (which
            // write only the queue's bookkeeping) checkpoint only if it has fallen far behind.
            .pragma("wal_autocheckpoint", WAL_LIMIT_PAGES.to_string());
        // Switching a new file to WAL takes an exclusive lock that `busy_timeout` cannot wait
        // for (sqlx documents this), so two processes creating one database race for it; the
        // loser retries briefly. Once the file is in WAL mode (a persistent setting) no retry
        // is needed.
        let mut attempt = 0;
        let pool = loop {
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .min_connections(1)
                // A connection to a local file does not go stale, and the ping sqlx would
                // send first is one more round trip to the connection's thread per statement.
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await;
            match pool {
                Err(e) if is_busy(&e) && attempt < OPEN_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(OPEN_RETRY_DELAY).await;
                }
                other => break other?,
            }
        };
        // Before the migrations: the one that drops the store's own trail table runs only once
        // the trail's file holds its records.
        let trail = TrailFile::open(path, BUSY_TIMEOUT).await?;
        migrate(&pool).await?;
        Ok(SqliteStore {
            trail,
            writer: Writer::start(path, BUSY_TIMEOUT)?,
            pool,
            anchors: Anchors::default(),
            readers: Readers::new(path, BUSY_TIMEOUT),
            _temporary: None,
        })
    }

    /// A private database that disappears with the store, for tests and trials
    /// (`sqlite::memory:`). It is a file in a temporary directory, not SQLite's `:memory:`: the
    /// writer, the readers and the pool each hold connections of their own, which an in-memory
    /// database could not share, and so it runs the same code as a file store.
    pub async fn temporary() -> Result<SqliteStore, StoreError> {
        let directory = tempfile::Builder::new()
            .prefix("scim-bridge-store-")
            .tempdir()
            .map_err(|e| StoreError::Backend(format!("cannot create a temporary store: {e}")))?;
        let mut store = SqliteStore::open(&directory.path().join("store.db")).await?;
        store._temporary = Some(directory);
        Ok(store)
    }

    /// How unfiltered pages in insertion order were read since the store was opened.
    pub fn paging_stats(&self) -> PagingStats {
        self.anchors.stats()
    }

    /// Writes resources known to exist at the vendor (an initial import, a measurement) as the
    /// commits of their creation would have, in one transaction, without journal entries. A
    /// taken id or unique key fails the whole load.
    pub async fn load(
        &self,
        connector: &str,
        resources: &[StoredResource],
    ) -> Result<(), StoreError> {
        self.writer.load(connector, resources.to_vec()).await
    }
}

/// How often, and how far apart, opening retries while another process switches a new file
/// to WAL (about 5 s in all, like the busy timeout); the trail's file ([`trail`]) likewise.
const OPEN_RETRIES: u32 = 50;
const OPEN_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// SQLITE_BUSY, in any of its extended forms (the low byte of the code is 5).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

/// Applies the migrations. sqlx takes no lock on SQLite, so two processes opening one new file
/// could both apply the first migration; inside an IMMEDIATE transaction the second waits,
/// then finds it applied (sqlx nests its own transactions as savepoints).
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    migrations::sqlite()
        .run_direct(None, &mut *tx, false)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A transaction on SQLite.
struct SqliteTx(Transaction<'static, Sqlite>);

#[async_trait]
impl ReadTx for SqliteTx {
    async fn counters(
        &mut self,
        connector: &str,
        kind: ResourceKind,
    ) -> Result<Counters, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT total, generation FROM counters WHERE connector = ?1 AND kind = ?2",
        )
        .bind(connector)
        .bind(kind.as_str())
        .fetch_optional(&mut *self.0)
        .await?;
        Ok(
            row.map_or_else(Counters::default, |(total, generation)| Counters {
                total: usize::try_from(total).unwrap_or(0),
                generation,
            }),
        )
    }

    async fn page(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        order: SqlOrder,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Fetched>, StoreError> {
        let sql = sql::page_by_offset(order, Dialect::Sqlite);
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(connector)
            .bind(kind.as_str())
            .bind(sql_count(limit))
            .bind(sql_count(offset))
            .fetch_all(&mut *self.0)
            .await?;
        all_fetched(&rows, kind)
    }

    async fn lookup(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        lookup: &Lookup,
    ) -> Result<Vec<Fetched>, StoreError> {
        let (sql, key) = sql::lookup(lookup, Dialect::Sqlite);
        let rows = sqlx::query(sql)
            .bind(connector)
            .bind(kind.as_str())
            .bind(key)
            .fetch_all(&mut *self.0)
            .await?;
        all_fetched(&rows, kind)
    }

    async fn batch(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Fetched>, StoreError> {
        let rows = sqlx::query(SCAN_AFTER.sqlite)
            .bind(connector)
            .bind(kind.as_str())
            .bind(after_seq)
            .bind(sql_count(limit))
            .fetch_all(&mut *self.0)
            .await?;
        all_fetched(&rows, kind)
    }

    async fn by_seqs(
        &mut self,
        kind: ResourceKind,
        seqs: &[i64],
    ) -> Result<Vec<Fetched>, StoreError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources WHERE seq IN (SELECT value FROM json_each(?1))"
        ))
        .bind(json_list(seqs)?)
        .fetch_all(&mut *self.0)
        .await?;
        all_fetched(&rows, kind)
    }

    async fn members(
        &mut self,
        connector: &str,
        group_id: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<Member>, StoreError> {
        let query = match only {
            None => sqlx::query_as(MEMBERS.sqlite)
                .bind(connector)
                .bind(group_id),
            Some(ids) => sqlx::query_as(MEMBERS_AMONG.sqlite)
                .bind(connector)
                .bind(group_id)
                .bind(json_list(ids)?),
        };
        let rows: Vec<(String, Option<String>, Option<String>)> =
            query.fetch_all(&mut *self.0).await?;
        Ok(codec::members(rows))
    }
}

#[async_trait]
impl Resources for SqliteStore {
    async fn get(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let fetched = self.readers.read(|conn| {
            reader::fetch_optional(conn, BY_ID.sqlite, (connector, kind.as_str(), id), kind)
        })?;
        Ok(fetched.map(|f| f.resource))
    }

    async fn get_with_groups(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(StoredText, Vec<(String, String)>)>, StoreError> {
        let found = self.readers.read(|conn| {
            reader::fetch_text_with(
                conn,
                BY_ID_WITH_GROUPS,
                (connector, kind.as_str(), id),
                kind,
            )
        })?;
        found
            .map(|(resource, groups)| Ok((resource, codec::parse_groups(&groups)?)))
            .transpose()
    }

    async fn list(
        &self,
        connector: &str,
        kind: ResourceKind,
        query: ListQuery<'_>,
    ) -> Result<Page, StoreError> {
        if let Plan::Lookup(lookups) = plan::plan(kind, &query)
            && list::needed_members(kind, &query) == NeededMembers::Nothing
        {
            // Index probes: on this thread, every lookup in one snapshot.
            let found = self.readers.read(|conn| {
                reader::in_snapshot(conn, lookups.len() > 1, |conn| {
                    let mut found = Vec::new();
                    for lookup in &lookups {
                        let (sql, key) = sql::lookup(lookup, Dialect::Sqlite);
                        found.extend(reader::fetch_all(
                            conn,
                            sql,
                            (connector, kind.as_str(), key),
                            kind,
                        )?);
                    }
                    Ok(found)
                })
            })?;
            return Ok(list::lookup_page(&query, found));
        }
        // One read transaction: every batch of a scan sees the same snapshot.
        let mut tx = SqliteTx(self.pool.begin().await?);
        let page = list::list(&mut tx, &self.anchors, connector, kind, &query).await?;
        tx.0.commit().await?;
        Ok(page)
    }

    async fn find_by_unique_key(
        &self,
        connector: &str,
        kind: ResourceKind,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = key.to_lowercase();
        self.readers.read(|conn| {
            reader::scalar(
                conn,
                ID_BY_UNIQUE_KEY.sqlite,
                (connector, kind.as_str(), &key),
            )
        })
    }

    async fn groups_of(
        &self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = self
            .readers
            .read(|conn| reader::pairs(conn, GROUPS_OF.sqlite, (connector, member_id)))?;
        Ok(codec::id_names(rows))
    }

    async fn members(
        &self,
        connector: &str,
        group_id: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<Member>, StoreError> {
        match only {
            None => self
                .readers
                .read(|conn| reader::members(conn, MEMBERS.sqlite, (connector, group_id))),
            Some(ids) => {
                let ids = json_list(ids)?;
                self.readers.read(|conn| {
                    reader::members(conn, MEMBERS_AMONG.sqlite, (connector, group_id, &ids))
                })
            }
        }
    }

    async fn with_vendor_keys(
        &self,
        connector: &str,
        kind: ResourceKind,
        keys: &Value,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let keys = codec::json_text(keys)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(String, Option<String>)> = self.readers.read(|conn| {
            reader::pairs(
                conn,
                WITH_VENDOR_KEYS.sqlite,
                (connector, kind.as_str(), &keys, limit),
            )
        })?;
        Ok(codec::id_names(rows))
    }

    async fn kinds_of(
        &self,
        connector: &str,
        ids: &[String],
    ) -> Result<Vec<(String, ResourceKind)>, StoreError> {
        let ids = json_list(ids)?;
        let rows: Vec<(String, String)> = self
            .readers
            .read(|conn| reader::pairs(conn, KINDS_AMONG.sqlite, (connector, &ids)))?;
        codec::id_kinds(rows)
    }
}

#[async_trait]
impl Journal for SqliteStore {
    async fn journal_append(&self, entry: NewJournalEntry) -> Result<i64, StoreError> {
        self.writer.append(entry).await
    }

    async fn commit(
        &self,
        seq: i64,
        vendor_keys: Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.writer.commit(seq, vendor_keys).await
    }

    async fn journal_fail(&self, seq: i64, reason: &str) -> Result<(), StoreError> {
        self.writer.fail(seq, reason).await
    }

    async fn journal_and_commit(
        &self,
        entry: NewJournalEntry,
        vendor_keys: Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.writer
            .append_commit(entry, Vendor::Done(vendor_keys))
            .await
    }

    async fn journal_list(
        &self,
        filter: JournalFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            journal_columns!(),
            " FROM journal WHERE (?1 IS NULL OR connector = ?1) AND (?2 IS NULL OR state = ?2) \
             AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"
        ))
        .bind(filter.connector)
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.before_seq)
        .bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_entry).collect()
    }

    async fn journal_pending(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(JOURNAL_PENDING.sqlite)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_entry).collect()
    }

    async fn journal_history(
        &self,
        filter: HistoryFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let (statement, first, second) = filter.key.query();
        let rows = sqlx::query(statement.sqlite)
            .bind(first)
            .bind(second)
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.since.map(codec::timestamp_text))
            .bind(filter.until.map(codec::timestamp_text))
            .bind(filter.before_seq)
            .bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_entry).collect()
    }
}

#[async_trait]
impl Trail for SqliteStore {
    async fn trail_append(&self, records: Vec<TrailRecord>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // Encoded here, so that the trail's writer thread only inserts.
        let rows = records
            .iter()
            .map(|r| {
                Ok((
                    r.request_id.clone(),
                    codec::timestamp_text(r.at),
                    codec::json_text(&r.record)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.trail.keep(rows).await
    }

    async fn trail_of(&self, request_ids: &[String]) -> Result<Vec<TrailRecord>, StoreError> {
        self.trail.of(&json_list(request_ids)?)
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn journal_commit_queue(
        &self,
        entry: NewJournalEntry,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.writer.append_commit(entry, Vendor::Queued).await
    }

    async fn queue_claim(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError> {
        queue::claim(&self.pool, claim).await
    }

    async fn queue_settle(
        &self,
        seq: i64,
        owner: &str,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        queue::settle(&self.pool, seq, owner, outcome).await
    }

    async fn queue_release(&self, owner: &str) -> Result<(), StoreError> {
        queue::release(&self.pool, owner).await
    }

    async fn queue_list(&self, filter: QueueFilter<'_>) -> Result<Vec<Delivery>, StoreError> {
        queue::list(&self.pool, filter).await
    }

    async fn queue_retry(&self, seq: i64) -> Result<(), StoreError> {
        queue::retry(&self.pool, seq).await
    }

    async fn queue_drop(&self, seq: i64) -> Result<(), StoreError> {
        queue::drop_entry(&self.pool, seq).await
    }

    async fn queue_stats(&self) -> Result<Vec<QueueStats>, StoreError> {
        queue::stats(&self.pool).await
    }
}

#[async_trait]
impl Guards for SqliteStore {
    async fn guard_admit(
        &self,
        connector: &str,
        removal: Removal<'_>,
        rule: GuardRule,
        now: time::OffsetDateTime,
    ) -> Result<Admission, StoreError> {
        self.writer
            .admit(guard::Ask::new(connector, removal, rule, now))
            .await
    }

    async fn guard_allow(
        &self,
        connector: &str,
        count: u32,
        until: Option<time::OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.writer
            .order(connector, guard::Order::Allow { count, until })
            .await
    }

    async fn guard_reset(&self, connector: &str) -> Result<(), StoreError> {
        self.writer.order(connector, guard::Order::Reset).await
    }

    async fn guard_state(
        &self,
        connector: &str,
        window: Duration,
        now: time::OffsetDateTime,
        shown: usize,
    ) -> Result<GuardState, StoreError> {
        guard::state(&self.readers, connector, window, now, shown)
    }
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn prune(
        &self,
        older_than: time::OffsetDateTime,
        batch: usize,
    ) -> Result<Pruned, StoreError> {
        // Through the writer, a batch at a time: never a long hold on the write lock. Then the
        // trail, whose records go once the journal entries holding them have.
        let store = Pruned::until_done(|| self.writer.prune_batch(older_than, batch)).await?;
        let cut = codec::timestamp_text(older_than);
        let trail_batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let trail = Pruned::until_done(|| async {
            let trail = self.trail.prune_batch(cut.clone(), trail_batch).await?;
            Ok(Pruned {
                trail,
                ..Pruned::default()
            })
        })
        .await?;
        Ok(Pruned {
            trail: trail.trail,
            ..store
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.readers.close();
        self.writer.close().await;
        self.trail.close().await;
        self.pool.close().await;
    }
}
