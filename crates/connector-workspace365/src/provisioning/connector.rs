//! The Workspace 365 Provisioning connector: what each SCIM change makes the vendor do (see
//! the module documentation).

use async_trait::async_trait;
use scim::ResourceKind;
use scim::schema::{AttrType, Attribute, Schema};
use serde_json::{Map, Value, json};

use super::api::{ProvisioningApi, ProvisioningError, UserBody};
use super::mapping::{Desired, EXTENSION_URN, Mappings, VendorKeys, describe, is_duplicate};
use super::settings::{PasswordPolicy, Workspace365Settings};
use crate::environment::EnvApi;
use crate::environment::onboarding::{Onboarding, Person, credentials_attribute};
use connector::http::VendorClient;
use connector::{
    Capabilities, Connector, ConnectorError, ConnectorStatus, PlannedCall, ResourceChange, Secret,
};

/// The Workspace 365 Provisioning connector.
#[derive(Debug)]
pub struct Workspace365 {
    api: ProvisioningApi,
    onboarding: Onboarding,
    settings: Workspace365Settings,
    mappings: Mappings,
}

impl Workspace365 {
    /// A connector for these settings (no call is made until the first change).
    pub fn new(
        context: &connector::Context,
        settings: Workspace365Settings,
    ) -> Result<Workspace365, ConnectorError> {
        let key = settings
            .key()
            .map_err(|e| ConnectorError::Unsupported(e.to_string()))?;
        let mappings = Mappings::build(&settings)
            .map_err(|problems| connector::unusable("workspace365", &problems))?;
        let client = VendorClient::new(
            context,
            "workspace365",
            settings.http.endpoint(&settings.base_url),
        )?;
        let onboarding = Onboarding::new(
            context,
            settings.environment_api.as_ref(),
            &settings.environment,
            settings.welcome_activity.clone(),
        )?;
        Ok(Workspace365 {
            api: ProvisioningApi::new(client, settings.environment.clone(), key),
            onboarding,
            settings,
            mappings,
        })
    }

    /// The extension schema published in `/Schemas`.
    pub fn extension_schema() -> Schema {
        Schema::new(
            EXTENSION_URN,
            "Workspace365",
            "Workspace 365 account settings for this user",
            vec![
                Attribute::new("isAdministrator", AttrType::Boolean)
                    .describe("Whether the user is a Workspace 365 administrator; default: the connector's is_administrator"),
                Attribute::new("createInOffice365", AttrType::Boolean).describe(
                    "Whether Workspace 365 also creates the user in Office 365 (used when the user is created); default: the connector's create_in_office365",
                ),
                credentials_attribute(),
            ],
        )
    }

    /// Refusals that hold for every change, replays included.
    fn refuse_unsupported(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        if change.kind == ResourceKind::Group {
            return Err(ConnectorError::Unsupported(
                "the Workspace 365 Provisioning API has no groups".into(),
            ));
        }
        if let Some(after) = change.after {
            let desired = self.mappings.desired(after)?;
            self.onboarding.check(desired.credentials.as_ref())?;
        }
        Ok(())
    }

    /// W2 (when configured) and W1; adopts on the duplicate answer.
    async fn create(
        &self,
        desired: &Desired,
        keys: &VendorKeys,
        request_id: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        let generated = match (&desired.password, self.settings.password_policy) {
            (None, PasswordPolicy::Generate) => Some(super::password::generate(
                self.settings.generated_password_length,
            )),
            _ => None,
        };
        let body = UserBody {
            user: &desired.user,
            password: desired.password.as_ref().or(generated.as_ref()),
            create_in_office365: Some(desired.create_in_office365),
        };
        if self.settings.validate_first {
            match self.api.validate_create(body, request_id).await {
                Ok(()) => {}
                Err(ProvisioningError::Invalid(r)) if is_duplicate(&r) => {
                    return self.adopt(desired, keys, request_id).await;
                }
                Err(e) => return Err(self.create_error(e)),
            }
        }
        let id = match self.api.create(body, request_id).await {
            Ok(id) => id,
            Err(ProvisioningError::Invalid(r)) if is_duplicate(&r) => {
                return self.adopt(desired, keys, request_id).await;
            }
            Err(e) => return Err(self.create_error(e)),
        };
        let address = &desired.user.email_address;
        tracing::info!(
            id,
            email = address.as_str(),
            generated_password = generated.is_some(),
            request_id,
            "created a Workspace 365 user"
        );
        if !desired.active {
            self.api
                .set_active(address, false, request_id)
                .await
                .map_err(|e| self.update_error(e))?;
        }
        let mut created = VendorKeys {
            id: Some(id),
            email_address: Some(address.clone()),
            ..VendorKeys::default()
        };
        created.welcome_activity_id = self.welcome(desired, request_id).await;
        created.integration_credentials_id =
            self.push_credentials(desired, None, request_id).await?;
        Ok(created.to_value())
    }

