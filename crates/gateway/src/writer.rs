//! The write path (docs/architecture.md "Consistency"): validate with the SCIM core, journal
//! the intent, let the connector make the vendor match, commit to the store with a new version.
//! Writes to one resource are serialised in this process; the store's version check catches
//! writers in other processes, and a PATCH that loses such a race is re-applied to the new
//! version.
//!
//! [`Writer`] knows nothing of HTTP: the SCIM handlers, Bulk and `import` write through it
//! alike. With `delivery = "queued"` the write is committed and its delivery queued in one
//! step, and the worker in `delivery.rs` brings the vendor along afterwards; that worker and
//! start-up recovery run a journalled change through [`apply_entry`], the one place where a
//! journal entry becomes a connector change.
//!
//! A `password` reaches the connector but is never journalled or stored: the store keeps no
//! verifying material for users, and the journal must not hold secrets in clear.

use std::sync::Arc;

use connector::{ConnectorError, KeyLookup, ResourceChange};
use scim::etag::TagList;
use scim::members::{Member, MemberDelta, put_members, split_patch};
use scim::patch::{self, PatchOutcome, PatchRequest};
use scim::schema::Returned;
use scim::validate::{check_immutable, check_size, validate_resource};
use scim::{ResourceKind, ResourceSchema, ScimError, ScimType};
use serde_json::{Map, Value};
use store::{Change, JournalEntry, NewJournalEntry, Store, StoreError, StoredResource};

use crate::config::DeliveryMode;
use crate::error::ApiError;
use crate::membership::Members;
use crate::state::{AppState, ConnectorRuntime};

/// How many times a PATCH is re-applied after losing a race to another process.
const PATCH_RETRIES: usize = 3;

/// The precondition a write carries (`If-Match`, or a Bulk operation's `version`).
pub type Precondition<'a> = Option<&'a str>;

fn check_precondition(
    precondition: Precondition<'_>,
    current: &StoredResource,
) -> Result<(), ApiError> {
    let Some(header) = precondition else {
        return Ok(());
    };
    let tags = TagList::parse(header)
        .map_err(|e| ApiError::bad_request(ScimType::InvalidValue, e.to_string()))?;
    if tags.matches(Some(&current.version.to_string())) {
        Ok(())
    } else {
        Err(ApiError::new(ScimError::precondition_failed(format!(
            "{} {} is at version W/\"{}\", not the one in If-Match; read it again and retry",
            current.kind, current.id, current.version
        ))))
    }
}

/// The attributes without the write-only ones (`returned: never`: `password`, a connector's
/// credentials): what is journalled and stored. They reach the connector, nothing else.
fn without_write_only(
    schema: &ResourceSchema,
    attributes: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = attributes.clone();
    for (extension, attribute) in schema.all_attributes() {
        if attribute.returned != Returned::Never {
            continue;
        }
        match extension {
            None => {
                out.shift_remove(&attribute.name);
            }
            Some(urn) => {
                let now_empty = match out.get_mut(urn).and_then(Value::as_object_mut) {
                    Some(values) => {
                        values.shift_remove(&attribute.name);
                        values.is_empty()
                    }
                    None => false,
                };
                if now_empty {
                    out.shift_remove(urn);
                }
            }
        }
    }
    out
}

/// Advances the connector's cache generation when dropped: after the commit (or the failure)
/// and before the answer, whichever way the write ends.
struct Invalidate<'a>(&'a crate::cache::ResponseCache, &'a str);

impl Drop for Invalidate<'_> {
    fn drop(&mut self) {
        self.0.invalidate(self.1);
    }
}

/// Writes to one connector on behalf of one caller (a SCIM request, a Bulk operation, an
/// `import` row).
pub struct Writer {
    state: Arc<AppState>,
    runtime: Arc<ConnectorRuntime>,
    /// The request id, kept with the journal entry and passed to the vendor where it takes one.
    request_id: Option<String>,
}

impl Writer {
    pub fn new(
        state: Arc<AppState>,
        runtime: Arc<ConnectorRuntime>,
        request_id: Option<String>,
    ) -> Writer {
        Writer {
            state,
            runtime,
            request_id,
        }
    }

