//! The MyTimetable connector: what each SCIM change makes the vendor do (see the crate
//! documentation).

use async_trait::async_trait;
use scim::ResourceKind;
use scim::schema::{AttrType, Attribute, Schema};
use serde_json::{Map, Value, json};

use crate::api::{Api, TYPE_CHECK_USER, TypeCheck};
use crate::mapping::{self, EXTENSION_URN, Mappings, VendorKeys, WantedSync};
use crate::settings::{ApiProfile, MyTimetableSettings, RenamePolicy};
use connector::http::VendorClient;
use connector::{
    AccountPage, Capabilities, Connector, ConnectorError, ConnectorStatus, PlannedCall, Problem,
    ResourceChange, VendorAccount,
};

/// The MyTimetable connector.
#[derive(Debug)]
pub struct MyTimetable {
    api: Api,
    settings: MyTimetableSettings,
    mappings: Mappings,
}

impl MyTimetable {
    /// A connector for these settings (no call is made until the first change).
    pub fn new(
        context: &connector::Context,
        settings: MyTimetableSettings,
    ) -> Result<MyTimetable, ConnectorError> {
        let token = settings
            .token()
            .map_err(|e| ConnectorError::Unsupported(e.to_string()))?;
        let mappings = Mappings::build(&settings)
            .map_err(|problems| connector::unusable("mytimetable", &problems))?;
        let client = VendorClient::new(
            context,
            "mytimetable",
            settings.http.endpoint(&settings.base_url),
        )?;
        Ok(MyTimetable {
            api: Api::new(client, token),
            settings,
            mappings,
        })
    }

    /// The extension schema published in `/Schemas`.
    pub fn extension_schema() -> Schema {
        Schema::new(
            EXTENSION_URN,
            "MyTimetable",
            "MyTimetable calendar push synchronizations for this user",
            vec![
                Attribute::complex(
                    "synchronizations",
                    vec![
                        Attribute::new("type", AttrType::String)
                            .required()
                            .describe("The calendar provider: o365, ews, googlecalendar, …"),
                        Attribute::new("smtpAddress", AttrType::String).describe(
                            "The mailbox to push to (provisioning_smtpAddress); default: the primary e-mail",
                        ),
                    ],
                )
                .multi()
                .describe(
                    "The push synchronizations the user should have; when none are given, the connector's default types apply",
                ),
                Attribute::new("synchronizationTypes", AttrType::String)
                    .multi()
                    .describe(
                        "More synchronization types as plain strings (\"ews\", or \"ews,o365\"): what an identity provider's attribute mapping can send; they join `synchronizations`",
                    ),
            ],
        )
    }

    /// The username the vendor has for the resource before the change, if any.
    fn previous_username(&self, change: &ResourceChange<'_>, keys: &VendorKeys) -> Option<String> {
        keys.username
            .clone()
            .or_else(|| change.before.and_then(|b| self.mappings.username(b).ok()))
    }

    fn rename_refused(from: &str, to: &str) -> ConnectorError {
        ConnectorError::Immutable {
            reason: format!(
                "the MyTimetable username (mapping.user.username) would change from \"{from}\" to \"{to}\": MyTimetable keys calendars by username and cannot rename; delete the user and create it again under the new name, or configure rename = \"recreate\""
            ),
        }
    }

    /// Removes a user's synchronizations (with the configured unlink mode), then the user.
    async fn remove(&self, username: &str, request_id: Option<&str>) -> Result<(), ConnectorError> {
        let listed = self.api.list_syncs(request_id).await?;
        for sync in mapping::syncs_of(&listed, username) {
            self.api
                .delete_sync(sync.id, self.settings.unlink_mode, request_id)
                .await?;
        }
        self.api.delete_user(username, request_id).await
    }

