//! Applying a journalled change, the same way on both backends, inside the caller's
//! transaction: version checks, index columns, e-mail rows, memberships, counters, and the
//! journal entry marked committed. Any error leaves everything as it was (the caller rolls
//! back), so the entry stays pending.

use std::collections::BTreeMap;

use scim::ResourceKind;
use scim::members::{Member, MemberDelta};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::keys::IndexKeys;
use crate::tx::{Fetched, WriteTx};
use crate::{Change, StoreError, StoredResource};

/// Where the vendor stands in a write journalled and applied in one transaction.
pub(crate) enum Vendor {
    /// Done already (or there is none): the resource takes these keys.
    Done(Value),
    /// Queued: the resource keeps its keys and the delivery is queued with the entry.
    Queued,
}

impl Vendor {
    /// The keys [`apply`] gives the resource (`None`: it keeps its own).
    pub(crate) fn keys(self) -> Option<Value> {
        match self {
            Vendor::Done(keys) => Some(keys),
            Vendor::Queued => None,
        }
    }
}

/// `vendor_keys: None` keeps the keys the resource has (none at creation): a queued write,
/// whose vendor keys come with its delivery.
pub(crate) async fn commit<T: WriteTx>(
    tx: &mut T,
    seq: i64,
    vendor_keys: Option<Value>,
    now: OffsetDateTime,
) -> Result<Option<StoredResource>, StoreError> {
    let entry = tx
        .pending_entry(seq)
        .await?
        .ok_or(StoreError::NoSuchEntry(seq))?;
    let stored = apply(
        tx,
        &entry.connector,
        entry.kind,
        entry.change,
        vendor_keys,
        now,
    )
    .await?;
    tx.mark_committed(seq).await?;
    Ok(stored)
}

/// Applies a change to the resources (what [`commit`] does besides the journal): for a caller
/// that holds the change already and records its journal entry as committed itself.
pub(crate) async fn apply<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    kind: ResourceKind,
    change: Change,
    vendor_keys: Option<Value>,
    now: OffsetDateTime,
) -> Result<Option<StoredResource>, StoreError> {
    let stored = match change {
        Change::Create {
            id,
            attributes,
            members,
        } => {
            let resource = StoredResource {
                kind,
                id,
                version: 1,
                created: now,
                last_modified: now,
                attributes,
                vendor_keys: vendor_keys.unwrap_or_else(|| Value::Object(Map::new())),
            };
            insert(tx, connector, &resource).await?;
            change_members(tx, connector, &resource.id, &members).await?;
            tx.add_to_count(connector, kind, 1).await?;
            Some(resource)
        }
        Change::Replace {
            id,
            expected_version,
            attributes,
            members,
        } => {
            let current = at_version(tx, connector, kind, &id, expected_version).await?;
            let vendor_keys = vendor_keys.unwrap_or_else(|| current.resource.vendor_keys.clone());
            let next = replace(tx, connector, current, attributes, vendor_keys, now).await?;
            change_members(tx, connector, &id, &members).await?;
            Some(next)
        }
        Change::Delete {
            id,
            expected_version,
            ..
        } => {
            let current = at_version(tx, connector, kind, &id, expected_version).await?;
            tx.delete(current.seq).await?;
            match kind {
                ResourceKind::Group => tx.clear_members(connector, &id).await?,
                ResourceKind::User => remove_from_groups(tx, connector, &id, now).await?,
            }
            tx.add_to_count(connector, kind, -1).await?;
            None
        }
    };
    Ok(stored)
}

/// Writes resources as the commits of their creation would have (rows, index columns, e-mail
/// rows, counters), without journal entries and without members.
pub(crate) async fn load<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    resources: &[StoredResource],
) -> Result<(), StoreError> {
    let mut added: BTreeMap<ResourceKind, i64> = BTreeMap::new();
    for resource in resources {
        insert(tx, connector, resource).await?;
        *added.entry(resource.kind).or_default() += 1;
    }
    for (kind, count) in added {
        tx.add_to_count(connector, kind, count).await?;
    }
    Ok(())
}

/// A new resource's row and the rows indexing it.
async fn insert<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    resource: &StoredResource,
) -> Result<(), StoreError> {
    let keys = IndexKeys::of(resource.kind, &resource.attributes);
    let resource_seq = tx.insert(connector, resource, &keys).await?;
    if !keys.emails.is_empty() {
        tx.set_emails(connector, resource_seq, &keys.emails).await?;
    }
    Ok(())
}

/// Applies a Group's member delta: one row per member named, whatever the group's size.
async fn change_members<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    group_id: &str,
    members: &MemberDelta,
) -> Result<(), StoreError> {
    if !members.remove.is_empty() {
        tx.remove_members(connector, group_id, &members.remove)
            .await?;
    }
    if !members.add.is_empty() {
        // Each id once (the last mention wins): one statement may not touch a row twice.
        let mut seen = std::collections::HashSet::new();
        let mut add: Vec<Member> = members
            .add
            .iter()
            .rev()
            .filter(|m| seen.insert(m.value.as_str()))
            .cloned()
            .collect();
        add.reverse();
        tx.add_members(connector, group_id, &add).await?;
    }
    Ok(())
}

/// The resource, which must exist and be at `expected` version.
async fn at_version<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    kind: ResourceKind,
    id: &str,
    expected: i64,
) -> Result<Fetched, StoreError> {
    let current = tx
        .current(connector, kind, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            kind,
            id: id.to_owned(),
        })?;
    if current.resource.version != expected {
        return Err(StoreError::VersionConflict {
            kind,
            id: id.to_owned(),
            expected,
            actual: current.resource.version,
        });
    }
    Ok(current)
}

/// Writes new attributes as the next version, keeping index rows in step.
async fn replace<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    current: Fetched,
    attributes: Map<String, Value>,
    vendor_keys: Value,
    now: OffsetDateTime,
) -> Result<StoredResource, StoreError> {
    let Fetched { seq, resource } = current;
    let kind = resource.kind;
    let next = StoredResource {
        version: resource.version + 1,
        last_modified: now,
        attributes,
        vendor_keys,
        ..resource
    };
    let keys = IndexKeys::of(kind, &next.attributes);
    tx.update(seq, &next, &keys).await?;
    if kind == ResourceKind::User {
        tx.set_emails(connector, seq, &keys.emails).await?;
    }
    Ok(next)
}

/// Removes a deleted User from the members of every Group listing it; each such Group moves
/// to its next version (its attributes, which hold no members, stay as they are).
async fn remove_from_groups<T: WriteTx>(
    tx: &mut T,
    connector: &str,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let member = [user_id.to_owned()];
    for group_id in tx.groups_listing(connector, user_id).await? {
        // The Group's row first, then its memberships: the order a Group replace locks them in.
        let Some(Fetched { seq, resource }) = tx
            .current(connector, ResourceKind::Group, &group_id)
            .await?
        else {
            continue;
        };
        tx.remove_members(connector, &group_id, &member).await?;
        let next = StoredResource {
            version: resource.version + 1,
            last_modified: now,
            ..resource
        };
        tx.update(
            seq,
            &next,
            &IndexKeys::of(ResourceKind::Group, &next.attributes),
        )
        .await?;
    }
    Ok(())
}
