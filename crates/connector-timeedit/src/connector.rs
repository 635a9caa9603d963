//! The `timeedit` connector: SCIM Users and Groups onto the TimeEdit user web service
//! (docs/connectors/timeedit.md "SCIM mapping").
//!
//! * Users are keyed by (login name, auth server); the auth server is the connector's, or the
//!   extension's, checked against `getAuthServers` (cached, [`connector::metadata`]).
//! * create: `validateUsers`; a user TimeEdit already has is adopted (export, merge, import),
//!   a new one imported. replace, PATCH, deactivate: export, merge, import, so that nothing
//!   the SCIM client did not touch is lost. delete: `deleteUsers` with the configured
//!   `inactivate`.
//! * `validateUsers` and `importUsers` are batched ([`crate::batch`]).
//! * reconciliation lists users a thousand at a time in login-name order when
//!   `getUserSortOrders` (cached) offers it, so that paging by index holds together.
//! * every field comes from the connector's mapping ([`crate::mapping`]): the defaults, or the
//!   operator's `mapping` settings.
//! * Groups are TimeEdit organizations (by default the Group's `externalId`, else its
//!   `displayName`): a new Group's organization is checked (the configured `organizations`,
//!   else TimeEdit itself); membership lives on each user record, so a member change is an
//!   export-merge-import of each affected user, in order, with failures reported member by
//!   member. A Group without an organization is refused, or kept in the store only.
//! * a user whose key changes is refused, or re-created under the new key (`rename`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use scim::resource::GroupView;
use scim::schema::Schema;
use serde_json::{Map, Value, json};

use crate::batch::{BatchCall, Batcher};
use crate::mapping::{self, EXTENSION_URN, GroupField, Mappings};
use crate::settings::{RenamePolicy, UnmappedGroups};
use crate::{
    FindUsers, MAX_USERS_PER_FIND, SettingsError, StatusCode, TeUser, TimeEditClient,
    TimeEditSettings, UserKey, UserStatus,
};
use connector::metadata::MetadataCache;
use connector::{
    AccountPage, Capabilities, Connector, ConnectorError, ConnectorStatus, PlannedCall, Problem,
    ResourceChange, VendorAccount,
};

/// The login name of the user `validateUsers` is asked about to learn whether TimeEdit has
/// an organization: never imported, and unlikely to exist.
const ORGANIZATION_PROBE: &str = "scim-bridge.organization-check";

/// The sort order reconciliation asks for when TimeEdit offers it: the default order is
/// undocumented (docs/connectors/timeedit.md "Vendor calls"), and paging by `beginindex` needs a stable one.
const LISTING_ORDER: &str = "loginname";

/// The TimeEdit connector.
#[derive(Debug)]
pub struct TimeEdit {
    client: Arc<TimeEditClient>,
    settings: TimeEditSettings,
    mappings: Mappings,
    validate: Batcher,
    import: Batcher,
    /// The signatures of the active auth servers (`getAuthServers`).
    auth_servers: MetadataCache<(), Vec<String>>,
    /// What findUsers accepts as `sortorder` (`getUserSortOrders`).
    sort_orders: MetadataCache<(), Vec<String>>,
}

impl TimeEdit {
    /// A connector for these settings. Starts its batch queues on the current tokio runtime.
    pub fn new(
        context: &connector::Context,
        settings: TimeEditSettings,
    ) -> Result<TimeEdit, SettingsError> {
        let mappings = Mappings::build(&settings)
            .map_err(|problems| connector::unusable("timeedit", &problems))?;
        let client = Arc::new(TimeEditClient::new(context, &settings)?);
        let linger = Duration::from_millis(settings.batch_linger_ms);
        let call = |validate: bool| -> BatchCall {
            let client = client.clone();
            Arc::new(move |users: Vec<TeUser>| {
                let client = client.clone();
                Box::pin(async move {
                    if validate {
                        client.validate_users(&users).await
                    } else {
                        client.import_users(&users).await
                    }
                })
            })
        };
        Ok(TimeEdit {
            validate: Batcher::spawn(settings.batch_size, linger, call(true)),
            import: Batcher::spawn(settings.batch_size, linger, call(false)),
            auth_servers: MetadataCache::new(&settings.metadata_cache, "timeedit", "auth servers"),
            sort_orders: MetadataCache::new(&settings.metadata_cache, "timeedit", "sort orders"),
            client,
            settings,
            mappings,
        })
    }

