//! A Group's members on the write path (docs/architecture.md "Groups at scale"): every write of
//! members becomes a [`MemberDelta`] against what the store holds, reading only the members a
//! request names, so adding one member to a group of 100,000 reads one membership row. Only
//! what needs the whole list reads it: a `replace` of the list (Okta's full push), a PUT, a
//! `remove` of every member, a delete, and the PATCH forms [`scim::members::split_patch`]
//! leaves to the full engine.
//!
//! A member must exist: an id that names no User or Group of the connector is refused with
//! 400 `invalidValue`, and each new member's `type` is what it is in the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use scim::members::{Member, MemberDelta, MemberOp};
use scim::{ResourceKind, ScimType};
use store::Store;

use crate::error::ApiError;

/// The members of one Group as a write sees them: what the store holds for the ids it looked
/// at, and what the operations made of them.
struct Overlay {
    /// Stored membership of each id looked at (`None`: not a member).
    stored: BTreeMap<String, Option<Member>>,
    /// The same ids after the operations so far.
    now: BTreeMap<String, Option<Member>>,
}

impl Overlay {
    fn new(stored: BTreeMap<String, Option<Member>>) -> Overlay {
        Overlay {
            now: stored.clone(),
            stored,
        }
    }

    fn add(&mut self, member: Member) {
        let slot = self.now.entry(member.value.clone()).or_insert(None);
        let display = member
            .display
            .clone()
            .or_else(|| slot.as_ref().and_then(|m| m.display.clone()));
        let kind = slot.as_ref().and_then(|m| m.kind).or(member.kind);
        *slot = Some(Member {
            display,
            kind,
            ..member
        });
    }

    fn remove(&mut self, id: &str) {
        if let Some(slot) = self.now.get_mut(id) {
            *slot = None;
        }
    }

    fn clear(&mut self) {
        for slot in self.now.values_mut() {
            *slot = None;
        }
    }

    /// What changed, in id order: members added (or given a new `display`) and removed.
    fn delta(self) -> MemberDelta {
        let mut delta = MemberDelta::default();
        for (id, now) in self.now {
            match (self.stored.get(&id).cloned().flatten(), now) {
                (None, Some(member)) => delta.add.push(member),
                (Some(_), None) => delta.remove.push(id),
                (Some(old), Some(member)) if old.display != member.display => {
                    delta.add.push(member)
                }
                _ => {}
            }
        }
        delta
    }
}

/// Reads the members of Groups for one connector's writes.
pub(crate) struct Members<'a> {
    pub store: &'a Arc<dyn Store>,
    pub connector: &'a str,
}