    /// Ensures the user and brings its synchronizations to `wanted`; returns the new keys.
    async fn provision(
        &self,
        username: &str,
        user: &Map<String, Value>,
        wanted: &[WantedSync],
        request_id: Option<&str>,
    ) -> Result<VendorKeys, ConnectorError> {
        match self.settings.api_profile {
            ApiProfile::V8 => self.api.ensure_user(username, request_id).await?,
            ApiProfile::V2019 => {
                let profile = self.mappings.profile(user);
                self.api.upsert_user(username, &profile, request_id).await?;
            }
        }
        let listed = self.api.list_syncs(request_id).await?;
        let plan = mapping::plan(username, &listed, wanted);
        for sync in &plan.remove {
            self.api
                .delete_sync(sync.id, self.settings.unlink_mode, request_id)
                .await?;
        }
        for sync in &plan.create {
            self.api
                .create_sync(
                    username,
                    &sync.sync_type,
                    sync.smtp_address.as_deref(),
                    request_id,
                )
                .await?;
        }
        let listed = if plan.create.is_empty() {
            listed
        } else {
            self.api.list_syncs(request_id).await?
        };
        let keys = VendorKeys::of(username, &listed, wanted);
        if !keys.covers(wanted) {
            return Err(ConnectorError::Unavailable {
                reason: format!(
                    "MyTimetable accepted the synchronizations of {username} but does not list them all"
                ),
                retry_after: None,
            });
        }
        Ok(keys)
    }
}