    /// The TimeEdit key of a SCIM user.
    fn key_of(&self, user: &Map<String, Value>) -> Result<UserKey, ConnectorError> {
        Ok(self.mappings.key_of(user)?)
    }

    /// The key TimeEdit has the user under now: the one kept from the last change, else the
    /// one the previous version maps to.
    fn previous_key(&self, change: &ResourceChange<'_>) -> Option<UserKey> {
        Self::key_from_value(change.vendor_keys)
            .or_else(|| change.before.and_then(|b| self.key_of(b).ok()))
    }

    fn keys_value(key: &UserKey) -> Value {
        json!({"loginname": key.loginname, "authserver": key.authserver})
    }

    fn key_from_value(value: &Value) -> Option<UserKey> {
        Some(UserKey::new(
            value.get("loginname")?.as_str()?,
            value.get("authserver")?.as_str()?,
        ))
    }

    /// Refuses an auth server TimeEdit does not have (the list is cached, and read again once
    /// before a refusal, in case it grew).
    async fn check_auth_server(&self, signature: &str) -> Result<(), ConnectorError> {
        if !self.settings.check_auth_servers {
            return Ok(());
        }
        let known = |list: &[String]| list.iter().any(|s| s.eq_ignore_ascii_case(signature));
        let found = self
            .auth_servers
            .lookup((), self.read_auth_servers())
            .await?;
        if known(&found.value) {
            return Ok(());
        }
        // A list just read is not read again; a remembered one may predate a server added since.
        let fresh = if found.cached {
            self.auth_servers
                .reload((), &found.value, self.read_auth_servers())
                .await?
        } else {
            found.value
        };
        if known(&fresh) {
            return Ok(());
        }
        Err(ConnectorError::Rejected {
            reason: format!(
                "TimeEdit has no active auth server \"{signature}\" (it has: {}); set the connector's auth_server or the user's {EXTENSION_URN}:authServer",
                fresh.join(", ")
            ),
        })
    }

    /// The probe (`getAuthServers`, once, whatever the cache holds): the signatures of the
    /// active auth servers, which refresh the cache.
    async fn probe_auth_servers(&self) -> Result<Vec<String>, ConnectorError> {
        let signatures: Vec<String> = self
            .client
            .probe()
            .await?
            .into_iter()
            .map(|a| a.signature)
            .collect();
        self.auth_servers.insert((), signatures.clone()).await;
        Ok(signatures)
    }