    /// Takes over the account the vendor already has at the wanted address.
    async fn adopt(
        &self,
        desired: &Desired,
        keys: &VendorKeys,
        request_id: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        let address = &desired.user.email_address;
        if !self.settings.adopt_existing {
            return Err(ConnectorError::Conflict {
                reason: format!(
                    "Workspace 365 already has a user {address}, and this connector does not adopt existing accounts (adopt_existing = false)"
                ),
            });
        }
        tracing::info!(
            email = address.as_str(),
            request_id,
            "Workspace 365 already has this user; adopting it"
        );
        match self.put_user(&[address], desired, request_id).await? {
            Some(_) => {}
            None => {
                return Err(ConnectorError::Unavailable {
                    reason: format!(
                        "Workspace 365 reported {address} as taken, then did not find it; try again"
                    ),
                    retry_after: None,
                });
            }
        }
        self.api
            .set_active(address, desired.active, request_id)
            .await
            .map_err(|e| self.update_error(e))?;
        let adopted = VendorKeys {
            id: keys.id,
            email_address: Some(address.clone()),
            adopted: true,
            integration_credentials_id: self
                .push_credentials(desired, keys.integration_credentials_id, request_id)
                .await?,
            welcome_activity_id: keys.welcome_activity_id,
        };
        Ok(adopted.to_value())
    }

    /// Brings the user the vendor has at `current` to `desired`.
    async fn update(
        &self,
        current: &str,
        before: Option<&Desired>,
        desired: &Desired,
        keys: &VendorKeys,
        request_id: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        let body_changed =
            before.is_none_or(|b| b.user != desired.user) || desired.password.is_some();
        let active_changed = before.is_none_or(|b| b.active != desired.active);
        let credentials_changed = desired.credentials.is_some()
            && before.is_none_or(|b| b.credentials != desired.credentials);
        let mut address = current.to_owned();
        if body_changed {
            // A replayed rename finds the user at its new address already.
            let candidates = [current, desired.user.email_address.as_str()];
            match self.put_user(&candidates, desired, request_id).await? {
                Some(now) => address = now,
                None => return self.recreate(desired, request_id).await,
            }
        }
        if active_changed {
            match self
                .api
                .set_active(&address, desired.active, request_id)
                .await
            {
                Ok(()) => {}
                Err(ProvisioningError::NotFound) => {
                    return self.recreate(desired, request_id).await;
                }
                Err(e) => return Err(self.update_error(e)),
            }
        }
        let credentials_id = if credentials_changed {
            self.push_credentials(desired, keys.integration_credentials_id, request_id)
                .await?
        } else {
            keys.integration_credentials_id
        };
        Ok(VendorKeys {
            email_address: Some(address),
            integration_credentials_id: credentials_id,
            ..keys.clone()
        }
        .to_value())
    }

    /// W4 (when configured) and W3 at the first of `addresses` the vendor has; the address
    /// the user has now, or `None` when the vendor has it at none of them.
    async fn put_user(
        &self,
        addresses: &[&str],
        desired: &Desired,
        request_id: Option<&str>,
    ) -> Result<Option<String>, ConnectorError> {
        let body = UserBody {
            user: &desired.user,
            password: desired.password.as_ref(),
            create_in_office365: None,
        };
        let mut tried: Vec<&str> = Vec::new();
        for address in addresses {
            if tried.contains(address) {
                continue;
            }
            tried.push(address);
            if self.settings.validate_first {
                match self.api.validate_update(address, body, request_id).await {
                    Ok(()) => {}
                    Err(ProvisioningError::NotFound) => continue,
                    Err(e) => return Err(self.update_error(e)),
                }
            }
            match self.api.update(address, body, request_id).await {
                Ok(()) => return Ok(Some(desired.user.email_address.clone())),
                Err(ProvisioningError::NotFound) => continue,
                Err(e) => return Err(self.update_error(e)),
            }
        }
        Ok(None)
    }

    /// The vendor lost the user (deleted in Workspace itself): create it again so that the
    /// vendor matches SCIM.
    async fn recreate(
        &self,
        desired: &Desired,
        request_id: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        tracing::warn!(
            email = desired.user.email_address.as_str(),
            request_id,
            "Workspace 365 no longer has this user; creating it again"
        );
        self.create(desired, &VendorKeys::default(), request_id)
            .await
    }