#[async_trait]
impl Connector for MyTimetable {
    fn kind(&self) -> &'static str {
        "mytimetable"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            groups: false,
            change_password: false,
        }
    }

    fn extensions(&self) -> Vec<(ResourceKind, Schema)> {
        vec![(ResourceKind::User, Self::extension_schema())]
    }

    fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            endpoints: vec![self.api.status()],
        }
    }

    /// `GET /users` (M1), once.
    async fn probe(&self) -> Result<(), ConnectorError> {
        self.api.probe().await
    }

    /// The probe, then each of `default_sync_types` asked of the instance
    /// ([`crate::api::Api::check_sync_type`]: nothing is created).
    async fn check_online(&self) -> Vec<Problem> {
        if let Err(e) = self.api.probe().await {
            return vec![connector::probe_problem(&e)];
        }
        let mut problems = Vec::new();
        for (index, sync_type) in self.settings.default_sync_types.iter().enumerate() {
            let key = format!("default_sync_types[{index}]");
            match self.api.check_sync_type(sync_type).await {
                Ok(TypeCheck::Known) => {}
                Ok(TypeCheck::Refused(answer)) => problems.push(Problem::new(
                    key,
                    format!("MyTimetable does not know the synchronization type \"{sync_type}\" ({answer})"),
                    "use a type the instance offers (e.g. o365, ews, googlecalendar; its administrators know which), or remove it",
                )),
                Ok(TypeCheck::CheckUserExists) => problems.push(Problem::new(
                    key,
                    format!(
                        "the instance has a user named {TYPE_CHECK_USER}, so checking \"{sync_type}\" gave it a synchronization"
                    ),
                    format!("remove the user {TYPE_CHECK_USER} from MyTimetable; the name is reserved for this check"),
                )),
                Err(e) => problems.push(connector::probe_problem(&e).under(&key)),
            }
        }
        problems
    }

    fn check(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        if change.kind == ResourceKind::Group {
            return Err(ConnectorError::Unsupported(
                "MyTimetable has no groups".into(),
            ));
        }
        let Some(after) = change.after else {
            return Ok(());
        };
        let after = self.mappings.username(after)?;
        let keys = VendorKeys::from_value(change.vendor_keys);
        if let Some(before) = self.previous_username(change, &keys)
            && !before.eq_ignore_ascii_case(&after)
            && self.settings.rename == RenamePolicy::Refuse
        {
            return Err(Self::rename_refused(&before, &after));
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
            ResourceKind::Group => Vec::new(),
        }
    }

    /// The user (with its profile on 2019.16+), then each wanted synchronization; a write
    /// creates only those the vendor does not list yet.
    fn preview(
        &self,
        kind: ResourceKind,
        _id: &str,
        resource: &Map<String, Value>,
    ) -> Result<Vec<PlannedCall>, ConnectorError> {
        let form = |fields: &[(&str, &str)]| {
            serde_urlencoded::to_string(fields).map_err(|e| ConnectorError::Rejected {
                reason: format!("MyTimetable cannot carry this user: {e}"),
            })
        };
        if kind == ResourceKind::Group {
            return Err(ConnectorError::Unsupported(
                "MyTimetable has no groups".into(),
            ));
        }
        let username = self.mappings.username(resource)?;
        let user_url = self.api.user_url(&username)?;
        let body = match self.settings.api_profile {
            ApiProfile::V8 => String::new(),
            ApiProfile::V2019 => {
                let fields = self.mappings.profile(resource).form(&username);
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                form(&fields)?
            }
        };
        let mut calls = vec![PlannedCall::new(format!("PUT {user_url}"), body)];
        for sync in self.mappings.wanted_syncs(resource, &self.settings) {
            calls.push(PlannedCall::new(
                format!("PUT {}", self.api.url("/synchronizations")),
                form(&crate::api::sync_form(
                    &username,
                    &sync.sync_type,
                    sync.smtp_address.as_deref(),
                ))?,
            ));
        }
        Ok(calls)
    }

    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError> {
        self.check(&change)?;
        let keys = VendorKeys::from_value(change.vendor_keys);
        let previous = self.previous_username(&change, &keys);
        let request_id = change.request_id;
        let Some(after) = change.after else {
            if let Some(username) = previous {
                self.remove(&username, request_id).await?;
            }
            return Ok(json!({}));
        };
        let username = self.mappings.username(after)?;
        let username = username.as_str();
        let wanted = self.mappings.wanted_syncs(after, &self.settings);
        let renamed = previous
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case(username));
        if renamed {
            if let Some(old) = previous.as_deref() {
                tracing::info!(
                    from = old,
                    to = username,
                    request_id,
                    "re-creating a renamed MyTimetable user"
                );
                self.remove(old, request_id).await?;
            }
        } else if let Some(before) = change.before
            && keys.username.is_some()
            && self.mappings.wanted_syncs(before, &self.settings) == wanted
            && keys.covers(&wanted)
            && (self.settings.api_profile == ApiProfile::V8
                || self.mappings.profile(before) == self.mappings.profile(after))
        {
            // Nothing MyTimetable holds changed (its name, profile and synchronizations).
            return Ok(change.vendor_keys.clone());
        }
        Ok(self
            .provision(username, after, &wanted, request_id)
            .await?
            .to_value())
    }

    async fn list_accounts(
        &self,
        kind: ResourceKind,
        _cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        if kind == ResourceKind::Group {
            return Ok(AccountPage::default());
        }
        // v8 lists everything in one answer each.
        let users = self.api.list_users(None).await?;
        let syncs = self.api.list_syncs(None).await?;
        let accounts: Vec<VendorAccount> = users
            .into_iter()
            .map(|username| VendorAccount {
                keys: VendorKeys::listed(&username, &syncs).to_value(),
                name: username,
            })
            .collect();
        Ok(AccountPage {
            total: Some(accounts.len() as u64),
            accounts,
            next: None,
        })
    }

    /// M1 and M4, both whole lists: v8 has no read of one user (docs/connectors/mytimetable.md
    /// "Vendor calls"), so one account costs what a listing costs. The stored keys add
    /// nothing: the username is all MyTimetable knows a user by.
    async fn read_account(
        &self,
        kind: ResourceKind,
        name: &str,
        _stored_keys: &Value,
    ) -> Result<Option<VendorAccount>, ConnectorError> {
        if kind == ResourceKind::Group {
            return Err(ConnectorError::Unsupported(
                "MyTimetable has no groups".into(),
            ));
        }
        let users = self.api.list_users(None).await?;
        let Some(username) = users.into_iter().find(|u| u.eq_ignore_ascii_case(name)) else {
            return Ok(None);
        };
        let syncs = self.api.list_syncs(None).await?;
        Ok(Some(VendorAccount {
            keys: VendorKeys::listed(&username, &syncs).to_value(),
            name: username,
        }))
    }

    /// The username: the kept one, else the one the mapping gives.
    fn account_name(
        &self,
        _kind: ResourceKind,
        attributes: &Map<String, Value>,
        vendor_keys: &Value,
    ) -> Option<String> {
        VendorKeys::from_value(vendor_keys)
            .username
            .or_else(|| self.mappings.username(attributes).ok())
    }

    fn compare(&self, stored_keys: &Value, account: &VendorAccount) -> Vec<String> {
        let stored = VendorKeys::from_value(stored_keys);
        let vendor = VendorKeys::from_value(&account.keys);
        let mut drift = Vec::new();
        let find = |keys: &VendorKeys, sync_type: &str| {
            keys.synchronizations
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(sync_type))
                .map(|(_, id)| *id)
        };
        for (sync_type, id) in &stored.synchronizations {
            match find(&vendor, sync_type) {
                None => drift.push(format!(
                    "synchronization {sync_type} (id {id}) is missing at the vendor"
                )),
                Some(other) if other != *id => drift.push(format!(
                    "synchronization {sync_type} has id {other} at the vendor, {id} in the store"
                )),
                Some(_) => {}
            }
        }
        for (sync_type, id) in &vendor.synchronizations {
            if find(&stored, sync_type).is_none() {
                drift.push(format!(
                    "synchronization {sync_type} (id {id}) exists at the vendor but not in the store"
                ));
            }
        }
        drift
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn change<'a>(
        before: Option<&'a Map<String, Value>>,
        after: Option<&'a Map<String, Value>>,
        keys: &'a Value,
    ) -> ResourceChange<'a> {
        ResourceChange {
            members: &scim::members::UNCHANGED,
            kind: ResourceKind::User,
            id: "1",
            before,
            after,
            vendor_keys: keys,
            request_id: None,
            lookup: &connector::NoLookup,
        }
    }

    #[test]
    fn renames_are_refused_by_default_and_case_changes_are_not_renames() {
        let connector = MyTimetable::new(
            &connector::Context::named("mytimetable"),
            MyTimetableSettings::new("http://127.0.0.1:9/api/v0", "t"),
        )
        .expect("builds");
        let keys = json!({"username": "alice", "synchronizations": {}});
        let renamed = json!({"userName": "alicia"});
        let recased = json!({"userName": "ALICE"});
        let e = connector
            .check(&change(None, renamed.as_object(), &keys))
            .expect_err("refused");
        assert!(
            matches!(e, ConnectorError::Immutable { ref reason } if reason.contains("recreate"))
        );
        assert!(
            connector
                .check(&change(None, recased.as_object(), &keys))
                .is_ok()
        );
        let mut settings = MyTimetableSettings::new("http://127.0.0.1:9/api/v0", "t");
        settings.rename = RenamePolicy::Recreate;
        let connector =
            MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("builds");
        assert!(
            connector
                .check(&change(None, renamed.as_object(), &keys))
                .is_ok()
        );
    }

    #[test]
    fn drift_names_each_synchronization() {
        let connector = MyTimetable::new(
            &connector::Context::named("mytimetable"),
            MyTimetableSettings::new("http://127.0.0.1:9/api/v0", "t"),
        )
        .expect("builds");
        let stored = json!({"username": "a", "synchronizations": {"o365": 1, "ews": 2}});
        let account = VendorAccount {
            name: "a".into(),
            keys: json!({"username": "a", "synchronizations": {"O365": 1, "googlecalendar": 7}}),
        };
        let drift = connector.compare(&stored, &account);
        assert_eq!(drift.len(), 2, "{drift:?}");
        assert!(drift[0].contains("ews (id 2) is missing"));
        assert!(drift[1].contains("googlecalendar (id 7) exists at the vendor"));
    }
}