    /// `getAuthServers`: the signatures of the active auth servers.
    async fn read_auth_servers(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self
            .client
            .get_auth_servers(true)
            .await?
            .into_iter()
            .map(|a| a.signature)
            .collect())
    }

    /// The `sortorder` reconciliation lists in: [`LISTING_ORDER`] as TimeEdit spells it, else
    /// empty (TimeEdit's default).
    async fn listing_order(&self) -> Result<String, ConnectorError> {
        let orders = self
            .sort_orders
            .get_or_load((), self.client.get_user_sort_orders())
            .await?;
        Ok(orders
            .iter()
            .find(|o| o.eq_ignore_ascii_case(LISTING_ORDER))
            .cloned()
            .unwrap_or_default())
    }

    /// What TimeEdit has for `key`, if anything.
    async fn export(&self, key: &UserKey) -> Result<Option<TeUser>, ConnectorError> {
        Ok(self
            .client
            .export_users(std::slice::from_ref(key))
            .await?
            .into_iter()
            .find(|u| same_key(&u.key(), key)))
    }

    /// Imports one user through the batch queue; a non-zero Status is the user's refusal.
    async fn import(&self, user: TeUser) -> Result<(), ConnectorError> {
        let status = self.import.submit(user).await?;
        refused(&status).map_or(Ok(()), Err)
    }

    async fn apply_user(&self, change: &ResourceChange<'_>) -> Result<Value, ConnectorError> {
        let Some(after) = change.after else {
            if let Some(key) = self.previous_key(change) {
                self.delete(&key).await?;
            }
            return Ok(json!({}));
        };
        let key = self.key_of(after)?;
        self.check_auth_server(&key.authserver).await?;
        if let Some(old) = self.previous_key(change)
            && !same_key(&old, &key)
        {
            return self.recreate(&old, &key, change.before, after).await;
        }
        let existing = if change.before.is_none() {
            // A new user: validate first. One TimeEdit already has is adopted, not refused.
            let candidate =
                self.mappings
                    .merge(TeUser::new(&key.loginname, &key.authserver), None, after)?;
            let status = self.validate.submit(candidate).await?;
            match status.code {
                StatusCode::Ok => None,
                StatusCode::Exists => self.export(&key).await?,
                _ => return Err(refused(&status).unwrap_or_else(|| unknown(&status))),
            }
        } else {
            self.export(&key).await?
        };
        let base = existing.unwrap_or_else(|| TeUser::new(&key.loginname, &key.authserver));
        self.import(self.mappings.merge(base, change.before, after)?)
            .await?;
        Ok(Self::keys_value(&key))
    }

    /// `deleteUsers` of one key; gone, already gone (a replay), or kept inactive because it
    /// has history are all done.
    async fn delete(&self, key: &UserKey) -> Result<(), ConnectorError> {
        let statuses = self
            .client
            .delete_users(
                std::slice::from_ref(key),
                self.settings.inactivate_on_delete,
            )
            .await?;
        match statuses.first().map(|s| s.code) {
            Some(StatusCode::Ok | StatusCode::NotFound | StatusCode::Inactivated) | None => Ok(()),
            Some(_) => Err(statuses.first().and_then(refused).unwrap_or_else(|| {
                ConnectorError::Rejected {
                    reason: "TimeEdit did not delete the user".into(),
                }
            })),
        }
    }

    /// A user whose key changed (`rename = "recreate"`): imported under the new key with
    /// everything the old account had (organizations included) and the SCIM change on top,
    /// then the old account deleted. Safe to repeat: a replay finds the new account there.
    async fn recreate(
        &self,
        old: &UserKey,
        new: &UserKey,
        before: Option<&Map<String, Value>>,
        after: &Map<String, Value>,
    ) -> Result<Value, ConnectorError> {
        tracing::info!(
            from = %format!("{}/{}", old.loginname, old.authserver),
            to = %format!("{}/{}", new.loginname, new.authserver),
            "re-creating a TimeEdit user under its new key"
        );
        let previous = self.export(old).await?;
        let base = match (self.export(new).await?, previous.clone()) {
            (Some(existing), _) => existing,
            (None, Some(mut moved)) => {
                moved.loginname.clone_from(&new.loginname);
                moved.authserver.clone_from(&new.authserver);
                moved
            }
            (None, None) => TeUser::new(&new.loginname, &new.authserver),
        };
        self.import(self.mappings.merge(base, before, after)?)
            .await?;
        if previous.is_some() {
            self.delete(old).await?;
        }
        Ok(Self::keys_value(new))
    }

    /// The organization a Group stands for, by the mapping.
    fn organization(&self, group: &Map<String, Value>) -> Option<String> {
        self.mappings.organization(group)
    }

    /// The organization a Group stood for before the change: the one its vendor keys name
    /// (none for a Group kept in the store only), else the one its previous version maps to.
    fn previous_organization(&self, change: &ResourceChange<'_>) -> Option<String> {
        if *change.vendor_keys == connector::store_only_keys() {
            return None;
        }
        match change
            .vendor_keys
            .get("organization")
            .and_then(Value::as_str)
        {
            Some(kept) => Some(kept.to_owned()),
            None => change.before.and_then(|b| self.organization(b)),
        }
    }

    /// `mapping.group.organization = { … }`, for details.
    fn organization_rule(&self) -> String {
        format!(
            "{} = {}",
            self.mappings.group.key(GroupField::Organization),
            self.mappings.group.describe(GroupField::Organization)
        )
    }

    fn unmapped(&self, group: &Map<String, Value>) -> ConnectorError {
        let name = GroupView(group).display_name().unwrap_or("");
        ConnectorError::Rejected {
            reason: format!(
                "the Group \"{name}\" maps to no TimeEdit organization through {}; map it (e.g. transform = [{{ map = {{ \"{name}\" = \"<organization>\" }} }}]), or set unmapped_groups = \"store_only\" to keep such Groups in scim-bridge only",
                self.organization_rule()
            ),
        }
    }

    /// The answer of the configured `organizations` for `org`; `None` when none is
    /// configured (TimeEdit must be asked).
    fn listed_organization(&self, org: &str) -> Option<Result<(), ConnectorError>> {
        let listed = &self.settings.organizations;
        if listed.is_empty() {
            return None;
        }
        Some(if listed.iter().any(|o| o == org) {
            Ok(())
        } else {
            Err(self.missing_organization(org, "it is not in the connector's organizations"))
        })
    }

    /// The refusal of a Group whose organization TimeEdit lacks (`how`: how we know).
    fn missing_organization(&self, org: &str, how: &str) -> ConnectorError {
        ConnectorError::Rejected {
            reason: format!(
                "TimeEdit has no organization \"{org}\" ({how}); it comes from {}: change the mapping, or create the organization in TimeEdit",
                self.organization_rule()
            ),
        }
    }

    /// The user `validateUsers` is asked about to learn whether TimeEdit has `org`.
    fn organization_probe(&self, org: &str) -> TeUser {
        let mut probe = TeUser::new(ORGANIZATION_PROBE, &self.settings.auth_server);
        probe.organizations = Some(vec![org.to_owned()]);
        probe
    }

    /// Whether TimeEdit has `org`: the configured `organizations`, else a `validateUsers` of
    /// a user that would hold it (TimeEdit lists no organizations, docs/connectors/timeedit.md
    /// "SCIM mapping").
    async fn check_organization(&self, org: &str) -> Result<(), ConnectorError> {
        if let Some(listed) = self.listed_organization(org) {
            return listed;
        }
        let status = self.validate.submit(self.organization_probe(org)).await?;
        match status.code {
            StatusCode::Ok => Ok(()),
            StatusCode::UnknownReference => {
                Err(self.missing_organization(org, &format!("TimeEdit says: {}", status.message)))
            }
            StatusCode::Exists => {
                tracing::warn!(
                    organization = org,
                    "cannot check the organization: TimeEdit has a user {ORGANIZATION_PROBE}"
                );
                Ok(())
            }
            _ => Err(refused(&status).unwrap_or_else(|| unknown(&status))),
        }
    }

    async fn apply_group(&self, change: &ResourceChange<'_>) -> Result<Value, ConnectorError> {
        let old_org = self.previous_organization(change);
        let new_org = change.after.and_then(|a| self.organization(a));
        if change.after.is_some() && new_org.is_none() {
            // [`Connector::check`] refused it unless it is kept in the store only: no member
            // reaches TimeEdit.
            return Ok(connector::store_only_keys());
        }
        if change.before.is_none()
            && let Some(org) = &new_org
        {
            self.check_organization(org).await?;
        }
        // Only the members the change names: the delta (a deleted group's `remove` lists every
        // member it had). Removals first, then additions, each in id order.
        let removed: BTreeSet<&str> = change.members.remove.iter().map(String::as_str).collect();
        let added: BTreeSet<&str> = change
            .members
            .add
            .iter()
            .map(|m| m.value.as_str())
            .collect();
        let mut edits: Vec<(String, String, bool)> = Vec::new();
        if let Some(org) = &old_org {
            for member in &removed {
                edits.push(((*member).to_owned(), org.clone(), false));
            }
        }
        if let Some(org) = &new_org {
            for member in &added {
                edits.push(((*member).to_owned(), org.clone(), true));
            }
        }
        let mut failures = Vec::new();
        for (member, org, add) in edits {
            if let Err(e) = self.edit_membership(change, &member, &org, add).await {
                failures.push(format!("member {member}: {e}"));
            }
        }
        if !failures.is_empty() {
            return Err(ConnectorError::Rejected {
                reason: format!(
                    "TimeEdit refused some membership changes (the others were made): {}",
                    failures.join("; ")
                ),
            });
        }
        Ok(match new_org {
            Some(org) => json!({"organization": org}),
            None => json!({}),
        })
    }

    /// Adds `org` to (or removes it from) one member's organizations.
    async fn edit_membership(
        &self,
        change: &ResourceChange<'_>,
        member: &str,
        org: &str,
        add: bool,
    ) -> Result<(), ConnectorError> {
        let keys = change
            .lookup
            .vendor_keys(ResourceKind::User, member)
            .await?;
        let Some(key) = keys.as_ref().and_then(Self::key_from_value) else {
            if add {
                return Err(ConnectorError::Rejected {
                    reason: "not a user of this connector (TimeEdit organizations hold users only)"
                        .into(),
                });
            }
            // A removed member that is gone already has no organizations left to edit.
            return Ok(());
        };
        let Some(mut user) = self.export(&key).await? else {
            return if add {
                Err(ConnectorError::Rejected {
                    reason: format!("TimeEdit has no user {}", key.loginname),
                })
            } else {
                Ok(())
            };
        };
        let mut orgs = user.organizations.take().unwrap_or_default();
        let had = orgs.iter().any(|o| o == org);
        match (add, had) {
            (true, false) => orgs.push(org.to_owned()),
            (false, true) => orgs.retain(|o| o != org),
            // Already as wanted (a replay): nothing to send.
            _ => return Ok(()),
        }
        user.organizations = Some(orgs);
        self.import(user).await
    }
}