    /// W7 at the address the vendor has; a missing user is already gone.
    async fn delete(&self, address: &str, request_id: Option<&str>) -> Result<(), ConnectorError> {
        match self.api.delete(address, request_id).await {
            Ok(()) => Ok(()),
            Err(ProvisioningError::NotFound) => {
                tracing::info!(
                    email = address,
                    request_id,
                    "Workspace 365 no longer has this user"
                );
                Ok(())
            }
            Err(e) => Err(self.update_error(e)),
        }
    }

    /// Posts the configured welcome activity (see [`Onboarding::welcome`]).
    async fn welcome(&self, desired: &Desired, request_id: Option<&str>) -> Option<u64> {
        let user = &desired.user;
        let person = Person {
            upn: &user.email_address,
            first_name: &user.first_name,
            last_name: &user.last_name,
            email: &user.email_address,
        };
        self.onboarding.welcome(&person, request_id).await
    }

    /// Sends the extension's integration credentials (see [`Onboarding::push_credentials`]).
    async fn push_credentials(
        &self,
        desired: &Desired,
        existing: Option<u64>,
        request_id: Option<&str>,
    ) -> Result<Option<u64>, ConnectorError> {
        self.onboarding
            .push_credentials(
                &desired.user.email_address,
                desired.credentials.as_ref(),
                existing,
                request_id,
            )
            .await
    }

    /// A failed W1/W2 as the SCIM client should see it.
    fn create_error(&self, e: ProvisioningError) -> ConnectorError {
        match e {
            ProvisioningError::Invalid(results) => ConnectorError::Rejected {
                reason: describe(&results),
            },
            // No user is named in W1/W2's path: the 404 is the environment's.
            ProvisioningError::NotFound => ConnectorError::Unauthorized {
                reason: format!(
                    "Workspace 365 has no environment \"{}\" (404); check the connector's environment",
                    self.settings.environment
                ),
            },
            ProvisioningError::Failed(e) => e,
        }
    }

    /// A failed W3–W7 as the SCIM client should see it.
    fn update_error(&self, e: ProvisioningError) -> ConnectorError {
        match e {
            ProvisioningError::Invalid(results) if is_duplicate(&results) => {
                ConnectorError::Conflict {
                    reason: describe(&results),
                }
            }
            ProvisioningError::Invalid(results) => ConnectorError::Rejected {
                reason: describe(&results),
            },
            ProvisioningError::NotFound => ConnectorError::Unavailable {
                reason: format!(
                    "Workspace 365 did not find the user or the environment \"{}\" (404)",
                    self.settings.environment
                ),
                retry_after: None,
            },
            ProvisioningError::Failed(e) => e,
        }
    }
}

