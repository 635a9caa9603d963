//! The values the store keeps and hands out.

use scim::ResourceKind;
use scim::members::MemberDelta;
use scim::path::AttrPath;
use scim::query::SortOrder;
use scim::{Filter, ResourceSchema};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{StoreError, codec};

/// A resource as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub kind: ResourceKind,
    pub id: String,
    /// 1 at creation, +1 on every committed change; published as the weak ETag `W/"<version>"`.
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// The canonical attributes, without `id` and `meta` (the gateway adds those, with the
    /// location, when it answers).
    pub attributes: Map<String, Value>,
    /// What the connector needs to find the resource at the vendor: an opaque JSON object.
    pub vendor_keys: Value,
}

/// A resource read for an answer, its attributes still the JSON text the store holds: an
/// answer that shows them as stored (the usual `GET /Users/{id}`) writes that text out without
/// parsing it into values and serializing it again. [`StoredText::parse`] gives the
/// [`StoredResource`] when the answer must change it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredText {
    pub kind: ResourceKind,
    pub id: String,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// The canonical attributes as the text of a JSON object, without `id` and `meta`.
    pub attributes: String,
    /// What the connector needs to find it at the vendor, as JSON text (an answer never shows it).
    pub(crate) vendor_keys: String,
}

impl StoredText {
    /// The resource with its attributes parsed.
    pub fn parse(self) -> Result<StoredResource, StoreError> {
        Ok(StoredResource {
            kind: self.kind,
            id: self.id,
            version: self.version,
            created: self.created,
            last_modified: self.last_modified,
            attributes: codec::parse_object(&self.attributes, "attributes")?,
            vendor_keys: codec::parse_json(&self.vendor_keys, "vendor keys")?,
        })
    }
}

impl StoredResource {
    /// The attributes with `id` and `meta` (without `location`): what filters are evaluated on.
    pub fn view(&self) -> Map<String, Value> {
        let mut out = self.attributes.clone();
        let (id, meta) = self.view_fields();
        out.insert("id".into(), id);
        out.insert("meta".into(), meta);
        out
    }

    /// What [`StoredResource::view`] adds to the attributes: `id` and `meta`.
    fn view_fields(&self) -> (Value, Value) {
        let meta = json!({
            "resourceType": self.kind.as_str(),
            "created": self.created.format(&Rfc3339).unwrap_or_default(),
            "lastModified": self.last_modified.format(&Rfc3339).unwrap_or_default(),
            "version": scim::etag::etag(&self.version.to_string()),
        });
        (Value::String(self.id.clone()), meta)
    }

    /// `inspect` applied to [`StoredResource::view`], without copying the attributes: `id`
    /// and `meta` are added to them for the call and taken out again (a list evaluates its
    /// filter on every candidate, and the copy cost as much as reading the row).
    pub(crate) fn inspect_view<T>(&mut self, inspect: impl FnOnce(&Map<String, Value>) -> T) -> T {
        if self.attributes.contains_key("id") || self.attributes.contains_key("meta") {
            // Not stored so, but then the view replaces them where they stand: copy.
            return inspect(&self.view());
        }
        let (id, meta) = self.view_fields();
        self.attributes.insert("id".into(), id);
        self.attributes.insert("meta".into(), meta);
        let outcome = inspect(&self.attributes);
        self.attributes.shift_remove("meta");
        self.attributes.shift_remove("id");
        outcome
    }
}

/// What a list asks for. `offset`/`limit` are already derived from SCIM's `startIndex`/`count`.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    pub filter: Option<&'a Filter>,
    /// The schema filters and sorting are evaluated with (caseExact, types).
    pub schema: &'a ResourceSchema,
    pub sort: Option<(&'a AttrPath, SortOrder)>,
    pub offset: usize,
    pub limit: usize,
}

/// One page of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// All matches, not just this page.
    pub total: usize,
    pub resources: Vec<StoredResource>,
}

/// The kind of a journalled change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Replace,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Replace => "replace",
            Operation::Delete => "delete",
        }
    }
}

