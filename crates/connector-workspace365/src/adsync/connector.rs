//! The Workspace 365 ActiveDirectorySync connector: what each SCIM change makes the vendor
//! do (see the module documentation).

use async_trait::async_trait;
use scim::ResourceKind;
use scim::resource::UserView;
use scim::schema::{AttrType, Attribute, Schema};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::api::Api;
use super::mapping::{self, GROUP_EXTENSION_URN, Mappings, USER_EXTENSION_URN, VendorKeys};
use super::members::{self, Member, MemberKind};
use super::picture::{self, Fetcher, PictureRules, Source};
use super::settings::AdSyncSettings;
use crate::environment::EnvApi;
use crate::environment::onboarding::{Onboarding, Person, credentials_attribute, credentials_of};
use connector::http::VendorClient;
use connector::{
    Capabilities, Connector, ConnectorError, ConnectorStatus, KeyLookup, PlannedCall,
    ResourceChange,
};

/// The Workspace 365 ActiveDirectorySync connector.
#[derive(Debug)]
pub struct Workspace365AdSync {
    api: Api,
    fetcher: Fetcher,
    rules: PictureRules,
    settings: AdSyncSettings,
    mappings: Mappings,
    onboarding: Onboarding,
}

/// A group member as the vendor knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolved {
    kind: MemberKind,
    object_id: Uuid,
}

impl Workspace365AdSync {
    /// A connector for these settings (no call is made until the first change).
    pub fn new(
        context: &connector::Context,
        settings: AdSyncSettings,
    ) -> Result<Workspace365AdSync, ConnectorError> {
        let token = settings
            .token()
            .map_err(|e| ConnectorError::Unsupported(e.to_string()))?;
        let mappings = Mappings::build(&settings)
            .map_err(|problems| connector::unusable("workspace365-adsync", &problems))?;
        let onboarding = Onboarding::new(
            context,
            settings.environment_api.as_ref(),
            &settings.environment,
            settings.welcome_activity.clone(),
        )?;
        let endpoint = settings.http.endpoint(&settings.base_url);
        let fetcher = Fetcher::new(
            PictureRules::of(&settings),
            endpoint.connect_timeout,
            endpoint.timeout,
        )?;
        let client = VendorClient::new(context, "workspace365-adsync", endpoint)?;
        Ok(Workspace365AdSync {
            api: Api::new(
                client,
                token,
                settings.environment.clone(),
                settings.nested_group_path,
            ),
            fetcher,
            rules: PictureRules::of(&settings),
            settings,
            mappings,
            onboarding,
        })
    }

    /// The User extension published in `/Schemas`.
    pub fn user_extension_schema() -> Schema {
        Schema::new(
            USER_EXTENSION_URN,
            "Workspace365AdSyncUser",
            "Workspace 365 fields of a user with no core SCIM attribute",
            vec![
                Attribute::new("isAdmin", AttrType::Boolean).describe(
                    "Whether the user is a Workspace 365 administrator (IsAdmin); when absent, roles[value eq \"admin\"] decides",
                ),
                credentials_attribute(),
            ],
        )
    }

    /// The Group extension published in `/Schemas`.
    pub fn group_extension_schema() -> Schema {
        Schema::new(
            GROUP_EXTENSION_URN,
            "Workspace365AdSyncGroup",
            "Workspace 365 fields of a group with no core SCIM attribute",
            vec![
                Attribute::new("description", AttrType::String)
                    .describe("The group's description in Workspace 365 (Description)"),
            ],
        )
    }

    /// The ObjectId of the change's resource: the kept one, checked against what the
    /// resource says now. `None` for a delete of something never known.
    fn object_id(&self, change: &ResourceChange<'_>) -> Result<Option<Uuid>, ConnectorError> {
        let kept = VendorKeys::from_value(change.vendor_keys).object_id;
        let source = self.settings.object_id;
        let Some(after) = change.after else {
            return Ok(kept.or_else(|| {
                change
                    .before
                    .and_then(|b| mapping::object_id(source, change.id, b).ok())
            }));
        };
        let wanted = mapping::object_id(source, change.id, after)
            .map_err(|reason| ConnectorError::Rejected { reason })?;
        match kept {
            Some(kept) if kept != wanted => Err(ConnectorError::Immutable {
                reason: format!(
                    "the Workspace 365 ObjectId of this {} is {kept} and cannot become {wanted}: Workspace 365 keys objects by ObjectId; delete the {} and create it again",
                    change.kind, change.kind
                ),
            }),
            _ => Ok(Some(wanted)),
        }
    }

