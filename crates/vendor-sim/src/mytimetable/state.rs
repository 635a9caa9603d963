//! The MyTimetable data: usernames and push synchronizations.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// What `DELETE /synchronizations/{id}` does to the events already pushed (seed 000).
///
/// Parsed case-sensitively, like the Java enum behind it (`unlink_only` is invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnlinkMode {
    /// Leave all events in place.
    UnlinkOnly,
    /// Remove the future events pushed by this synchronization id.
    DeleteFutureEvents,
    /// Remove all events pushed by this synchronization id.
    DeleteAllEvents,
    /// Remove all events pushed by this MyTimetable instance, any synchronization id.
    Cleanup,
}

impl UnlinkMode {
    /// The four documented values, exactly as spelled in seed 000.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "UNLINK_ONLY" => Some(Self::UnlinkOnly),
            "DELETE_FUTURE_EVENTS" => Some(Self::DeleteFutureEvents),
            "DELETE_ALL_EVENTS" => Some(Self::DeleteAllEvents),
            "CLEANUP" => Some(Self::Cleanup),
            _ => None,
        }
    }
}

/// One push synchronization, as `GET /synchronizations` lists it (plus the optional mailbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synchronization {
    pub id: u64,
    /// The owner's username in its stored (first-seen) case.
    pub username: String,
    /// The calendar provider, e.g. `o365`, `ews`, `googlecalendar`.
    pub sync_type: String,
    /// `provisioning_smtpAddress`, when the creating request carried one.
    pub smtp_address: Option<String>,
    /// Creation time in ms since the Unix epoch, shown as `lastResync` by the "2019.16+" profile.
    pub created_at_ms: u64,
}

/// A user. v8 stores only the username; the "2019.16+" profile (docs/connectors/mytimetable.md "Later versions of the API") adds the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProfile {
    /// As first seen.
    pub username: String,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    /// `None` until set (shown as `null`).
    pub attributes: Option<Vec<Attribute>>,
    /// `ROLE_*` values.
    pub roles: Vec<String>,
}

/// One profile attribute, e.g. `urn:mace:dir:attribute-def:mail` with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<String>,
}

/// The profile fields a "2019.16+" create or update carries; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub attributes: Option<Vec<Attribute>>,
    pub roles: Option<Vec<String>>,
}

impl UserProfile {
    fn apply(&mut self, update: ProfileUpdate) {
        let ProfileUpdate {
            display_name,
            locale,
            attributes,
            roles,
        } = update;
        if display_name.is_some() {
            self.display_name = display_name;
        }
        if locale.is_some() {
            self.locale = locale;
        }
        if attributes.is_some() {
            self.attributes = attributes;
        }
        if let Some(roles) = roles {
            self.roles = roles;
        }
    }
}

/// Whether an upsert created the user or updated an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upserted {
    Created,
    Updated,
}

/// A synchronization that was removed, and how: what a test asserts on to check that the client
/// sent the configured `unlinkMode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDeletion {
    pub synchronization: Synchronization,
    pub mode: UnlinkMode,
    /// True when the sync went because its user was deleted (docs/connectors/mytimetable.md "Quirks": cascade as
    /// `UNLINK_ONLY`), false for an explicit `DELETE /synchronizations/{id}`.
    pub cascaded: bool,
}

/// Why a synchronization could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateSyncError {
    /// docs/connectors/mytimetable.md "Quirks" [O]: the username names no user (answered 422).
    UnknownUser,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Creation sequence → user; `GET /users` lists in creation order.
    users: BTreeMap<u64, UserProfile>,
    /// Case-folded username → creation sequence.
    user_index: HashMap<String, u64>,
    next_user_seq: u64,
    syncs: BTreeMap<u64, Synchronization>,
    /// Last synchronization id handed out; ids are never reused, like an identity column.
    last_sync_id: u64,
    deletions: Vec<SyncDeletion>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// docs/connectors/mytimetable.md "Quirks" [O]: the backing SQL Server's default collation compares case-insensitively.
fn fold(name: &str) -> String {
    name.to_lowercase()
}

impl State {
    pub(crate) fn users(&self) -> Vec<String> {
        self.users.values().map(|u| u.username.clone()).collect()
    }

    /// The stored spelling of `name`, if such a user exists (any case).
    pub(crate) fn find_user(&self, name: &str) -> Option<&str> {
        self.profile(name).map(|u| u.username.as_str())
    }

    pub(crate) fn profile(&self, name: &str) -> Option<&UserProfile> {
        let seq = self.user_index.get(&fold(name))?;
        self.users.get(seq)
    }

    fn profile_mut(&mut self, name: &str) -> Option<&mut UserProfile> {
        let seq = self.user_index.get(&fold(name))?;
        self.users.get_mut(seq)
    }

    /// Creates the user unless it exists in any case; true when created.
    pub(crate) fn ensure_user(&mut self, name: &str) -> bool {
        let key = fold(name);
        if self.user_index.contains_key(&key) {
            return false;
        }
        self.next_user_seq += 1;
        self.user_index.insert(key, self.next_user_seq);
        self.users.insert(
            self.next_user_seq,
            UserProfile {
                username: name.to_owned(),
                ..UserProfile::default()
            },
        );
        true
    }