impl Members<'_> {
    /// Every member of the Group, keyed by id.
    async fn all(&self, group_id: &str) -> Result<BTreeMap<String, Option<Member>>, ApiError> {
        Ok(self
            .store
            .members(self.connector, group_id, None)
            .await?
            .into_iter()
            .map(|m| (m.value.clone(), Some(m)))
            .collect())
    }

    /// The stored membership of these ids (`None` for those that are no members).
    async fn among(
        &self,
        group_id: &str,
        ids: Vec<String>,
    ) -> Result<BTreeMap<String, Option<Member>>, ApiError> {
        let mut out: BTreeMap<String, Option<Member>> =
            ids.into_iter().map(|id| (id, None)).collect();
        if out.is_empty() {
            return Ok(out);
        }
        let ids: Vec<String> = out.keys().cloned().collect();
        for member in self
            .store
            .members(self.connector, group_id, Some(&ids))
            .await?
        {
            out.insert(member.value.clone(), Some(member));
        }
        Ok(out)
    }

    /// The delta the member operations of a Group PATCH make, in request order.
    pub async fn patch(&self, group_id: &str, ops: &[MemberOp]) -> Result<MemberDelta, ApiError> {
        if ops.is_empty() {
            return Ok(MemberDelta::default());
        }
        let whole = ops
            .iter()
            .any(|op| matches!(op, MemberOp::Clear | MemberOp::Set(_)));
        let stored = if whole {
            // A new whole list (or none) is a difference against every member.
            let mut all = self.all(group_id).await?;
            for id in named(ops) {
                all.entry(id).or_insert(None);
            }
            all
        } else {
            self.among(group_id, named(ops)).await?
        };
        let mut overlay = Overlay::new(stored);
        for op in ops {
            match op {
                MemberOp::Add(members) => members.iter().for_each(|m| overlay.add(m.clone())),
                MemberOp::Remove(ids) => ids.iter().for_each(|id| overlay.remove(id)),
                MemberOp::Clear => overlay.clear(),
                MemberOp::Set(members) => {
                    overlay.clear();
                    members.iter().for_each(|m| overlay.add(m.clone()));
                }
            }
        }
        let mut delta = overlay.delta();
        self.check_new(&mut delta).await?;
        Ok(delta)
    }

    /// The delta from the stored members to `members`, the whole new list (PUT, or a PATCH the
    /// full engine ran on the whole Group).
    pub async fn replace_all(
        &self,
        group_id: &str,
        members: Vec<Member>,
    ) -> Result<MemberDelta, ApiError> {
        self.patch(group_id, &[MemberOp::Set(members)]).await
    }

    /// The members of a new Group (each once, as [`scim::members::take_members`] gives them),
    /// checked.
    pub async fn first(&self, members: Vec<Member>) -> Result<MemberDelta, ApiError> {
        let mut delta = MemberDelta::joining(members);
        self.check_new(&mut delta).await?;
        Ok(delta)
    }

    /// Every member of a Group being deleted, as leaving (a vendor that keeps membership on
    /// each member must take the Group off each).
    pub async fn leaving(&self, group_id: &str) -> Result<MemberDelta, ApiError> {
        Ok(MemberDelta::leaving(
            self.all(group_id).await?.into_keys().collect(),
        ))
    }

    /// The Group's members as SCIM shows them, for an answer that includes them.
    pub async fn listed(&self, group_id: &str) -> Result<Vec<Member>, ApiError> {
        Ok(self.store.members(self.connector, group_id, None).await?)
    }

    /// Refuses a member that names no User or Group of the connector, and gives each one
    /// added its kind from the store (whatever `type` the client said).
    async fn check_new(&self, delta: &mut MemberDelta) -> Result<(), ApiError> {
        let ids: Vec<String> = delta.add.iter().map(|m| m.value.clone()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let kinds: BTreeMap<String, ResourceKind> = self
            .store
            .kinds_of(self.connector, &ids)
            .await?
            .into_iter()
            .collect();
        let missing: Vec<&str> = ids
            .iter()
            .filter(|id| !kinds.contains_key(*id))
            .map(String::as_str)
            .collect();
        if let Some(first) = missing.first() {
            let more = match missing.len() {
                1 => String::new(),
                n => format!(" (and {} more of the {n} named)", n - 1),
            };
            return Err(ApiError::bad_request(
                ScimType::InvalidValue,
                format!(
                    "members: \"{first}\"{more} is not the id of a User or Group of connector \
                     \"{}\"; create the member first, or leave it out",
                    self.connector
                ),
            ));
        }
        for member in &mut delta.add {
            if let Some(kind) = kinds.get(&member.value) {
                member.kind = Some(*kind);
            }
        }
        Ok(())
    }
}

/// Every id the operations name.
fn named(ops: &[MemberOp]) -> Vec<String> {
    let mut ids = Vec::new();
    for op in ops {
        match op {
            MemberOp::Add(members) | MemberOp::Set(members) => {
                ids.extend(members.iter().map(|m| m.value.clone()))
            }
            MemberOp::Remove(list) => ids.extend(list.iter().cloned()),
            MemberOp::Clear => {}
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, display: Option<&str>) -> Member {
        Member {
            value: id.into(),
            kind: Some(ResourceKind::User),
            display: display.map(str::to_owned),
        }
    }

    fn overlay(stored: &[&str], looked_at: &[&str]) -> Overlay {
        let mut map: BTreeMap<String, Option<Member>> = looked_at
            .iter()
            .map(|id| ((*id).to_owned(), None))
            .collect();
        for id in stored {
            map.insert((*id).to_owned(), Some(member(id, None)));
        }
        Overlay::new(map)
    }

    #[test]
    fn operations_fold_into_the_smallest_delta() {
        // u1 and u2 are members; add u3, remove u1, add u1 back, remove u4 (never a member).
        let mut o = overlay(&["u1", "u2"], &["u3", "u4"]);
        o.add(member("u3", None));
        o.remove("u1");
        o.add(member("u1", None));
        o.remove("u4");
        let delta = o.delta();
        assert_eq!(delta.add, vec![member("u3", None)]);
        assert!(delta.remove.is_empty(), "u1 left and came back: no change");
    }

    #[test]
    fn a_new_display_is_a_change_and_a_missing_one_keeps_the_old() {
        let mut o = overlay(&["u1", "u2"], &[]);
        o.add(member("u1", Some("One")));
        o.add(member("u2", None));
        assert_eq!(o.delta().add, vec![member("u1", Some("One"))]);
    }

    #[test]
    fn clear_then_add_removes_the_others() {
        let mut o = overlay(&["u1", "u2"], &["u3"]);
        o.clear();
        o.add(member("u2", None));
        o.add(member("u3", None));
        let delta = o.delta();
        assert_eq!(delta.remove, vec!["u1".to_owned()]);
        assert_eq!(delta.add, vec![member("u3", None)]);
    }
}