    /// The same writer for another request id: each row of an import is a request of its
    /// own (`import-…-line`), so that its trail and its delivery are its own.
    pub fn for_request(&self, request_id: String) -> Writer {
        Writer {
            state: Arc::clone(&self.state),
            runtime: Arc::clone(&self.runtime),
            request_id: Some(request_id),
        }
    }

    /// The request id the writes are journalled with.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The connector written to.
    pub fn runtime(&self) -> &ConnectorRuntime {
        &self.runtime
    }

    fn schema(&self, kind: ResourceKind) -> Result<&ResourceSchema, ApiError> {
        self.runtime.offered_schema(kind)
    }

    /// The resource holding `value` as its unique attribute (`userName`, `displayName`).
    pub async fn find_unique(
        &self,
        kind: ResourceKind,
        value: &str,
    ) -> Result<Option<StoredResource>, ApiError> {
        let store = &self.state.store;
        match store
            .find_by_unique_key(&self.runtime.name, kind, value)
            .await?
        {
            Some(id) => Ok(store.get(&self.runtime.name, kind, &id).await?),
            None => Ok(None),
        }
    }

    async fn current(&self, kind: ResourceKind, id: &str) -> Result<StoredResource, ApiError> {
        self.state
            .store
            .get(&self.runtime.name, kind, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("{kind} {id} not found")))
    }

    /// Refuses early (before any vendor call) a unique value another resource holds.
    async fn check_unique(
        &self,
        kind: ResourceKind,
        attributes: &Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<(), ApiError> {
        let attribute = kind.unique_attribute();
        let Some(value) = attributes.get(attribute).and_then(Value::as_str) else {
            return Ok(());
        };
        match self
            .state
            .store
            .find_by_unique_key(&self.runtime.name, kind, value)
            .await?
        {
            Some(holder) if Some(holder.as_str()) != own_id => {
                Err(ApiError::from(StoreError::Uniqueness {
                    kind,
                    attribute,
                    value: value.to_owned(),
                }))
            }
            _ => Ok(()),
        }
    }

    /// Journal, connector, commit. On a vendor refusal the entry is marked failed and the
    /// store is untouched.
    async fn write(
        &self,
        kind: ResourceKind,
        change: Change,
        before: Option<StoredResource>,
        after_for_vendor: Option<&Map<String, Value>>,
    ) -> Result<Option<StoredResource>, ApiError> {
        let id = change.id().to_owned();
        let empty = Value::Object(Map::new());
        let lookup = StoreLookup::new(self.state.store.clone(), &self.runtime.name);
        // The journal takes the change; the connector sees the same delta.
        let members = change.members().clone();
        let vendor_change = resource_change(
            kind,
            &id,
            before.as_ref(),
            after_for_vendor,
            &members,
            before.as_ref().map_or(&empty, |b| &b.vendor_keys),
            self.request_id.as_deref(),
            &lookup,
        );
        // What the connector will never do is refused before it is journalled.
        self.runtime.connector.check(&vendor_change)?;
        if let Some(guard) = &self.runtime.deletion_guard
            && let Some(what) = removal(&change, before.as_ref())
        {
            let name = before
                .as_ref()
                .and_then(|b| b.attributes.get(kind.unique_attribute()))
                .and_then(Value::as_str);
            let removal = store::Removal {
                kind,
                id: &id,
                name,
                what,
                request_id: self.request_id.as_deref(),
            };
            guard.admit(self.state.store.as_ref(), removal).await??;
        }
        let entry = NewJournalEntry {
            connector: self.runtime.name.clone(),
            kind,
            change,
            before: before.clone(),
            request_id: self.request_id.clone(),
        };
        if !self.runtime.connector.has_vendor() {
            let keys = self.runtime.connector.apply(vendor_change).await?;
            let _invalidate = Invalidate(&self.state.cache, &self.runtime.name);
            return Ok(self.state.store.journal_and_commit(entry, keys).await?);
        }
        if self.runtime.delivery == DeliveryMode::Queued {
            // Only what is journalled can be delivered later, and write-only values never are.
            if let (
                Some(after),
                Change::Create { attributes, .. } | Change::Replace { attributes, .. },
            ) = (after_for_vendor, &entry.change)
                && after != attributes
            {
                return Err(ApiError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "connector \"{}\" delivers writes from a queue, and write-only attributes \
                         (such as password) are never stored, so they could not be delivered; \
                         send the request without them, or configure delivery = \"sync\"",
                        self.runtime.name
                    ),
                ));
            }
            let _invalidate = Invalidate(&self.state.cache, &self.runtime.name);
            let stored = self.state.store.journal_commit_queue(entry).await?;
            self.state.queue.wake();
            return Ok(stored);
        }
        let seq = self.state.store.journal_append(entry).await?;
        // From here the resource may change: answers cached before are stale.
        let _invalidate = Invalidate(&self.state.cache, &self.runtime.name);
        let keys = match self.runtime.connector.apply(vendor_change).await {
            Ok(keys) => keys,
            Err(e) => {
                self.state.store.journal_fail(seq, &e.to_string()).await?;
                return Err(e.into());
            }
        };
        match self.state.store.commit(seq, keys).await {
            Ok(stored) => Ok(stored),
            Err(e) => {
                // The entry stays settled either way: the client sees why.
                if let Err(fail) = self.state.store.journal_fail(seq, &e.to_string()).await {
                    tracing::warn!(seq, error = %fail, "could not mark a journal entry failed");
                }
                Err(e.into())
            }
        }
    }

    /// POST: a new resource.
    pub async fn create(
        &self,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<StoredResource, ApiError> {
        let schema = self.schema(kind)?;
        let mut attributes = validate_resource(schema, body, self.runtime.unknown_attributes)?;
        let members = take_members(&mut attributes)?;
        check_size(&attributes, self.runtime.size_limits)?;
        self.check_unique(kind, &attributes, None).await?;
        let members = match members {
            Some(list) => self.members().first(list).await?,
            None => MemberDelta::default(),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let change = Change::Create {
            id,
            attributes: without_write_only(schema, &attributes),
            members,
        };
        self.write(kind, change, None, Some(&attributes))
            .await?
            .ok_or_else(|| ApiError::status(500, "the created resource was not returned"))
    }

    /// PUT: replaces every attribute (absent ones are cleared), keeps `id`.
    pub async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: Precondition<'_>,
    ) -> Result<StoredResource, ApiError> {
        let schema = self.schema(kind)?;
        let mut attributes = validate_resource(schema, body, self.runtime.unknown_attributes)?;
        let members = take_members(&mut attributes)?;
        check_size(&attributes, self.runtime.size_limits)?;
        let _guard = self.runtime.lock_resource(kind, id).await;
        let current = self.current(kind, id).await?;
        check_precondition(precondition, &current)?;
        check_immutable(schema, &current.attributes, &attributes)?;
        // PUT replaces the whole list: a Group sent without members has none.
        let members = match kind {
            ResourceKind::Group => {
                self.members()
                    .replace_all(id, members.unwrap_or_default())
                    .await?
            }
            ResourceKind::User => MemberDelta::default(),
        };
        let stored = without_write_only(schema, &attributes);
        // Nothing to store, and no write-only value (a password) that must reach the vendor.
        if stored == current.attributes && stored == attributes && members.is_empty() {
            return Ok(current);
        }
        self.check_unique(kind, &attributes, Some(id)).await?;
        let change = Change::Replace {
            id: id.to_owned(),
            expected_version: current.version,
            attributes: stored,
            members,
        };
        self.write(kind, change, Some(current), Some(&attributes))
            .await?
            .ok_or_else(|| ApiError::status(500, "the replaced resource was not returned"))
    }

    /// PATCH: applies the operations to the current version; re-applied if another process
    /// wrote in between (unless the client pinned a version with If-Match).
    pub async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: Precondition<'_>,
    ) -> Result<StoredResource, ApiError> {
        let schema = self.schema(kind)?;
        let request = PatchRequest::from_json(body)?;
        let _guard = self.runtime.lock_resource(kind, id).await;
        let mut attempt = 0;
        loop {
            let current = self.current(kind, id).await?;
            check_precondition(precondition, &current)?;
            let (outcome, members) = match kind {
                ResourceKind::User => (
                    apply_patch(schema, current.view(), &request).await?,
                    MemberDelta::default(),
                ),
                ResourceKind::Group => self.patch_group(schema, &current, &request).await?,
            };
            if !outcome.changed && members.is_empty() {
                return Ok(current);
            }
            let mut attributes = outcome.resource;
            attributes.shift_remove("id");
            attributes.shift_remove("meta");
            check_size(&attributes, self.runtime.size_limits)?;
            self.check_unique(kind, &attributes, Some(id)).await?;
            let change = Change::Replace {
                id: id.to_owned(),
                expected_version: current.version,
                attributes: without_write_only(schema, &attributes),
                members,
            };
            match self
                .write(kind, change, Some(current), Some(&attributes))
                .await
            {
                Err(e)
                    if e.error.status == 412
                        && precondition.is_none()
                        && attempt < PATCH_RETRIES =>
                {
                    attempt += 1
                }
                Err(e) => return Err(e),
                Ok(stored) => {
                    return stored.ok_or_else(|| {
                        ApiError::status(500, "the patched resource was not returned")
                    });
                }
            }
        }
    }

    /// DELETE.
    pub async fn delete(
        &self,
        kind: ResourceKind,
        id: &str,
        precondition: Precondition<'_>,
    ) -> Result<(), ApiError> {
        self.schema(kind)?;
        let _guard = self.runtime.lock_resource(kind, id).await;
        let current = self.current(kind, id).await?;
        check_precondition(precondition, &current)?;
        let members = match kind {
            ResourceKind::Group => self.members().leaving(id).await?,
            ResourceKind::User => MemberDelta::default(),
        };
        let change = Change::Delete {
            id: id.to_owned(),
            expected_version: current.version,
            members,
        };
        self.write(kind, change, Some(current), None).await?;
        Ok(())
    }

    /// GET by id. A Group comes without its members ([`Writer::members_of`] reads them).
    pub async fn fetch(&self, kind: ResourceKind, id: &str) -> Result<StoredResource, ApiError> {
        self.schema(kind)?;
        self.current(kind, id).await
    }

    /// The members of Group `id`, for an answer that shows them.
    pub async fn members_of(&self, id: &str) -> Result<Vec<Member>, ApiError> {
        self.members().listed(id).await
    }

    fn members(&self) -> Members<'_> {
        Members {
            store: &self.state.store,
            connector: &self.runtime.name,
        }
    }

    /// A Group PATCH: the operations on its other attributes run on them alone, and those on
    /// `members` become a delta that reads only the members they name. A member operation in
    /// a form only the whole list can answer runs on the whole Group instead.
    async fn patch_group(
        &self,
        schema: &ResourceSchema,
        current: &StoredResource,
        request: &PatchRequest,
    ) -> Result<(PatchOutcome, MemberDelta), ApiError> {
        if let Some(split) = split_patch(request) {
            let outcome = apply_patch(schema, current.view(), &split.rest).await?;
            let members = self.members().patch(&current.id, &split.members).await?;
            return Ok((outcome, members));
        }
        let mut view = current.view();
        put_members(&mut view, &self.members_of(&current.id).await?);
        let mut outcome = apply_patch(schema, view, request).await?;
        let after = take_members(&mut outcome.resource)?.unwrap_or_default();
        outcome.changed = outcome.resource != current.view();
        let members = self.members().replace_all(&current.id, after).await?;
        Ok((outcome, members))
    }
}