    /// Creates the user if needed, then applies the update.
    pub(crate) fn upsert_profile(&mut self, name: &str, update: ProfileUpdate) -> Upserted {
        let outcome = if self.ensure_user(name) {
            Upserted::Created
        } else {
            Upserted::Updated
        };
        if let Some(profile) = self.profile_mut(name) {
            profile.apply(update);
        }
        outcome
    }

    /// Deletes the user and its synchronizations; true when the user existed.
    pub(crate) fn delete_user(&mut self, name: &str) -> bool {
        let Some(seq) = self.user_index.remove(&fold(name)) else {
            return false;
        };
        let Some(UserProfile {
            username: stored, ..
        }) = self.users.remove(&seq)
        else {
            return false;
        };
        // docs/connectors/mytimetable.md "Quirks" [O]: a user's syncs go with it, as if unlinked with UNLINK_ONLY.
        let owned: Vec<u64> = self
            .syncs
            .values()
            .filter(|s| s.username == stored)
            .map(|s| s.id)
            .collect();
        for id in owned {
            self.remove_sync(id, UnlinkMode::UnlinkOnly, true);
        }
        true
    }

    pub(crate) fn synchronizations(&self) -> Vec<Synchronization> {
        self.syncs.values().cloned().collect()
    }

    /// A user's synchronizations, or `None` for an unknown user.
    pub(crate) fn user_synchronizations(&self, name: &str) -> Option<Vec<Synchronization>> {
        let owner = self.find_user(name)?;
        Some(
            self.syncs
                .values()
                .filter(|s| s.username == owner)
                .cloned()
                .collect(),
        )
    }

    /// Deletes a user's synchronizations (of one type, or all); the number deleted, or `None`
    /// for an unknown user.
    pub(crate) fn delete_user_synchronizations(
        &mut self,
        name: &str,
        sync_type: Option<&str>,
        mode: UnlinkMode,
    ) -> Option<usize> {
        let type_key = sync_type.map(fold);
        let ids: Vec<u64> = self
            .user_synchronizations(name)?
            .iter()
            .filter(|s| type_key.as_ref().is_none_or(|t| fold(&s.sync_type) == *t))
            .map(|s| s.id)
            .collect();
        for id in &ids {
            self.remove_sync(*id, mode, false);
        }
        Some(ids.len())
    }

    /// Creates a synchronization, or returns the id of the one the user already has of this
    /// type (docs/connectors/mytimetable.md "Quirks" [O]: at most one per (username, type); a repeat changes nothing).
    pub(crate) fn create_sync(
        &mut self,
        username: &str,
        sync_type: &str,
        smtp_address: Option<&str>,
    ) -> Result<u64, CreateSyncError> {
        let owner = self
            .find_user(username)
            .ok_or(CreateSyncError::UnknownUser)?
            .to_owned();
        let type_key = fold(sync_type);
        if let Some(existing) = self
            .syncs
            .values()
            .find(|s| s.username == owner && fold(&s.sync_type) == type_key)
        {
            return Ok(existing.id);
        }
        self.last_sync_id += 1;
        let id = self.last_sync_id;
        self.syncs.insert(
            id,
            Synchronization {
                id,
                username: owner,
                sync_type: sync_type.to_owned(),
                smtp_address: smtp_address.map(str::to_owned),
                created_at_ms: now_ms(),
            },
        );
        Ok(id)
    }

    /// Deletes one synchronization; false when the id is unknown.
    pub(crate) fn delete_sync(&mut self, id: u64, mode: UnlinkMode) -> bool {
        self.remove_sync(id, mode, false)
    }

    fn remove_sync(&mut self, id: u64, mode: UnlinkMode, cascaded: bool) -> bool {
        let Some(synchronization) = self.syncs.remove(&id) else {
            return false;
        };
        self.deletions.push(SyncDeletion {
            synchronization,
            mode,
            cascaded,
        });
        true
    }

    pub(crate) fn deletions(&self) -> Vec<SyncDeletion> {
        self.deletions.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_keep_the_first_spelling() {
        let mut s = State::default();
        assert!(s.ensure_user("Alice"));
        assert!(!s.ensure_user("ALICE"));
        assert_eq!(s.find_user("alice"), Some("Alice"));
        assert_eq!(s.users(), ["Alice"]);
    }

    #[test]
    fn sync_ids_are_never_reused_and_user_delete_cascades() {
        let mut s = State::default();
        s.ensure_user("bob");
        assert_eq!(s.create_sync("bob", "ews", None), Ok(1));
        assert_eq!(s.create_sync("BOB", "EWS", None), Ok(1));
        assert_eq!(s.create_sync("bob", "o365", None), Ok(2));
        assert!(s.delete_sync(2, UnlinkMode::Cleanup));
        assert_eq!(s.create_sync("bob", "o365", None), Ok(3));
        assert!(s.delete_user("Bob"));
        assert!(s.synchronizations().is_empty());
        let cascaded: Vec<_> = s.deletions().iter().map(|d| d.cascaded).collect();
        assert_eq!(cascaded, [false, true, true]);
        assert_eq!(
            s.create_sync("bob", "ews", None),
            Err(CreateSyncError::UnknownUser)
        );
    }
}
