//! The simulator's in-memory model: per environment, the AD-synced users and groups, their
//! membership graph and profile pictures, plus the records of the other resources.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use super::errors::ApiError;

/// A user pushed by ActiveDirectorySync (docs/connectors/workspace365-adsync.md "Vendor calls" A1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdUser {
    pub object_id: Uuid,
    /// The environment's integer user id (what the activity API returns as `user.id`).
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub user_principal_name: String,
    pub email: Option<String>,
    pub secondary_email: Option<String>,
    pub is_admin: bool,
    pub is_active: bool,
    pub job_title: Option<String>,
    pub mobile_phone: Option<String>,
    /// A2 is a soft delete: the user sits in "deleted users" until an A1 restores it.
    pub deleted: bool,
}

/// A group pushed by ActiveDirectorySync (A3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdGroup {
    pub object_id: Uuid,
    /// The environment's integer group id (a `GroupLookup.Id` in activities-batch).
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
}

/// A profile picture uploaded with A9, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePicture {
    pub content_type: String,
    pub file_name: Option<String>,
    /// The multipart field name the client used (not documented; any is accepted).
    pub field_name: String,
    pub bytes: Vec<u8>,
}

/// An activity `Color`: kind 1 custom (with `value`), 2 primary, 3 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color {
    pub kind: i64,
    pub value: Option<String>,
}

/// An activity action button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub kind: i64,
    pub title: String,
    pub url: String,
}

/// An activity created by `POST api/activities` or one entry of `api/activities-batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: u64,
    pub user_id: u64,
    pub user_upn: String,
    pub icon: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub tag: Option<String>,
    pub color: Option<Color>,
    pub actions: Vec<Action>,
}

/// Where an announcement is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Category {
    /// No category given: the "Uncategorized" section.
    Uncategorized,
    Id(i64),
    Name(String),
}

/// Media attached to an announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    None,
    Image { filename: String, uri: String },
    Video { embed_code: String },
}

/// An announcement created by `POST api/announcements`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub id: u64,
    pub title: String,
    pub description: Option<String>,
    pub media: Media,
    pub category: Category,
    pub show_popup_directly_to_user: bool,
    pub allow_comments: bool,
    /// As sent (a DateTimeOffset, validated but not normalised).
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// An app available to a user (`GET api/users/{upn}/apps`); seeded by tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub app_id: i64,
    /// 0 Shortcut, 2 Document, 15 Citrix App, 20 Azure App, 35 Local App, 36 WVD, ...
    pub app_type: i64,
    pub icon_name: String,
    pub app_name: String,
    pub url: Option<String>,
    pub color: Color,
}

/// Which icon collection an app icon belongs to (the `{source}` path segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconSource {
    /// Shared by every environment of the instance.
    Global,
    /// The environment's own icons.
    Environment,
}

/// An app icon: its info and its content bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIcon {
    pub id: i64,
    /// 0 png, 1 svg, 2 svg.
    pub kind: i64,
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// Integration credentials stored for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationCredential {
    pub id: u64,
    pub user_upn: String,
    pub username: String,
    pub password: String,
}

/// Everything one environment holds.
#[derive(Debug, Default)]
pub(crate) struct EnvState {
    pub users: BTreeMap<Uuid, AdUser>,
    pub groups: BTreeMap<Uuid, AdGroup>,
    /// (group, user) pairs: A5/A6.
    pub user_members: BTreeSet<(Uuid, Uuid)>,
    /// (target group, member group) pairs: A7/A8.
    pub group_members: BTreeSet<(Uuid, Uuid)>,
    pub pictures: HashMap<Uuid, ProfilePicture>,
    pub activities: Vec<Activity>,
    pub announcements: Vec<Announcement>,
    /// Apps per lower-cased UPN.
    pub apps: HashMap<String, Vec<App>>,
    pub icons: BTreeMap<i64, AppIcon>,
    pub credentials: BTreeMap<u64, IntegrationCredential>,
    next_user_id: u64,
    next_group_id: u64,
    next_activity_id: u64,
    next_announcement_id: u64,
    next_credential_id: u64,
}

/// The whole simulator state: environments by configured name, plus the global icons.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub envs: HashMap<String, EnvState>,
    pub global_icons: BTreeMap<i64, AppIcon>,
}

impl State {
    pub(crate) fn env(&mut self, name: &str) -> &mut EnvState {
        self.envs.entry(name.to_owned()).or_default()
    }
}

fn next(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter
}

/// The fields A1 sets; everything else about a user is the simulator's.
pub(crate) struct UserInfo {
    pub first_name: String,
    pub last_name: String,
    pub user_principal_name: String,
    pub email: Option<String>,
    pub secondary_email: Option<String>,
    pub is_admin: bool,
    pub is_active: bool,
    pub job_title: Option<String>,
    pub mobile_phone: Option<String>,
}

impl EnvState {
    /// A live (not soft-deleted) user.
    pub(crate) fn live_user(&self, id: &Uuid) -> Option<&AdUser> {
        self.users.get(id).filter(|u| !u.deleted)
    }

