//! Durable state of scim-bridge: resources with versions, per-connector uniqueness, vendor
//! keys, group membership, and the journal of operations (docs/architecture.md "Consistency").
//!
//! One interface, [`Store`], made of six focused traits ([`Resources`], [`Journal`],
//! [`Outbox`], [`Trail`], [`Guards`], [`Maintenance`]), with two implementations: SQLite (the embedded default: one file,
//! WAL) and PostgreSQL (several replicas). Each applies its own migrations at start. The
//! SQL differs per backend; everything else (which index answers a filter, which keys a
//! resource has) is shared and lives in the modules below, so no query branches on the backend.
//!
//! The write path the gateway drives:
//! 1. [`Journal::journal_append`] records the intended change durably;
//! 2. the connector makes the vendor match it;
//! 3. [`Journal::commit`] applies the journalled change with the vendor keys the connector
//!    returned, and marks the entry committed, in one transaction; or [`Journal::journal_fail`]
//!    records why the vendor refused, leaving the resources unchanged.
//!
//! After a crash, [`Journal::journal_pending`] lists the entries to finish.
//!
//! A connector with queued delivery takes the other path: [`Outbox::journal_commit_queue`]
//! journals, commits and queues the delivery in one transaction, and workers (of every replica)
//! take the queue's entries with [`Outbox::queue_claim`] and settle them with
//! [`Outbox::queue_settle`], in order per resource.
//!
//! [`open_store`] picks the backend from the database URL; [`SqliteStore`] and [`PgStore`] can
//! also be opened directly.

mod anchors;
mod codec;
mod commit;
mod error;
mod guard;
mod keys;
mod list;
mod migrations;
mod model;
mod open;

mod plan;
mod postgres;
mod queue;
mod sql;
mod sqlite;
mod tx;

pub use anchors::PagingStats;
pub use error::StoreError;
pub use guard::{Admission, GuardRule, GuardState, HeldRemoval, Removal};
pub use model::{
    Change, Claim, Delivery, DeliveryOutcome, DeliveryState, HistoryFilter, HistoryKey,
    JournalEntry, JournalFilter, JournalState, ListQuery, NewJournalEntry, Operation, Page, Pruned,
    QueueFilter, QueueStats, StoredResource, StoredText, TrailRecord,
};
pub use open::open_store;
pub use postgres::PgStore;
pub use scim::ResourceKind;
pub use scim::members::{Member, MemberDelta};
pub use sqlite::SqliteStore;

use async_trait::async_trait;