    async fn apply_user(
        &self,
        change: &ResourceChange<'_>,
        object_id: Uuid,
    ) -> Result<Value, ConnectorError> {
        let request_id = change.request_id;
        let Some(after) = change.after else {
            self.api.delete_user(object_id, request_id).await?;
            return Ok(json!({}));
        };
        let info = self.mappings.user_info(after)?;
        if let Some(old) = change.before.and_then(|b| UserView(b).user_name())
            && !old.eq_ignore_ascii_case(&info.user_principal_name)
        {
            // [P 15]: Workspace keys users on the UPN; a change is allowed but risky.
            tracing::warn!(
                %object_id,
                request_id,
                "the user principal name of a Workspace 365 user changes; Workspace 365 keys users on it"
            );
        }
        self.api.put_user(object_id, &info, request_id).await?;
        let mut keys = VendorKeys::from_value(change.vendor_keys);
        let upn = info.user_principal_name.as_str();
        if keys.object_id.is_none() && keys.welcome_activity_id.is_none() {
            let person = Person {
                upn,
                first_name: &info.first_name,
                last_name: &info.last_name,
                email: info.email.as_deref().unwrap_or(upn),
            };
            keys.welcome_activity_id = self.onboarding.welcome(&person, request_id).await;
        }
        keys.object_id = Some(object_id);
        let credentials = credentials_of(UserView(after).extension(USER_EXTENSION_URN), upn);
        keys.integration_credentials_id = self
            .onboarding
            .push_credentials(
                upn,
                credentials.as_ref(),
                keys.integration_credentials_id,
                request_id,
            )
            .await?;
        match picture::preferred_photo(after) {
            Some(value) => {
                let picture = match picture::source(value, &self.rules).map_err(rejected)? {
                    Source::Inline(picture) => picture,
                    Source::Fetch(url) => self.fetcher.fetch(&url).await?,
                };
                let sha = picture.sha256();
                if keys.picture_sha256.as_deref() != Some(sha.as_str()) {
                    self.api
                        .put_picture(object_id, &picture, request_id)
                        .await?;
                }
                keys.picture_sha256 = Some(sha);
            }
            None => {
                let had = keys.picture_sha256.is_some()
                    || change.before.and_then(picture::preferred_photo).is_some();
                if had {
                    self.api.delete_picture(object_id, request_id).await?;
                }
                keys.picture_sha256 = None;
            }
        }
        Ok(keys.to_value())
    }

    async fn apply_group(
        &self,
        change: &ResourceChange<'_>,
        object_id: Uuid,
    ) -> Result<Value, ConnectorError> {
        let request_id = change.request_id;
        let Some(after) = change.after else {
            self.api.delete_group(object_id, request_id).await?;
            return Ok(json!({}));
        };
        let info = self.mappings.group_info(after)?;
        // Without kept keys the vendor may not have the group yet: send everything.
        let known = VendorKeys::from_value(change.vendor_keys)
            .object_id
            .is_some();
        let before = change.before.filter(|_| known);
        if before
            .and_then(|b| self.mappings.group_info(b).ok())
            .as_ref()
            != Some(&info)
        {
            self.api.put_group(object_id, &info, request_id).await?;
        }
        let diff = members::diff(change.members);
        // Resolve every member first, so an unknown one stops the change before any call.
        let mut remove = Vec::new();
        for member in &diff.remove {
            // A member gone from the store is gone from the vendor too (A2/A4 drop
            // memberships), and one never delivered was never added: nothing to remove.
            if let Found::Known(resolved) = resolve(change.lookup, member).await? {
                remove.push(resolved);
            }
        }
        let mut add = Vec::new();
        for member in &diff.add {
            match resolve(change.lookup, member).await? {
                Found::Known(resolved) => add.push(resolved),
                // Known to the store but not delivered yet (queued delivery): try again later.
                Found::Pending(kind) => {
                    return Err(ConnectorError::Unavailable {
                        reason: format!(
                            "the member {kind} \"{}\" is not in Workspace 365 yet",
                            member.id
                        ),
                        retry_after: None,
                    });
                }
                Found::Absent => {
                    return Err(ConnectorError::Rejected {
                        reason: format!(
                            "the member \"{}\" is not a User or Group of this connector",
                            member.id
                        ),
                    });
                }
            }
        }
        // Removals first: a group moved within a hierarchy never forms a cycle on the way.
        for (members, joins) in [(remove, false), (add, true)] {
            for m in members {
                match m.kind {
                    MemberKind::User => {
                        self.api
                            .user_membership(object_id, m.object_id, joins, request_id)
                            .await?
                    }
                    MemberKind::Group => {
                        self.api
                            .group_membership(object_id, m.object_id, joins, request_id)
                            .await?
                    }
                }
            }
        }
        Ok(VendorKeys {
            object_id: Some(object_id),
            ..VendorKeys::default()
        }
        .to_value())
    }
}