/// An intended change to one resource. A Group's `attributes` never hold `members`: those
/// change by `members`, a delta, so that a change costs what it changes at any group size.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new resource with this id (the gateway chooses it), and a Group's first members.
    Create {
        id: String,
        attributes: Map<String, Value>,
        members: MemberDelta,
    },
    /// New attributes for an existing resource, which must still be at `expected_version`, and
    /// the members a Group gains and loses.
    Replace {
        id: String,
        expected_version: i64,
        attributes: Map<String, Value>,
        members: MemberDelta,
    },
    /// Removal of a resource, which must still be at `expected_version`. Deleting a User also
    /// removes it from every Group that lists it. For a Group, `members.remove` lists the
    /// members it had, for a vendor that keeps membership on each member.
    Delete {
        id: String,
        expected_version: i64,
        members: MemberDelta,
    },
}

impl Change {
    pub fn id(&self) -> &str {
        match self {
            Change::Create { id, .. } | Change::Replace { id, .. } | Change::Delete { id, .. } => {
                id
            }
        }
    }

    /// The members a Group gains and loses (empty for a User).
    pub fn members(&self) -> &MemberDelta {
        match self {
            Change::Create { members, .. }
            | Change::Replace { members, .. }
            | Change::Delete { members, .. } => members,
        }
    }

    pub fn operation(&self) -> Operation {
        match self {
            Change::Create { .. } => Operation::Create,
            Change::Replace { .. } => Operation::Replace,
            Change::Delete { .. } => Operation::Delete,
        }
    }
}

/// What the gateway journals before it calls the connector.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJournalEntry {
    pub connector: String,
    pub kind: ResourceKind,
    pub change: Change,
    /// The resource as it was (attributes and vendor keys), for the connector on a replay.
    pub before: Option<StoredResource>,
    /// The request id, for the logs of a replay.
    pub request_id: Option<String>,
}

/// The state of a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// Recorded; the connector may or may not have run.
    Pending,
    /// Applied to the store.
    Committed,
    /// Refused by the vendor (or abandoned); the store was not changed.
    Failed,
}

impl JournalState {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalState::Pending => "pending",
            JournalState::Committed => "committed",
            JournalState::Failed => "failed",
        }
    }

    /// The state named `text` (as [`JournalState::as_str`] writes it).
    pub fn parse(text: &str) -> Option<JournalState> {
        [
            JournalState::Pending,
            JournalState::Committed,
            JournalState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A journal entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub seq: i64,
    pub connector: String,
    pub kind: ResourceKind,
    pub change: Change,
    pub before: Option<StoredResource>,
    pub state: JournalState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub request_id: Option<String>,
    pub created: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(attributes: Value) -> StoredResource {
        StoredResource {
            kind: ResourceKind::User,
            id: "u1".into(),
            version: 3,
            created: OffsetDateTime::UNIX_EPOCH,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            vendor_keys: json!({}),
        }
    }

    #[test]
    fn inspect_view_sees_the_view_and_leaves_the_attributes_as_they_were() {
        let mut user = resource(json!({"userName": "a", "name": {"givenName": "A"}, "title": "t"}));
        let before = user.clone();
        let seen = user.inspect_view(|view| view.clone());
        assert_eq!(seen, before.view());
        assert_eq!(user, before, "same attributes, same order");
        let keys: Vec<&String> = user.attributes.keys().collect();
        assert_eq!(keys, ["userName", "name", "title"]);

        // Attributes that (against the rules) hold `id` or `meta` see the same view too.
        let mut odd = resource(json!({"id": "x", "userName": "a", "meta": {}}));
        let before = odd.clone();
        assert_eq!(odd.inspect_view(|view| view.clone()), before.view());
        assert_eq!(odd, before);
    }
}

/// Where a queued delivery stands (connectors with `delivery = "queued"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for a worker: due now, or after a backoff.
    Queued,
    /// The vendor accepted it.
    Delivered,
    /// Given up on (the vendor refused, or the attempts ran out); it holds back the later
    /// entries of its resource until an operator retries or drops it.
    Failed,
    /// Dropped by an operator: never delivered, no longer holding anything back.
    Dropped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dropped => "dropped",
        }
    }

    /// The state named `text` (as [`DeliveryState::as_str`] writes it).
    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Queued,
            DeliveryState::Delivered,
            DeliveryState::Failed,
            DeliveryState::Dropped,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A journal entry whose delivery to the vendor is queued, as the queue holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The change to deliver (`entry.before` is the resource as the vendor should have it).
    pub entry: JournalEntry,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i32,
    /// Not attempted before this time.
    pub next_attempt: OffsetDateTime,
    pub last_error: Option<String>,
    /// The vendor keys to deliver with: what the last delivery of this resource returned, or
    /// else the keys the resource had when the entry was journalled.
    pub vendor_keys: Value,
}

