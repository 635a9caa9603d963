//! The PostgreSQL backend: several gateway replicas share one database. The delivery
//! queue's statements, which lock differently from SQLite's, are in [`queue`].

mod guard;
mod queue;
mod rows;

use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use scim::members::Member;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row, Transaction};

use rows::{all_fetched, fetched, journal_entry, stored_text};

use crate::anchors::Anchors;
use crate::codec::{self};
use crate::commit::Vendor;
use crate::keys::IndexKeys;
use crate::list::NeededMembers;
use crate::plan::{self, Lookup, Plan, SqlOrder};
use crate::sql::{
    self, BY_ID, Dialect, GROUPS_OF, ID_BY_UNIQUE_KEY, JOURNAL_PENDING, KINDS_AMONG, MEMBERS,
    MEMBERS_AMONG, SCAN_AFTER, WITH_VENDOR_KEYS, journal_columns, resource_columns,
};
use crate::tx::{Counters, Fetched, ReadTx, WriteTx};
use crate::{
    Admission, Claim, Delivery, DeliveryOutcome, GuardRule, GuardState, Guards, HistoryFilter,
    Journal, JournalEntry, JournalFilter, JournalState, ListQuery, Maintenance, NewJournalEntry,
    Outbox, Page, PagingStats, Pruned, QueueFilter, QueueStats, Removal, Resources, StoreError,
    StoredResource, StoredText, Trail, TrailRecord, commit, list, migrations,
};