/// What the store knows of a group member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Delivered: its ObjectId is in its vendor keys.
    Known(Resolved),
    /// In the store, but its keys hold no ObjectId yet.
    Pending(ResourceKind),
    /// No User or Group with this id.
    Absent,
}

/// Where a member stands, from the vendor keys its own changes returned.
async fn resolve(lookup: &dyn KeyLookup, member: &Member) -> Result<Found, ConnectorError> {
    let kinds: &[MemberKind] = match member.kind {
        Some(MemberKind::User) => &[MemberKind::User],
        Some(MemberKind::Group) => &[MemberKind::Group],
        None => &[MemberKind::User, MemberKind::Group],
    };
    for kind in kinds {
        let resource_kind = match kind {
            MemberKind::User => ResourceKind::User,
            MemberKind::Group => ResourceKind::Group,
        };
        let Some(keys) = lookup.vendor_keys(resource_kind, &member.id).await? else {
            continue;
        };
        return Ok(match VendorKeys::from_value(&keys).object_id {
            Some(object_id) => Found::Known(Resolved {
                kind: *kind,
                object_id,
            }),
            None => Found::Pending(resource_kind),
        });
    }
    Ok(Found::Absent)
}

fn rejected(reason: impl ToString) -> ConnectorError {
    ConnectorError::Rejected {
        reason: reason.to_string(),
    }
}

/// The refusals [`Connector::check`] makes for a resource's attributes.
fn check_attributes(
    kind: ResourceKind,
    after: &Map<String, Value>,
    rules: &PictureRules,
    mappings: &Mappings,
) -> Result<(), ConnectorError> {
    match kind {
        ResourceKind::User => {
            mappings.user_info(after)?;
            if let Some(value) = picture::preferred_photo(after) {
                picture::source(value, rules).map_err(rejected)?;
            }
        }
        ResourceKind::Group => {
            mappings.group_info(after)?;
        }
    }
    Ok(())
}

#[async_trait]
impl Connector for Workspace365AdSync {
    fn kind(&self) -> &'static str {
        "workspace365-adsync"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            groups: true,
            change_password: false,
        }
    }

    fn extensions(&self) -> Vec<(ResourceKind, Schema)> {
        vec![
            (ResourceKind::User, Self::user_extension_schema()),
            (ResourceKind::Group, Self::group_extension_schema()),
        ]
    }

    /// The ActiveDirectorySync API (pictures fetched from elsewhere are not a vendor
    /// endpoint).
    fn status(&self) -> ConnectorStatus {
        let mut endpoints = vec![self.api.status()];
        endpoints.extend(self.onboarding.api().map(EnvApi::status));
        ConnectorStatus { endpoints }
    }

    /// The API has no read: a membership delete between nil ObjectIds, once
    /// ([`Api::probe`]).
    async fn probe(&self) -> Result<(), ConnectorError> {
        self.api.probe().await
    }

    fn check(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        self.object_id(change)?;
        if let Some(after) = change.after {
            check_attributes(change.kind, after, &self.rules, &self.mappings)?;
            if change.kind == ResourceKind::User {
                let extension = UserView(after).extension(USER_EXTENSION_URN);
                self.onboarding
                    .check(credentials_of(extension, "").as_ref())?;
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

    /// A1 with the user's fields, or A3 with the group's; memberships and pictures follow
    /// as separate calls.
    fn preview(
        &self,
        kind: ResourceKind,
        id: &str,
        resource: &Map<String, Value>,
    ) -> Result<Vec<PlannedCall>, ConnectorError> {
        let object_id = mapping::object_id(self.settings.object_id, id, resource)
            .map_err(|reason| ConnectorError::Rejected { reason })?
            .to_string();
        let json = |body: serde_json::Result<String>| {
            body.map_err(|e| ConnectorError::Rejected {
                reason: e.to_string(),
            })
        };
        let (segment, body) = match kind {
            ResourceKind::User => (
                "Users",
                json(serde_json::to_string(&self.mappings.user_info(resource)?))?,
            ),
            ResourceKind::Group => (
                "Groups",
                json(serde_json::to_string(&self.mappings.group_info(resource)?))?,
            ),
        };
        let url = self.api.url(&[segment, &object_id], true)?;
        Ok(vec![PlannedCall::new(format!("PUT {url}"), body)])
    }

    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError> {
        self.check(&change)?;
        let Some(object_id) = self.object_id(&change)? else {
            // A delete of something the vendor never had under a known ObjectId.
            return Ok(json!({}));
        };
        match change.kind {
            ResourceKind::User => self.apply_user(&change, object_id).await,
            ResourceKind::Group => self.apply_group(&change, object_id).await,
        }
    }
}