/// Estimated comparisons above which a PATCH is applied on a blocking thread rather than on
/// the actix worker, whose other requests would wait for it (a millisecond or so of CPU).
const PATCH_OFF_WORKER: u64 = 20_000;

/// Applies `request` to `resource` (refused above [`patch::cost::MAX_COST`]); a heavy one runs
/// off the actix worker, so that one client's PATCH does not stall the requests beside it.
async fn apply_patch(
    schema: &ResourceSchema,
    resource: Map<String, Value>,
    request: &PatchRequest,
) -> Result<PatchOutcome, ApiError> {
    let cost = patch::cost::check(request, &resource)?;
    if cost.total < PATCH_OFF_WORKER {
        return Ok(patch::apply(schema, &resource, request)?);
    }
    let (schema, request) = (schema.clone(), request.clone());
    tokio::task::spawn_blocking(move || patch::apply(&schema, &resource, &request))
        .await
        .map_err(|_| ApiError::status(500, "applying the PATCH failed"))?
        .map_err(ApiError::from)
}

/// Takes a Group's `members` out of its attributes as a client wrote them (the store keeps
/// them apart); `None` when there is no list.
/// Whether `change` removes an account, as the deletion guard counts it: a delete, or
/// `active` turned false on a resource that was active.
fn removal(change: &Change, before: Option<&StoredResource>) -> Option<&'static str> {
    match change {
        Change::Delete { .. } => Some("delete"),
        Change::Replace { attributes, .. } => {
            let inactive = |attrs: &Map<String, Value>| {
                attrs.get("active").and_then(scim::json::as_bool) == Some(false)
            };
            let was_active = before.is_some_and(|b| !inactive(&b.attributes));
            (was_active && inactive(attributes)).then_some("deactivate")
        }
        Change::Create { .. } => None,
    }
}