/// Connections per replica.
const MAX_CONNECTIONS: u32 = 8;
/// How long a statement waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The store on PostgreSQL.
pub struct PgStore {
    pool: PgPool,
    /// Where the pages of walks in progress continue.
    anchors: Anchors,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`) and applies the migrations; replicas
    /// starting together wait for each other (advisory lock).
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        let mut conn = pool.acquire().await?;
        migrations::postgres()
            .run_direct(None, &mut *conn, false)
            .await?;
        drop(conn);
        Ok(PgStore {
            pool,
            anchors: Anchors::default(),
        })
    }

    /// Moves the write generation on after a commit, before the writer answers anyone. The
    /// write stands whatever happens here; if the database is gone meanwhile, other replicas
    /// may serve what they cached for at most the cache's TTL.
    async fn written(&self) {
        if let Err(e) = sqlx::query("SELECT nextval('write_generation')")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "could not move the write generation on");
        }
    }

    /// Journals a write as committed, queues its delivery if the vendor is still to come,
    /// and applies it, in one transaction: a refused change (a taken userName, a stale
    /// version) leaves no entry.
    async fn journal_and_apply(
        &self,
        entry: NewJournalEntry,
        vendor: Vendor,
    ) -> Result<Option<StoredResource>, StoreError> {
        let mut tx = PgTx(self.pool.begin().await?);
        let seq = append_in(&mut tx.0, &entry, JournalState::Committed).await?;
        if let Vendor::Queued = vendor {
            queue::enqueue_in(&mut tx.0, seq, &entry).await?;
        }
        let stored = commit::apply(
            &mut tx,
            &entry.connector,
            entry.kind,
            entry.change,
            vendor.keys(),
            codec::now(),
        )
        .await?;
        tx.0.commit().await?;
        self.written().await;
        Ok(stored)
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
        let mut tx = PgTx(self.pool.begin().await?);
        commit::load(&mut tx, connector, resources).await?;
        tx.0.commit().await?;
        self.written().await;
        // Until statistics cover the new rows the planner may scan `resources_order` instead of
        // using the unique-key index (17 ms a lookup at 20,000 users), and autovacuum takes a
        // while to notice a bulk load.
        sqlx::query("ANALYZE resources, emails, memberships")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A failed insert or update of a resource row: a violation of the unique index on
/// `unique_key` (the constraint `resources_unique_key`) is the client's uniqueness error;
/// anything else is the database's.
fn write_error(error: sqlx::Error, kind: ResourceKind, keys: &IndexKeys) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
        && db.constraint() == Some("resources_unique_key")
    {
        return keys.uniqueness_error(kind);
    }
    StoreError::from(error)
}

/// A transaction on PostgreSQL.
struct PgTx(Transaction<'static, Postgres>);

#[async_trait]
impl ReadTx for PgTx {
    async fn counters(
        &mut self,
        connector: &str,
        kind: ResourceKind,
    ) -> Result<Counters, StoreError> {
        // The shards of the connector and kind, added up (none yet: zero).
        let (total, generation): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(total), 0)::BIGINT, COALESCE(SUM(generation), 0)::BIGINT \
             FROM counters WHERE connector = $1 AND kind = $2",
        )
        .bind(connector)
        .bind(kind.as_str())
        .fetch_one(&mut *self.0)
        .await?;
        Ok(Counters {
            total: usize::try_from(total).unwrap_or(0),
            generation,
        })
    }

    async fn page(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        order: SqlOrder,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Fetched>, StoreError> {
        let sql = sql::page_by_offset(order, Dialect::Postgres);
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
        let (sql, key) = sql::lookup(lookup, Dialect::Postgres);
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
        let rows = sqlx::query(SCAN_AFTER.postgres)
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
            " FROM resources WHERE seq = ANY($1)"
        ))
        .bind(seqs)
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
        members(&mut *self.0, connector, group_id, only).await
    }
}

/// The members of a Group in id order (see [`ReadTx::members`]), on any connection.
///
/// Statements with an id list (`= ANY($n)`) are sent unprepared (`persistent(false)`): a
/// prepared statement switches to a generic plan after five runs, and PostgreSQL's generic
/// plan for "these ids of this group" reads the whole group and filters it (97,000 rows for one
/// id, 30 ms); planned with the values, it probes the primary key once per id.
async fn members<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    connector: &str,
    group_id: &str,
    only: Option<&[String]>,
) -> Result<Vec<Member>, StoreError> {
    let query = match only {
        None => sqlx::query_as(MEMBERS.postgres)
            .bind(connector)
            .bind(group_id),
        Some(ids) => sqlx::query_as(MEMBERS_AMONG.postgres)
            .bind(connector)
            .bind(group_id)
            .bind(ids)
            .persistent(false),
    };
    let rows: Vec<(String, Option<String>, Option<String>)> = query.fetch_all(executor).await?;
    Ok(codec::members(rows))
}

#[async_trait]
impl WriteTx for PgTx {
    async fn pending_entry(&mut self, seq: i64) -> Result<Option<JournalEntry>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            journal_columns!(),
            " FROM journal WHERE seq = $1 AND state = 'pending' FOR UPDATE"
        ))
        .bind(seq)
        .fetch_optional(&mut *self.0)
        .await?;
        row.as_ref().map(journal_entry).transpose()
    }

    async fn mark_committed(&mut self, seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE journal SET state = 'committed', attempts = attempts + 1, updated = $2 \
             WHERE seq = $1",
        )
        .bind(seq)
        .bind(codec::now())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn current(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Fetched>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources WHERE connector = $1 AND kind = $2 AND id = $3 FOR UPDATE"
        ))
        .bind(connector)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await?;
        row.map(|row| fetched(&row, kind)).transpose()
    }

    async fn insert(
        &mut self,
        connector: &str,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO resources (connector, kind, id, version, created, last_modified, \
             attributes, vendor_keys, unique_key, external_id, display_name, display_name_ci) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq",
        )
        .bind(connector)
        .bind(resource.kind.as_str())
        .bind(&resource.id)
        .bind(resource.version)
        .bind(resource.created)
        .bind(resource.last_modified)
        .bind(codec::json_text(&resource.attributes)?)
        .bind(codec::json_text(&resource.vendor_keys)?)
        .bind(&keys.unique_key)
        .bind(&keys.external_id)
        .bind(&keys.display_name)
        .bind(&keys.display_name_ci)
        .fetch_one(&mut *self.0)
        .await
        .map_err(|e| write_error(e, resource.kind, keys))
    }

    async fn update(
        &mut self,
        seq: i64,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE resources SET version = $2, last_modified = $3, attributes = $4, \
             vendor_keys = $5, unique_key = $6, external_id = $7, display_name = $8, \
             display_name_ci = $9 WHERE seq = $1",
        )
        .bind(seq)
        .bind(resource.version)
        .bind(resource.last_modified)
        .bind(codec::json_text(&resource.attributes)?)
        .bind(codec::json_text(&resource.vendor_keys)?)
        .bind(&keys.unique_key)
        .bind(&keys.external_id)
        .bind(&keys.display_name)
        .bind(&keys.display_name_ci)
        .execute(&mut *self.0)
        .await
        .map_err(|e| write_error(e, resource.kind, keys))?;
        Ok(())
    }

    async fn delete(&mut self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM emails WHERE resource_seq = $1")
            .bind(seq)
            .execute(&mut *self.0)
            .await?;
        sqlx::query("DELETE FROM resources WHERE seq = $1")
            .bind(seq)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn set_emails(
        &mut self,
        connector: &str,
        seq: i64,
        emails: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM emails WHERE resource_seq = $1")
            .bind(seq)
            .execute(&mut *self.0)
            .await?;
        if !emails.is_empty() {
            sqlx::query(
                "INSERT INTO emails (connector, email, resource_seq) \
                 SELECT $1, email, $2 FROM unnest($3::text[]) AS email ON CONFLICT DO NOTHING",
            )
            .bind(connector)
            .bind(seq)
            .bind(emails)
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }

    async fn add_members(
        &mut self,
        connector: &str,
        group_id: &str,
        members: &[Member],
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
        let kinds: Vec<Option<&str>> = members.iter().map(|m| m.kind.map(|k| k.as_str())).collect();
        let displays: Vec<Option<&str>> = members.iter().map(|m| m.display.as_deref()).collect();
        // Lock the member Users against a concurrent delete: without it, a delete that has not
        // yet seen this commit's membership rows and this commit that has not yet seen the
        // delete could both succeed, leaving a deleted User in the Group. With it, the delete
        // waits and then finds the rows (SQLite needs nothing: it runs one writer at a time).
        sqlx::query(
            "SELECT count(*) FROM (SELECT 1 FROM resources WHERE connector = $1 \
             AND kind = 'User' AND id = ANY($2) FOR KEY SHARE) AS locked",
        )
        .bind(connector)
        .bind(&ids)
        .persistent(false)
        .execute(&mut *self.0)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (connector, group_id, member_id, member_type, display) \
             SELECT $1, $2, m.id, m.kind, m.display \
             FROM unnest($3::text[], $4::text[], $5::text[]) AS m (id, kind, display) \
             ON CONFLICT (connector, group_id, member_id) DO UPDATE SET \
             member_type = excluded.member_type, \
             display = coalesce(excluded.display, memberships.display)",
        )
        .bind(connector)
        .bind(group_id)
        .bind(&ids)
        .bind(&kinds)
        .bind(&displays)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn clear_members(&mut self, connector: &str, group_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM memberships WHERE connector = $1 AND group_id = $2")
            .bind(connector)
            .bind(group_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn remove_members(
        &mut self,
        connector: &str,
        group_id: &str,
        member_ids: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM memberships WHERE connector = $1 AND group_id = $2 \
             AND member_id = ANY($3)",
        )
        .bind(connector)
        .bind(group_id)
        .bind(member_ids)
        .persistent(false)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn groups_listing(
        &mut self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT group_id FROM memberships WHERE connector = $1 AND member_id = $2 \
             ORDER BY group_id",
        )
        .bind(connector)
        .bind(member_id)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn add_to_count(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        delta: i64,
    ) -> Result<(), StoreError> {
        // One shard of sixteen, at random: concurrent writes rarely wait for each other's
        // lock on it (migration 0004).
        sqlx::query(
            "INSERT INTO counters (connector, kind, shard, total, generation) \
             VALUES ($1, $2, floor(random() * 16)::SMALLINT, $3, 1) \
             ON CONFLICT (connector, kind, shard) DO UPDATE \
             SET total = counters.total + excluded.total, generation = counters.generation + 1",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(delta)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Resources for PgStore {
    async fn get(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let row = sqlx::query(BY_ID.postgres)
            .bind(connector)
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|row| fetched(&row, kind))
            .transpose()?
            .map(|f| f.resource))
    }

    async fn get_with_groups(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(StoredText, Vec<(String, String)>)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_columns!(),
            ", (SELECT coalesce(json_agg(json_build_array(g.id, g.display_name) ORDER BY g.seq), \
             '[]')::text FROM memberships m JOIN resources g \
             ON g.connector = m.connector AND g.kind = 'Group' AND g.id = m.group_id \
             WHERE m.connector = $1 AND m.member_id = $3) AS groups \
             FROM resources WHERE connector = $1 AND kind = $2 AND id = $3"
        ))
        .bind(connector)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((
            stored_text(&row, kind)?,
            codec::parse_groups(row.try_get("groups")?)?,
        )))
    }

    async fn list(
        &self,
        connector: &str,
        kind: ResourceKind,
        query: ListQuery<'_>,
    ) -> Result<Page, StoreError> {
        if let Plan::Lookup(lookups) = plan::plan(kind, &query)
            && let [lookup] = lookups.as_slice()
            && list::needed_members(kind, &query) == NeededMembers::Nothing
        {
            // One statement sees one snapshot: no transaction (and its two round trips).
            let (sql, key) = sql::lookup(lookup, Dialect::Postgres);
            let rows = sqlx::query(sql)
                .bind(connector)
                .bind(kind.as_str())
                .bind(key)
                .fetch_all(&self.pool)
                .await?;
            return Ok(list::lookup_page(&query, all_fetched(&rows, kind)?));
        }
        // One snapshot for every batch of a scan.
        let mut tx = PgTx(
            self.pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?,
        );
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
        Ok(sqlx::query_scalar(ID_BY_UNIQUE_KEY.postgres)
            .bind(connector)
            .bind(kind.as_str())
            .bind(key.to_lowercase())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn groups_of(
        &self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(GROUPS_OF.postgres)
            .bind(connector)
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(codec::id_names(rows))
    }

    async fn members(
        &self,
        connector: &str,
        group_id: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<Member>, StoreError> {
        members(&self.pool, connector, group_id, only).await
    }

    async fn with_vendor_keys(
        &self,
        connector: &str,
        kind: ResourceKind,
        keys: &Value,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(WITH_VENDOR_KEYS.postgres)
            .bind(connector)
            .bind(kind.as_str())
            .bind(codec::json_text(keys)?)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        Ok(codec::id_names(rows))
    }

    async fn kinds_of(
        &self,
        connector: &str,
        ids: &[String],
    ) -> Result<Vec<(String, ResourceKind)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(KINDS_AMONG.postgres)
            .bind(connector)
            .bind(ids)
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;
        codec::id_kinds(rows)
    }
}

#[async_trait]
impl Journal for PgStore {
    async fn journal_append(&self, entry: NewJournalEntry) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        append_in(&mut conn, &entry, JournalState::Pending).await
    }

    async fn commit(
        &self,
        seq: i64,
        vendor_keys: Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        // The journal entry and the rows changed are locked FOR UPDATE as they are read.
        let mut tx = PgTx(self.pool.begin().await?);
        let stored = commit::commit(&mut tx, seq, Some(vendor_keys), codec::now()).await?;
        tx.0.commit().await?;
        self.written().await;
        Ok(stored)
    }

    async fn journal_fail(&self, seq: i64, reason: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE journal SET state = 'failed', last_error = $2, attempts = attempts + 1, \
             updated = $3 WHERE seq = $1 AND state = 'pending'",
        )
        .bind(seq)
        .bind(reason)
        .bind(codec::now())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchEntry(seq));
        }
        Ok(())
    }

    async fn journal_pending(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(JOURNAL_PENDING.postgres)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_entry).collect()
    }

    async fn journal_list(
        &self,
        filter: JournalFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            journal_columns!(),
            " FROM journal WHERE ($1::text IS NULL OR connector = $1) \
             AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR seq < $3) \
             ORDER BY seq DESC LIMIT $4"
        ))
        .bind(filter.connector)
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.before_seq)
        .bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_entry).collect()
    }

    async fn journal_history(
        &self,
        filter: HistoryFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let (statement, first, second) = filter.key.query();
        let rows = sqlx::query(statement.postgres)
            .bind(first)
            .bind(second)
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.before_seq)
            .bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_entry).collect()
    }

    async fn journal_and_commit(
        &self,
        entry: NewJournalEntry,
        vendor_keys: Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.journal_and_apply(entry, Vendor::Done(vendor_keys))
            .await
    }
}

#[async_trait]
impl Outbox for PgStore {
    async fn journal_commit_queue(
        &self,
        entry: NewJournalEntry,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.journal_and_apply(entry, Vendor::Queued).await
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
impl Trail for PgStore {
    async fn trail_append(&self, records: Vec<TrailRecord>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // One statement for the batch: the columns as arrays, unnested.
        let mut ids = Vec::with_capacity(records.len());
        let mut ats = Vec::with_capacity(records.len());
        let mut texts = Vec::with_capacity(records.len());
        for record in records {
            texts.push(codec::json_text(&record.record)?);
            ids.push(record.request_id);
            ats.push(record.at);
        }
        sqlx::query(
            "INSERT INTO trail (request_id, at, record) \
             SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[])",
        )
        .bind(ids)
        .bind(ats)
        .bind(texts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn trail_of(&self, request_ids: &[String]) -> Result<Vec<TrailRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT request_id, at, record FROM trail WHERE request_id = ANY($1) ORDER BY id",
        )
        .bind(request_ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::trail_record).collect()
    }
}

#[async_trait]
impl Guards for PgStore {
    async fn guard_admit(
        &self,
        connector: &str,
        removal: Removal<'_>,
        rule: GuardRule,
        now: time::OffsetDateTime,
    ) -> Result<Admission, StoreError> {
        guard::admit(&self.pool, connector, removal, rule, now).await
    }

    async fn guard_allow(
        &self,
        connector: &str,
        count: u32,
        until: Option<time::OffsetDateTime>,
    ) -> Result<(), StoreError> {
        guard::allow(&self.pool, connector, count, until).await
    }

    async fn guard_reset(&self, connector: &str) -> Result<(), StoreError> {
        guard::reset(&self.pool, connector).await
    }

    async fn guard_state(
        &self,
        connector: &str,
        window: Duration,
        now: time::OffsetDateTime,
        shown: usize,
    ) -> Result<GuardState, StoreError> {
        guard::state(&self.pool, connector, window, now, shown).await
    }
}

#[async_trait]
impl Maintenance for PgStore {
    async fn prune(
        &self,
        older_than: time::OffsetDateTime,
        batch: usize,
    ) -> Result<Pruned, StoreError> {
        queue::prune(&self.pool, older_than, batch).await
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn write_generation(&self) -> Result<Option<i64>, StoreError> {
        let (value, called): (i64, bool) =
            sqlx::query_as("SELECT last_value, is_called FROM write_generation")
                .fetch_one(&self.pool)
                .await?;
        Ok(Some(if called { value } else { 0 }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Appends a journal entry on `conn` (the pool, or a transaction that commits with it).
/// Appends a journal entry in `state`: pending, or committed when its change is applied in
/// the same transaction (with the one attempt `mark_committed` would count).
async fn append_in(
    conn: &mut PgConnection,
    entry: &NewJournalEntry,
    state: JournalState,
) -> Result<i64, StoreError> {
    let before = entry
        .before
        .as_ref()
        .map(|r| codec::json_text(&codec::resource_json(r)))
        .transpose()?;
    Ok(sqlx::query_scalar(
        "INSERT INTO journal (connector, kind, resource_id, operation, change, \
         before_resource, request_id, created, updated, state, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) RETURNING seq",
    )
    .bind(&entry.connector)
    .bind(entry.kind.as_str())
    .bind(entry.change.id())
    .bind(entry.change.operation().as_str())
    .bind(codec::json_text(&codec::change_json(&entry.change))?)
    .bind(before)
    .bind(&entry.request_id)
    .bind(codec::now())
    .bind(state.as_str())
    .bind(i32::from(state == JournalState::Committed))
    .fetch_one(conn)
    .await?)
}