/// Reads of resources: what every SCIM `GET` and filter is answered from.
#[async_trait]
pub trait Resources: Send + Sync + 'static {
    /// One resource by id.
    async fn get(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// One resource by id and the groups listing it (what [`Resources::groups_of`] answers for
    /// its id), read together, in one statement: what `GET /Users/{id}` shows. The attributes
    /// come as stored text, for an answer to write out unparsed.
    async fn get_with_groups(
        &self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(StoredText, Vec<(String, String)>)>, StoreError>;

    /// A page of the resources matching `query.filter`, in a stable order (creation order,
    /// unless `query.sort` asks otherwise), with the total number of matches. Groups come
    /// without their members ([`Resources::members`]); a filter on members still sees them. Filters on
    /// `id`, `userName`, `externalId`, `displayName` and `emails.value` are answered from
    /// indexes; any other filter is evaluated correctly on every resource.
    async fn list(
        &self,
        connector: &str,
        kind: ResourceKind,
        query: ListQuery<'_>,
    ) -> Result<Page, StoreError>;

    /// The id of the resource holding this unique key (`userName` of a User, `displayName` of a
    /// Group), compared case-insensitively.
    async fn find_by_unique_key(
        &self,
        connector: &str,
        kind: ResourceKind,
        key: &str,
    ) -> Result<Option<String>, StoreError>;

    /// The groups that list `member_id` among their members, as `(group id, displayName)`:
    /// the read-only `groups` attribute of a User.
    async fn groups_of(
        &self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// The members of a Group, in id order; with `only`, just those whose ids are listed (a
    /// membership probe reads one row per id, at any group size). A Group's stored attributes
    /// never hold its members: every read that shows them asks here.
    async fn members(
        &self,
        connector: &str,
        group_id: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<Member>, StoreError>;

    /// The resources of `kind` whose vendor keys are exactly `keys`, as `(id, displayName)`,
    /// oldest first, at most `limit`: the ones a connector marked as kept in the store only
    /// (the admin API lists them).
    async fn with_vendor_keys(
        &self,
        connector: &str,
        kind: ResourceKind,
        keys: &serde_json::Value,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Which of `ids` name a User or a Group of the connector, with its kind (in any order):
    /// what a new member is checked against.
    async fn kinds_of(
        &self,
        connector: &str,
        ids: &[String],
    ) -> Result<Vec<(String, ResourceKind)>, StoreError>;
}

/// The journal of writes: recorded before the connector runs, then committed or failed
/// (the synchronous write path and crash recovery).
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Records an intended change durably, before the connector runs; returns its sequence
    /// number.
    async fn journal_append(&self, entry: NewJournalEntry) -> Result<i64, StoreError>;

    /// Applies journal entry `seq` with the vendor keys the connector returned, and marks it
    /// committed, in one transaction. Fails with [`StoreError::VersionConflict`] when the
    /// resource moved on since the entry was written, [`StoreError::Uniqueness`] when another
    /// resource holds the unique key, [`StoreError::NotFound`] when it is gone. Returns the
    /// stored resource (`None` after a delete).
    async fn commit(
        &self,
        seq: i64,
        vendor_keys: serde_json::Value,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// Marks journal entry `seq` failed with a reason; the resources are not touched.
    async fn journal_fail(&self, seq: i64, reason: &str) -> Result<(), StoreError>;

    /// Journals a change and commits it at once, for a connector whose `apply` touches
    /// nothing outside the store (nothing can happen between the two). A change that cannot
    /// commit leaves its entry failed, or no entry at all. Backends may do it in one
    /// transaction; this default takes two.
    async fn journal_and_commit(
        &self,
        entry: NewJournalEntry,
        vendor_keys: serde_json::Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        let seq = self.journal_append(entry).await?;
        match self.commit(seq, vendor_keys).await {
            Ok(stored) => Ok(stored),
            Err(e) => {
                if let Err(fail) = self.journal_fail(seq, &e.to_string()).await {
                    tracing::warn!(seq, error = %fail, "could not mark a journal entry failed");
                }
                Err(e)
            }
        }
    }

    /// Entries neither committed nor failed, oldest first: the work a crash interrupted.
    async fn journal_pending(&self) -> Result<Vec<JournalEntry>, StoreError>;

    /// Journal entries for an operator, newest first.
    async fn journal_list(
        &self,
        filter: JournalFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError>;

    /// One resource's journal entries, or one request's, newest first (an index answers
    /// either: the cost is the page's, not the journal's).
    async fn journal_history(
        &self,
        filter: HistoryFilter<'_>,
    ) -> Result<Vec<JournalEntry>, StoreError>;
}

/// The trail of each write: the records the gateway keeps of the request and of every vendor
/// call it caused, by request id, pruned with the journal ([`Maintenance::prune`]).
#[async_trait]
pub trait Trail: Send + Sync + 'static {
    /// Keeps `records`, in one transaction.
    async fn trail_append(&self, records: Vec<TrailRecord>) -> Result<(), StoreError>;

    /// The records of these requests, in the order they were kept.
    async fn trail_of(&self, request_ids: &[String]) -> Result<Vec<TrailRecord>, StoreError>;
}

/// The connectors' deletion guards, shared by every process on the database: each removal is
/// counted and decided in one transaction, so replicas together let through at most the limit,
/// and an operator's allowance or reset reaches all of them.
#[async_trait]
pub trait Guards: Send + Sync + 'static {
    /// Lets `removal` through the connector's guard, or holds it (listed once however often it
    /// is retried), under `rule` at `now`; a removal let through leaves the held ones.
    async fn guard_admit(
        &self,
        connector: &str,
        removal: Removal<'_>,
        rule: GuardRule,
        now: time::OffsetDateTime,
    ) -> Result<Admission, StoreError>;

    /// An operator lets the next `count` removals through, and every one until `until`.
    async fn guard_allow(
        &self,
        connector: &str,
        count: u32,
        until: Option<time::OffsetDateTime>,
    ) -> Result<(), StoreError>;

    /// An operator resets the guard: not tripped, nothing counted, nothing held.
    async fn guard_reset(&self, connector: &str) -> Result<(), StoreError>;

    /// The guard's state at `now` with the oldest `shown` removals it holds.
    async fn guard_state(
        &self,
        connector: &str,
        window: std::time::Duration,
        now: time::OffsetDateTime,
        shown: usize,
    ) -> Result<GuardState, StoreError>;
}

/// Queued delivery: a write committed and queued at once, then claimed and settled by the
/// delivery workers of every replica, in order per resource.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Queued delivery: journals the change, commits it to the store (the resource keeps the
    /// vendor keys it has) and queues its delivery to the vendor, in one transaction. Fails as
    /// [`Journal::commit`] does, leaving nothing behind.
    async fn journal_commit_queue(
        &self,
        entry: NewJournalEntry,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// Takes up to `claim.limit` due deliveries for `claim.owner`, oldest first: only the
    /// oldest unsettled entry of each resource (a failed one holds the rest back), never one
    /// whose lease another worker holds. Safe to call from several processes at once.
    async fn queue_claim(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError>;

    /// Settles a delivery `owner` claimed. A delivered entry's vendor keys go to the resource
    /// too, if it still exists. [`StoreError::NoSuchEntry`] when the lease was lost.
    async fn queue_settle(
        &self,
        seq: i64,
        owner: &str,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError>;

    /// Gives back every lease `owner` holds (at shutdown), so others need not wait them out.
    async fn queue_release(&self, owner: &str) -> Result<(), StoreError>;

    /// Queued deliveries for an operator, newest first.
    async fn queue_list(&self, filter: QueueFilter<'_>) -> Result<Vec<Delivery>, StoreError>;

    /// Shows `visit` every delivery `filter` matches, newest first, reading a page of
    /// `filter.limit` at a time (from `filter.before_seq` on), until it breaks.
    async fn queue_each(
        &self,
        mut filter: QueueFilter<'_>,
        visit: &mut (dyn for<'d> FnMut(&'d Delivery) -> std::ops::ControlFlow<()> + Send),
    ) -> Result<(), StoreError> {
        loop {
            let page = self.queue_list(filter).await?;
            if page.iter().any(|delivery| visit(delivery).is_break()) {
                return Ok(());
            }
            match page.last() {
                Some(last) if page.len() == filter.limit => {
                    filter.before_seq = Some(last.entry.seq)
                }
                _ => return Ok(()),
            }
        }
    }

    /// Puts a failed delivery back in the queue, due now with its attempts reset.
    /// [`StoreError::NoSuchEntry`] unless it is failed.
    async fn queue_retry(&self, seq: i64) -> Result<(), StoreError>;

    /// Drops a failed or waiting delivery (not one a worker holds now): it is never delivered
    /// and holds nothing back. [`StoreError::NoSuchEntry`] otherwise.
    async fn queue_drop(&self, seq: i64) -> Result<(), StoreError>;

    /// Waiting and failed deliveries per connector (connectors with none are left out).
    async fn queue_stats(&self) -> Result<Vec<QueueStats>, StoreError>;
}

/// What keeps a store healthy and tells about it: retention, readiness, sharing, closing.
#[async_trait]
pub trait Maintenance: Send + Sync + 'static {
    /// Removes the history of writes journalled before `older_than`, at most `batch` rows a
    /// transaction: settled deliveries (delivered or dropped) of resources with nothing waiting
    /// or failed, then settled journal entries (committed or failed) that no delivery refers
    /// to. Pending entries, deliveries waiting or failed, and what they need, stay.
    async fn prune(
        &self,
        older_than: time::OffsetDateTime,
        batch: usize,
    ) -> Result<Pruned, StoreError>;

    /// Whether other processes may use this database at the same time (PostgreSQL replicas),
    /// so that a pending journal entry may be a write another process has in flight.
    fn is_shared(&self) -> bool {
        false
    }

    /// A number that moves on after every committed write of any process using this database,
    /// for caches: read it before reading what is cached, and serve the cached answer only
    /// while it is unchanged. `None` where one process owns the database (SQLite), whose own
    /// count of its writes is enough.
    async fn write_generation(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the connections; pending statements finish first.
    async fn close(&self);
}

/// The durable state behind every connector: all its parts, as one object. Implementations
/// are cheap to share (`Arc<dyn Store>`); every method is one short transaction. Callers bring
/// the parts they use into scope (`use store::{Resources, Journal};`).
pub trait Store: Resources + Journal + Outbox + Trail + Guards + Maintenance {}

impl<T: Resources + Journal + Outbox + Trail + Guards + Maintenance> Store for T {}