fn same_key(a: &UserKey, b: &UserKey) -> bool {
    a.loginname.eq_ignore_ascii_case(&b.loginname)
        && a.authserver.eq_ignore_ascii_case(&b.authserver)
}

/// The SCIM-facing error of a non-zero Status, with TimeEdit's message.
fn refused(status: &UserStatus) -> Option<ConnectorError> {
    let message = if status.message.is_empty() {
        format!("status {}", status.code.code())
    } else {
        status.message.clone()
    };
    match status.code {
        StatusCode::Ok | StatusCode::Inactivated => None,
        StatusCode::Exists => Some(ConnectorError::Conflict {
            reason: format!("TimeEdit already has {}: {message}", status.key.loginname),
        }),
        _ => Some(ConnectorError::Rejected {
            reason: format!("TimeEdit refused {}: {message}", status.key.loginname),
        }),
    }
}

fn unknown(status: &UserStatus) -> ConnectorError {
    ConnectorError::Rejected {
        reason: format!("TimeEdit answered status {}", status.code.code()),
    }
}

#[async_trait]
impl Connector for TimeEdit {
    fn kind(&self) -> &'static str {
        "timeedit"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            groups: true,
            change_password: false,
        }
    }

    fn extensions(&self) -> Vec<(ResourceKind, Schema)> {
        vec![(ResourceKind::User, mapping::extension_schema())]
    }

    /// Enough writes to fill every batch that may be in flight.
    fn concurrency(&self) -> usize {
        self.settings.batch_size.max(1) * crate::batch::MAX_IN_FLIGHT
    }

    fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            endpoints: vec![self.client.status()],
        }
    }

    /// `getAuthServers`, once, whatever the cache holds; the answer refreshes the cache.
    async fn probe(&self) -> Result<(), ConnectorError> {
        self.probe_auth_servers().await.map(drop)
    }

    /// The probe, then the auth server the settings name among the active ones.
    async fn check_online(&self) -> Vec<Problem> {
        let signatures = match self.probe_auth_servers().await {
            Ok(signatures) => signatures,
            Err(e) => return vec![connector::probe_problem(&e)],
        };
        let default = &self.settings.auth_server;
        let mut problems = Vec::new();
        if self.settings.check_auth_servers
            && !signatures.iter().any(|s| s.eq_ignore_ascii_case(default))
        {
            problems.push(Problem::new(
                "auth_server",
                format!(
                    "TimeEdit has no active auth server \"{default}\" (it has: {})",
                    signatures.join(", ")
                ),
                "set auth_server to one of them; every user without its own would be refused",
            ));
        }
        problems
    }

    fn check(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        let Some(after) = change.after else {
            return Ok(());
        };
        match change.kind {
            ResourceKind::User => {
                let new = self.key_of(after)?;
                if let Some(old) = self.previous_key(change)
                    && !same_key(&old, &new)
                    && self.settings.rename == RenamePolicy::Refuse
                {
                    return Err(ConnectorError::Immutable {
                        reason: format!(
                            "the TimeEdit key (loginname {}, authserver {}) would change to ({}, {}), and TimeEdit cannot rename: delete the user and create it again, or set the connector's rename = \"recreate\" (see {} and {})",
                            old.loginname,
                            old.authserver,
                            new.loginname,
                            new.authserver,
                            self.mappings.user.key(mapping::UserField::LoginName),
                            self.mappings.user.key(mapping::UserField::AuthServer),
                        ),
                    });
                }
            }
            ResourceKind::Group => {
                let new = self.organization(after);
                let old = self.previous_organization(change);
                if change.before.is_some() && old != new {
                    let show = |o: &Option<String>| {
                        o.as_deref()
                            .map_or("no organization".to_owned(), |o| format!("\"{o}\""))
                    };
                    return Err(ConnectorError::Immutable {
                        reason: format!(
                            "this change would move the Group from {} to {} (by {}); TimeEdit keeps memberships on each user, and scim-bridge does not move them: map the old and the new name to the same organization, or delete the Group and create it again",
                            show(&old),
                            show(&new),
                            self.organization_rule()
                        ),
                    });
                }
                if new.is_none() && self.settings.unmapped_groups == UnmappedGroups::Refuse {
                    return Err(self.unmapped(after));
                }
            }
        }
        Ok(())
    }

    fn mapped(
        &self,
        kind: ResourceKind,
        resource: &Map<String, Value>,
    ) -> Vec<connector::mapping::MappedField> {
        match kind {
            ResourceKind::User => self.mappings.user.explain(resource),
            ResourceKind::Group => self.mappings.group.explain(resource),
        }
    }

    /// A User: `validateUsers` and `importUsers` with the `<user>` record. A Group: the
    /// organization check (none when `organizations` is configured); each member then gets
    /// the organization added to its record.
    fn preview(
        &self,
        kind: ResourceKind,
        _id: &str,
        resource: &Map<String, Value>,
    ) -> Result<Vec<PlannedCall>, ConnectorError> {
        let xml = |user: &TeUser| {
            user.to_xml().map_err(|e| ConnectorError::Rejected {
                reason: format!("TimeEdit cannot carry this user: {e}"),
            })
        };
        match kind {
            ResourceKind::User => {
                let key = self.key_of(resource)?;
                let record = self.mappings.merge(
                    TeUser::new(&key.loginname, &key.authserver),
                    None,
                    resource,
                )?;
                let body = xml(&record)?;
                Ok(vec![
                    PlannedCall::new("validateUsers", body.clone()),
                    PlannedCall::new("importUsers", body),
                ])
            }
            ResourceKind::Group => match self.organization(resource) {
                None if self.settings.unmapped_groups == UnmappedGroups::Refuse => {
                    Err(self.unmapped(resource))
                }
                None => Ok(Vec::new()),
                Some(org) => match self.listed_organization(&org) {
                    Some(listed) => listed.map(|()| Vec::new()),
                    None => Ok(vec![PlannedCall::new(
                        "validateUsers (does TimeEdit have the organization?)",
                        xml(&self.organization_probe(&org))?,
                    )]),
                },
            },
        }
    }

    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError> {
        self.check(&change)?;
        match change.kind {
            ResourceKind::User => self.apply_user(&change).await,
            ResourceKind::Group => self.apply_group(&change).await,
        }
    }

    async fn list_accounts(
        &self,
        kind: ResourceKind,
        cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        if kind == ResourceKind::Group {
            // TimeEdit lists no organizations: Groups are the store's mapping only.
            return Ok(AccountPage::default());
        }
        let begin_index = cursor.and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
        let sort_order = self.listing_order().await?;
        let (users, total) = self
            .client
            .find_users(&FindUsers {
                begin_index,
                number_of_users: MAX_USERS_PER_FIND,
                sort_order,
                ..FindUsers::default()
            })
            .await?;
        let next_index = begin_index.saturating_add(users.len() as u32);
        let next =
            (!users.is_empty() && u64::from(next_index) < total).then(|| next_index.to_string());
        Ok(AccountPage {
            accounts: users
                .into_iter()
                .map(|u| VendorAccount {
                    keys: Self::keys_value(&u.key()),
                    name: u.loginname,
                })
                .collect(),
            next,
            total: Some(total),
        })
    }

    /// `getUsers` of one key: the kept one, else `name` under the connector's auth server.
    /// `getUsers`, not `exportUsers`: the key is all [`Connector::compare`] looks at.
    async fn read_account(
        &self,
        kind: ResourceKind,
        name: &str,
        stored_keys: &Value,
    ) -> Result<Option<VendorAccount>, ConnectorError> {
        if kind == ResourceKind::Group {
            // As in list_accounts: TimeEdit lists no organizations.
            return Err(ConnectorError::Unsupported(
                "TimeEdit lists no organizations: a Group has no account of its own there, its members' records name it".into(),
            ));
        }
        let key = Self::key_from_value(stored_keys)
            .unwrap_or_else(|| UserKey::new(name, &self.settings.auth_server));
        Ok(self
            .client
            .get_users(std::slice::from_ref(&key))
            .await?
            .into_iter()
            .find(|u| same_key(&u.key(), &key))
            .map(|u| VendorAccount {
                keys: Self::keys_value(&u.key()),
                name: u.loginname,
            }))
    }

    /// The login name: the kept key's, else the one the mapping gives.
    fn account_name(
        &self,
        kind: ResourceKind,
        attributes: &Map<String, Value>,
        vendor_keys: &Value,
    ) -> Option<String> {
        match kind {
            ResourceKind::User => Self::key_from_value(vendor_keys)
                .or_else(|| self.key_of(attributes).ok())
                .map(|k| k.loginname),
            ResourceKind::Group => None,
        }
    }

    fn compare(&self, stored_keys: &Value, account: &VendorAccount) -> Vec<String> {
        match (
            Self::key_from_value(stored_keys),
            Self::key_from_value(&account.keys),
        ) {
            (Some(a), Some(b)) if same_key(&a, &b) => Vec::new(),
            (a, b) => vec![format!(
                "the store keys it as {:?}, TimeEdit as {:?}",
                a.map(|k| format!("{}/{}", k.loginname, k.authserver)),
                b.map(|k| format!("{}/{}", k.loginname, k.authserver))
            )],
        }
    }
}