#[async_trait]
impl Connector for Workspace365 {
    fn kind(&self) -> &'static str {
        "workspace365"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            groups: false,
            change_password: true,
        }
    }

    fn extensions(&self) -> Vec<(ResourceKind, Schema)> {
        vec![(ResourceKind::User, Self::extension_schema())]
    }

    /// The Provisioning API, then the environment API when configured.
    fn status(&self) -> ConnectorStatus {
        let mut endpoints = vec![self.api.status()];
        endpoints.extend(self.onboarding.api().map(EnvApi::status));
        ConnectorStatus { endpoints }
    }

    /// The Provisioning API has no read: W2 (validate, which changes nothing) for a made-up
    /// user, once; then `GET api/appicons/environment` when the environment API is
    /// configured. Both are tried; the first failure is returned.
    async fn probe(&self) -> Result<(), ConnectorError> {
        let provisioning = self.api.probe().await;
        let environment = match self.onboarding.api() {
            Some(env) => env.probe().await,
            None => Ok(()),
        };
        provisioning.and(environment)
    }

    fn check(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        self.refuse_unsupported(change)?;
        let Some(after) = change.after else {
            return Ok(());
        };
        let creating = change.before.is_none()
            && VendorKeys::from_value(change.vendor_keys)
                .email_address
                .is_none();
        // Only here, not in apply: a replay never carries the password (the journal does not
        // keep it), and it must still be able to adopt its own first attempt.
        if creating
            && scim::resource::UserView(after).password().is_none()
            && self.settings.password_policy == PasswordPolicy::Refuse
        {
            return Err(ConnectorError::Rejected {
                reason: "Workspace 365 needs a password for a new user, and this connector does not generate one (password_policy = \"refuse\")".into(),
            });
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

    /// W2 (when `validate_first`) and W1 with the user body; the password shows as `***`.
    fn preview(
        &self,
        kind: ResourceKind,
        _id: &str,
        resource: &Map<String, Value>,
    ) -> Result<Vec<PlannedCall>, ConnectorError> {
        if kind == ResourceKind::Group {
            return Err(ConnectorError::Unsupported(
                "the Workspace 365 Provisioning API has no groups".into(),
            ));
        }
        let desired = self.mappings.desired(resource)?;
        let masked = Secret::new("***");
        let sends_password =
            desired.password.is_some() || self.settings.password_policy == PasswordPolicy::Generate;
        let body = UserBody {
            user: &desired.user,
            password: sends_password.then_some(&masked),
            create_in_office365: Some(desired.create_in_office365),
        }
        .to_json();
        let mut calls = Vec::new();
        if self.settings.validate_first {
            calls.push(PlannedCall::new(
                format!("POST {}", self.api.url("Validate/")),
                body.clone(),
            ));
        }
        calls.push(PlannedCall::new(format!("POST {}", self.api.url("")), body));
        Ok(calls)
    }

    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError> {
        self.refuse_unsupported(&change)?;
        let keys = VendorKeys::from_value(change.vendor_keys);
        let request_id = change.request_id;
        let current = keys
            .email_address
            .clone()
            .or_else(|| change.before.and_then(|b| self.mappings.email_address(b)));
        let Some(after) = change.after else {
            if let Some(address) = current {
                self.delete(&address, request_id).await?;
            }
            return Ok(json!({}));
        };
        let desired = self.mappings.desired(after)?;
        match current {
            None => self.create(&desired, &keys, request_id).await,
            Some(current) => {
                let before = change.before.and_then(|b| self.mappings.desired(b).ok());
                self.update(&current, before.as_ref(), &desired, &keys, request_id)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use scim::schema::{Mutability, Returned};

    fn change<'a>(
        kind: ResourceKind,
        before: Option<&'a Map<String, Value>>,
        after: Option<&'a Map<String, Value>>,
        keys: &'a Value,
    ) -> ResourceChange<'a> {
        ResourceChange {
            members: &scim::members::UNCHANGED,
            kind,
            id: "1",
            before,
            after,
            vendor_keys: keys,
            request_id: None,
            lookup: &connector::NoLookup,
        }
    }

    fn connector(edit: impl FnOnce(&mut Workspace365Settings)) -> Workspace365 {
        let mut s = Workspace365Settings::new("http://127.0.0.1:9/Provisioning", "example", "k");
        edit(&mut s);
        Workspace365::new(&connector::Context::named("workspace365"), s).expect("builds")
    }

    #[test]
    fn check_refuses_what_the_connector_will_never_do() {
        let w = connector(|_| {});
        let empty = json!({});
        let group = json!({"displayName": "g"});
        assert!(matches!(
            w.check(&change(
                ResourceKind::Group,
                None,
                group.as_object(),
                &empty
            )),
            Err(ConnectorError::Unsupported(_))
        ));
        let no_address = json!({"userName": "jdoe"});
        assert!(matches!(
            w.check(&change(
                ResourceKind::User,
                None,
                no_address.as_object(),
                &empty
            )),
            Err(ConnectorError::Rejected { .. })
        ));
        let creds = json!({"userName": "a@x.nl", EXTENSION_URN: {"integrationCredentials": {"password": "p"}}});
        let e = w
            .check(&change(ResourceKind::User, None, creds.as_object(), &empty))
            .expect_err("no environment API");
        assert!(e.to_string().contains("environment API"), "{e}");

        let no_password = json!({"userName": "a@x.nl"});
        assert!(
            w.check(&change(
                ResourceKind::User,
                None,
                no_password.as_object(),
                &empty
            ))
            .is_ok(),
            "generated"
        );
        let refuse = connector(|s| s.password_policy = PasswordPolicy::Refuse);
        let e = refuse
            .check(&change(
                ResourceKind::User,
                None,
                no_password.as_object(),
                &empty,
            ))
            .expect_err("refused");
        assert!(e.to_string().contains("password_policy"), "{e}");
        let keys = json!({"emailAddress": "a@x.nl"});
        assert!(
            refuse
                .check(&change(
                    ResourceKind::User,
                    no_password.as_object(),
                    no_password.as_object(),
                    &keys
                ))
                .is_ok(),
            "an update keeps the vendor's password"
        );
    }

    #[test]
    fn the_extension_schema_hides_the_credentials() {
        let schema = Workspace365::extension_schema();
        let creds = schema
            .attribute("integrationCredentials")
            .expect("credentials");
        assert_eq!(creds.returned, Returned::Never);
        assert_eq!(creds.mutability, Mutability::WriteOnly);
        assert!(
            creds
                .sub_attributes
                .iter()
                .all(|a| a.returned == Returned::Never)
        );
        let w = connector(|_| {});
        assert_eq!(
            w.capabilities(),
            Capabilities {
                groups: false,
                change_password: true
            }
        );
    }
}