    pub(crate) fn user_by_upn(&self, upn: &str) -> Option<&AdUser> {
        self.users
            .values()
            .find(|u| !u.deleted && u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    pub(crate) fn user_by_id(&self, id: u64) -> Option<&AdUser> {
        self.users.values().find(|u| !u.deleted && u.id == id)
    }

    /// A1: upsert. Replaces every field, restores a soft-deleted user, keeps the integer id.
    /// `upn_key` names the UPN field in a conflict error.
    pub(crate) fn upsert_user(
        &mut self,
        object_id: Uuid,
        info: UserInfo,
        upn_key: &str,
    ) -> Result<(), ApiError> {
        // docs/connectors/workspace365-adsync.md "Vendor calls" [O]: Workspace keys users on the UPN, so another live user's UPN is a 400.
        let taken = self.users.values().any(|u| {
            u.object_id != object_id
                && !u.deleted
                && u.user_principal_name
                    .eq_ignore_ascii_case(&info.user_principal_name)
        });
        if taken {
            return Err(ApiError::field(
                upn_key,
                format!(
                    "A user with UserPrincipalName '{}' already exists.",
                    info.user_principal_name
                ),
            ));
        }
        let id = match self.users.get(&object_id) {
            Some(existing) => existing.id,
            None => next(&mut self.next_user_id),
        };
        self.users.insert(
            object_id,
            AdUser {
                object_id,
                id,
                first_name: info.first_name,
                last_name: info.last_name,
                user_principal_name: info.user_principal_name,
                email: info.email,
                secondary_email: info.secondary_email,
                is_admin: info.is_admin,
                is_active: info.is_active,
                job_title: info.job_title,
                mobile_phone: info.mobile_phone,
                deleted: false,
            },
        );
        Ok(())
    }

    /// A2: soft delete; the user's memberships go. Unknown ids are a no-op (idempotent, docs/connectors/workspace365-adsync.md "Vendor calls").
    pub(crate) fn delete_user(&mut self, object_id: Uuid) {
        if let Some(user) = self.users.get_mut(&object_id) {
            user.deleted = true;
            self.user_members.retain(|(_, u)| *u != object_id);
        }
    }

    /// A3: upsert; keeps the integer id and the memberships.
    pub(crate) fn upsert_group(
        &mut self,
        object_id: Uuid,
        name: String,
        description: Option<String>,
    ) {
        let id = match self.groups.get(&object_id) {
            Some(existing) => existing.id,
            None => next(&mut self.next_group_id),
        };
        self.groups.insert(
            object_id,
            AdGroup {
                object_id,
                id,
                name,
                description,
            },
        );
    }

    /// A4: removes the group and every membership it takes part in.
    pub(crate) fn delete_group(&mut self, object_id: Uuid) {
        if self.groups.remove(&object_id).is_some() {
            self.user_members.retain(|(g, _)| *g != object_id);
            self.group_members
                .retain(|(t, m)| *t != object_id && *m != object_id);
        }
    }

    /// A5: both ends must exist (400 globalError otherwise, docs/connectors/workspace365-adsync.md "Vendor calls" [O]); idempotent.
    pub(crate) fn add_user_member(&mut self, group: Uuid, user: Uuid) -> Result<(), ApiError> {
        if !self.groups.contains_key(&group) {
            return Err(ApiError::global(format!(
                "The group '{group}' was not found."
            )));
        }
        if self.live_user(&user).is_none() {
            return Err(ApiError::global(format!(
                "The user '{user}' was not found."
            )));
        }
        self.user_members.insert((group, user));
        Ok(())
    }

    /// A7: `member` becomes a member of `target`; no self-membership, no cycles (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
    pub(crate) fn add_group_member(&mut self, target: Uuid, member: Uuid) -> Result<(), ApiError> {
        for id in [target, member] {
            if !self.groups.contains_key(&id) {
                return Err(ApiError::global(format!("The group '{id}' was not found.")));
            }
        }
        if target == member {
            return Err(ApiError::global("A group cannot be a member of itself."));
        }
        if self.nested_groups(member).contains(&target) {
            return Err(ApiError::global(format!(
                "Adding group '{member}' to group '{target}' would create a cycle."
            )));
        }
        self.group_members.insert((target, member));
        Ok(())
    }

    /// Every group nested (transitively) inside `group`, not including itself.
    pub(crate) fn nested_groups(&self, group: Uuid) -> BTreeSet<Uuid> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![group];
        while let Some(g) = todo.pop() {
            for (_, member) in self
                .group_members
                .range((g, Uuid::nil())..=(g, Uuid::max()))
            {
                if seen.insert(*member) {
                    todo.push(*member);
                }
            }
        }
        seen
    }

    /// Live users in `group` directly or through nested groups.
    pub(crate) fn users_in_group(&self, group: Uuid) -> BTreeSet<Uuid> {
        let mut groups = self.nested_groups(group);
        groups.insert(group);
        self.user_members
            .iter()
            .filter(|(g, u)| groups.contains(g) && self.live_user(u).is_some())
            .map(|(_, u)| *u)
            .collect()
    }

    /// Stores the activity under a fresh id and returns the stored record.
    pub(crate) fn add_activity(&mut self, mut activity: Activity) -> &Activity {
        activity.id = next(&mut self.next_activity_id);
        self.activities.push(activity);
        &self.activities[self.activities.len() - 1]
    }

    /// Stores the announcement under a fresh id and returns the id.
    pub(crate) fn add_announcement(&mut self, mut announcement: Announcement) -> u64 {
        let id = next(&mut self.next_announcement_id);
        announcement.id = id;
        self.announcements.push(announcement);
        id
    }

    /// Stores the credentials under a fresh id and returns the id.
    pub(crate) fn add_credential(&mut self, mut credential: IntegrationCredential) -> u64 {
        let id = next(&mut self.next_credential_id);
        credential.id = id;
        self.credentials.insert(id, credential);
        id
    }
}