pub(crate) fn take_members(
    attributes: &mut Map<String, Value>,
) -> Result<Option<Vec<Member>>, ApiError> {
    scim::members::take_members(attributes)
        .map_err(|detail| ApiError::bad_request(ScimType::InvalidValue, detail))
}

/// The connector's view of one change: the resource before and after (`after` may carry the
/// write-only values the journal never holds), and the keys the vendor knows it by now.
#[allow(clippy::too_many_arguments)]
fn resource_change<'a>(
    kind: ResourceKind,
    id: &'a str,
    before: Option<&'a StoredResource>,
    after: Option<&'a Map<String, Value>>,
    members: &'a MemberDelta,
    vendor_keys: &'a Value,
    request_id: Option<&'a str>,
    lookup: &'a dyn KeyLookup,
) -> ResourceChange<'a> {
    ResourceChange {
        kind,
        id,
        before: before.map(|b| &b.attributes),
        after,
        members,
        vendor_keys,
        request_id,
        lookup,
    }
}

/// Runs `runtime`'s connector for a journalled change (start-up recovery, queued delivery);
/// `vendor_keys` are what the vendor knows the resource by now.
pub async fn apply_entry(
    store: &Arc<dyn Store>,
    runtime: &ConnectorRuntime,
    entry: &JournalEntry,
    vendor_keys: &Value,
) -> Result<Value, ConnectorError> {
    let after = match &entry.change {
        Change::Create { attributes, .. } | Change::Replace { attributes, .. } => Some(attributes),
        Change::Delete { .. } => None,
    };
    let lookup = StoreLookup::new(store.clone(), &entry.connector);
    let change = resource_change(
        entry.kind,
        entry.change.id(),
        entry.before.as_ref(),
        after,
        entry.change.members(),
        vendor_keys,
        entry.request_id.as_deref(),
        &lookup,
    );
    runtime.connector.apply(change).await
}

/// The vendor keys of a connector's other resources, read from the store.
#[derive(Clone)]
struct StoreLookup {
    store: Arc<dyn Store>,
    connector: String,
}

impl StoreLookup {
    fn new(store: Arc<dyn Store>, connector: &str) -> Self {
        StoreLookup {
            store,
            connector: connector.to_owned(),
        }
    }
}

impl std::fmt::Debug for StoreLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLookup")
            .field("connector", &self.connector)
            .finish()
    }
}

#[async_trait::async_trait]
impl KeyLookup for StoreLookup {
    async fn vendor_keys(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        match self.store.get(&self.connector, kind, id).await {
            Ok(found) => Ok(found.map(|r| r.vendor_keys)),
            Err(e) => Err(ConnectorError::Unavailable {
                reason: format!("cannot read the vendor keys of {kind} {id}: {e}"),
                retry_after: None,
            }),
        }
    }
}