/// What a worker asks the queue for.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// Who holds the entries claimed (unique per process).
    pub owner: &'a str,
    /// Only entries of these connectors (those this process delivers for).
    pub connectors: &'a [String],
    /// How long the entries stay held; another worker takes over one whose lease ended.
    pub lease: std::time::Duration,
    pub limit: usize,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The vendor accepted it and answered with these keys.
    Delivered(Value),
    /// A transient failure: attempt again after this delay.
    RetryIn(std::time::Duration, String),
    /// Given up on with this reason.
    Failed(String),
}

/// Which queued deliveries an operator lists, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueFilter<'a> {
    pub connector: Option<&'a str>,
    pub state: Option<DeliveryState>,
    /// Only entries with a smaller sequence number (the next page).
    pub before_seq: Option<i64>,
    pub limit: usize,
}

/// Which journal entries an operator lists, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct JournalFilter<'a> {
    pub connector: Option<&'a str>,
    pub state: Option<JournalState>,
    /// Only entries with a smaller sequence number (the next page).
    pub before_seq: Option<i64>,
    pub limit: usize,
}

/// Whose history [`crate::Journal::journal_history`] reads.
#[derive(Debug, Clone, Copy)]
pub enum HistoryKey<'a> {
    /// One resource of one connector.
    Resource { connector: &'a str, id: &'a str },
    /// The writes one request made (a Bulk request makes several).
    Request(&'a str),
}

impl<'a> HistoryKey<'a> {
    /// The statement that reads this key's history, and its first two parameters.
    pub(crate) fn query(&self) -> (crate::sql::Statement, &'a str, Option<&'a str>) {
        match *self {
            HistoryKey::Resource { connector, id } => {
                (crate::sql::HISTORY_OF_RESOURCE, connector, Some(id))
            }
            HistoryKey::Request(id) => (crate::sql::HISTORY_OF_REQUEST, id, None),
        }
    }
}

/// One page of a history, newest first.
#[derive(Debug, Clone, Copy)]
pub struct HistoryFilter<'a> {
    pub key: HistoryKey<'a>,
    /// Only entries in this state (`committed`: the write happened; `failed`: it was refused).
    pub state: Option<JournalState>,
    /// Only entries journalled at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries journalled before this time.
    pub until: Option<OffsetDateTime>,
    /// Only entries with a smaller sequence number (the next page).
    pub before_seq: Option<i64>,
    pub limit: usize,
}

/// One record of a write's trail: what the gateway wrote, kept as it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailRecord {
    /// The request (or queued write) the record belongs to.
    pub request_id: String,
    pub at: OffsetDateTime,
    /// The record (a JSON object; the gateway decides its fields).
    pub record: Value,
}

/// What [`crate::Store::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Settled deliveries (delivered or dropped).
    pub deliveries: u64,
    /// Settled journal entries (committed or failed).
    pub journal: u64,
    /// Trail records no journal entry holds any more.
    pub trail: u64,
}

impl Pruned {
    fn add(self, other: Pruned) -> Pruned {
        Pruned {
            deliveries: self.deliveries + other.deliveries,
            journal: self.journal + other.journal,
            trail: self.trail + other.trail,
        }
    }

    /// Adds up batches until one removes nothing.
    pub(crate) async fn until_done<F, Fut>(mut batch: F) -> Result<Pruned, crate::StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Pruned, crate::StoreError>>,
    {
        let mut total = Pruned::default();
        loop {
            let done = batch().await?;
            if done == Pruned::default() {
                return Ok(total);
            }
            total = total.add(done);
        }
    }
}

/// The queue of one connector, for metrics and the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub connector: String,
    /// Entries waiting for delivery (due or backing off).
    pub queued: u64,
    /// Entries given up on, waiting for an operator.
    pub failed: u64,
    /// When the oldest waiting entry was written.
    pub oldest_queued: Option<OffsetDateTime>,
}
