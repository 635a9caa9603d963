//! The statements the shared algorithms ([`crate::list`], [`crate::commit`]) are made of. Each
//! backend implements them with its own SQL on a transaction it holds; the algorithms never
//! know which database they run on.

use async_trait::async_trait;
use scim::ResourceKind;
use scim::members::Member;

use crate::keys::IndexKeys;
use crate::plan::{Lookup, SortColumn, SqlOrder};
use crate::{JournalEntry, StoreError, StoredResource};

/// A resource with its insertion sequence number.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub seq: i64,
    pub resource: StoredResource,
}

/// The counters row of a connector and kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// The number of resources.
    pub total: usize,
    /// Advanced by every commit that inserts or deletes one (see [`crate::anchors`]).
    pub generation: i64,
}

/// An open transaction that reads resources for a list; all reads see one snapshot.
#[async_trait]
pub(crate) trait ReadTx: Send {
    /// The counters of a connector and kind (zero when it has never had a resource).
    async fn counters(
        &mut self,
        connector: &str,
        kind: ResourceKind,
    ) -> Result<Counters, StoreError>;

    /// One page of all resources of a connector and kind, in `order`, ties in insertion order.
    async fn page(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        order: SqlOrder,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Fetched>, StoreError>;

    /// The resources an index lookup finds.
    async fn lookup(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        lookup: &Lookup,
    ) -> Result<Vec<Fetched>, StoreError>;

    /// Up to `limit` resources after `after_seq`, in insertion order.
    async fn batch(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<Fetched>, StoreError>;

    /// The resources with these sequence numbers, in any order.
    async fn by_seqs(
        &mut self,
        kind: ResourceKind,
        seqs: &[i64],
    ) -> Result<Vec<Fetched>, StoreError>;

    /// The members of a Group in id order; with `only`, just those among these ids.
    async fn members(
        &mut self,
        connector: &str,
        group_id: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<Member>, StoreError>;
}

/// An open transaction that applies a journal entry; its writes happen together or not at all.
#[async_trait]
pub(crate) trait WriteTx: Send {
    /// Journal entry `seq` if it is pending, locked until the transaction ends.
    async fn pending_entry(&mut self, seq: i64) -> Result<Option<JournalEntry>, StoreError>;

    /// Marks journal entry `seq` committed.
    async fn mark_committed(&mut self, seq: i64) -> Result<(), StoreError>;

    /// One resource, locked until the transaction ends.
    async fn current(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Fetched>, StoreError>;

    /// Inserts a resource with its index columns; returns its sequence number. A taken unique
    /// key is [`StoreError::Uniqueness`].
    async fn insert(
        &mut self,
        connector: &str,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<i64, StoreError>;

    /// Rewrites the resource `seq` (version, times, attributes, vendor keys, index columns).
    /// A taken unique key is [`StoreError::Uniqueness`].
    async fn update(
        &mut self,
        seq: i64,
        resource: &StoredResource,
        keys: &IndexKeys,
    ) -> Result<(), StoreError>;

    /// Deletes the resource `seq` and its e-mail rows.
    async fn delete(&mut self, seq: i64) -> Result<(), StoreError>;

    /// Replaces the e-mail rows of the resource `seq`.
    async fn set_emails(
        &mut self,
        connector: &str,
        seq: i64,
        emails: &[String],
    ) -> Result<(), StoreError>;

    /// Adds members to a Group; one already there takes the new `display`.
    async fn add_members(
        &mut self,
        connector: &str,
        group_id: &str,
        members: &[Member],
    ) -> Result<(), StoreError>;

    /// Removes every member of a Group (it is being deleted).
    async fn clear_members(&mut self, connector: &str, group_id: &str) -> Result<(), StoreError>;

    /// Removes these members from a Group; ids that are no members are ignored.
    async fn remove_members(
        &mut self,
        connector: &str,
        group_id: &str,
        member_ids: &[String],
    ) -> Result<(), StoreError>;

    /// The ids of the Groups listing `member_id`, in id order (the order their rows are
    /// locked in, so concurrent deletes cannot deadlock).
    async fn groups_listing(
        &mut self,
        connector: &str,
        member_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Adds `delta` to the counter of a connector and kind and advances its generation: called
    /// by every commit that inserts or deletes a resource, since those shift list positions.
    async fn add_to_count(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        delta: i64,
    ) -> Result<(), StoreError>;
}

/// The ORDER BY clause of a page, the same in both dialects. Missing values (NULL) sort last
/// ascending and first descending (RFC 7644 §3.4.2.3); ties keep insertion order.
pub(crate) fn order_by(order: SqlOrder) -> String {
    let column = match order.column {
        SortColumn::Seq => return "ORDER BY seq".to_owned(),
        SortColumn::UniqueKey => "unique_key",
        SortColumn::DisplayName => "display_name_ci",
        SortColumn::ExternalId => "external_id",
        SortColumn::Id => "id",
        SortColumn::Created => "created",
        SortColumn::LastModified => "last_modified",
    };
    let direction = if order.descending {
        "DESC NULLS FIRST"
    } else {
        "ASC NULLS LAST"
    };
    format!("ORDER BY {column} {direction}, seq")
}
