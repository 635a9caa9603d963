//! What Workspace 365 should hold for a SCIM User, through the connector's attribute mapping
//! (docs/connectors/workspace365.md "Mapping"), the vendor keys kept for it, and how the
//! vendor's validation answers read. Pure: no calls.
//!
//! By default `EmailAddress` (the vendor's key, docs/connectors/workspace365.md "SCIM
//! mapping") is the SCIM primary e-mail (the one marked `primary`, else the first), else
//! `userName` when it is an e-mail address.

use scim::resource::UserView;
use serde_json::{Map, Value, json};

use super::api::ValidationMessage;
use super::settings::Workspace365Settings;
use crate::environment::IntegrationCredentials;
use crate::environment::onboarding::credentials_of;
use connector::mapping::{
    Field, FieldKind, FieldSpec, Mapping, MappingError, no_group_rules, resource_schema,
};
use connector::secret::Secret;
use connector::{ConnectorError, Problem};
use scim::ResourceKind;

/// The connector's SCIM extension of User.
pub const EXTENSION_URN: &str = "urn:scim-bridge:schemas:extension:workspace365:1.0:User";

/// What the vendor keeps of a user besides its password and active flag: the W3 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorUser {
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
    pub is_administrator: bool,
}

/// Everything SCIM asks of the vendor for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub user: VendorUser,
    pub active: bool,
    /// The SCIM `password`, when the client sent one.
    pub password: Option<Secret>,
    /// `CreateInOffice365`, used by a create only.
    pub create_in_office365: bool,
    /// The extension's integration credentials, when given (with a password).
    pub credentials: Option<IntegrationCredentials>,
}

/// The user fields the connector writes: `mapping.user.<name>`, the W1/W3 body's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    EmailAddress,
    FirstName,
    LastName,
    IsAdministrator,
    CreateInOffice365,
}

impl Field for UserField {
    const ALL: &'static [UserField] = &[
        UserField::EmailAddress,
        UserField::FirstName,
        UserField::LastName,
        UserField::IsAdministrator,
        UserField::CreateInOffice365,
    ];
    const TABLE: &'static str = "user";

    fn spec(self) -> FieldSpec {
        use FieldKind::{Flag, Text};
        let (name, kind, required, about) = match self {
            UserField::EmailAddress => (
                "EmailAddress",
                Text,
                true,
                "the e-mail address: Workspace 365's key",
            ),
            UserField::FirstName => ("FirstName", Text, false, "first name"),
            UserField::LastName => ("LastName", Text, false, "last name"),
            UserField::IsAdministrator => (
                "IsAdministrator",
                Flag,
                false,
                "a Workspace 365 administrator",
            ),
            UserField::CreateInOffice365 => (
                "CreateInOffice365",
                Flag,
                false,
                "also create the user in Office 365 (create only)",
            ),
        };
        FieldSpec {
            name,
            kind,
            required,
            about,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// An e-mail address as the vendor checks one, leniently: one `@` with text on both sides,
/// no spaces.
const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+$";

/// The default rules: the connector's mapping before mappings could be configured.
pub fn user_defaults(settings: &Workspace365Settings) -> Vec<(UserField, Value)> {
    use UserField as F;
    let ext = |name: &str| format!("{EXTENSION_URN}:{name}");
    vec![
        (
            F::EmailAddress,
            json!({
                "from": ["emails[primary eq true].value", "emails.value", "userName"],
                "transform": [{"matches": EMAIL_PATTERN}]
            }),
        ),
        (F::FirstName, json!("name.givenName")),
        (F::LastName, json!("name.familyName")),
        (
            F::IsAdministrator,
            json!({"from": ext("isAdministrator"), "default": settings.is_administrator}),
        ),
        (
            F::CreateInOffice365,
            json!({"from": ext("createInOffice365"), "default": settings.create_in_office365}),
        ),
    ]
}

/// The connector's mapping, defaults under the operator's rules.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub user: Mapping<UserField>,
}

impl Mappings {
    /// Reads `settings.mapping`; the problems are keyed `mapping.user.…`.
    pub fn build(settings: &Workspace365Settings) -> Result<Mappings, Vec<Problem>> {
        no_group_rules(
            &settings.mapping,
            "the Workspace 365 Provisioning API has no groups",
        )?;
        let extensions = [(ResourceKind::User, super::Workspace365::extension_schema())];
        Ok(Mappings {
            user: Mapping::build(
                "Workspace 365",
                &settings.mapping,
                &user_defaults(settings),
                resource_schema(ResourceKind::User, &extensions),
            )?,
        })
    }

    /// The address the vendor knows the user by.
    pub fn email_address(&self, user: &Map<String, Value>) -> Option<String> {
        self.user.text(UserField::EmailAddress, user)
    }

    /// What SCIM asks for `user`; refused when it gives no address.
    pub fn desired(&self, user: &Map<String, Value>) -> Result<Desired, ConnectorError> {
        use UserField as F;
        let view = UserView(user);
        let map = &self.user;
        let address = map.required(F::EmailAddress, user)?;
        let credentials = credentials_of(view.extension(EXTENSION_URN), &address);
        let flag =
            |field| -> Result<bool, MappingError> { Ok(map.flag(field, user)?.unwrap_or(false)) };
        Ok(Desired {
            user: VendorUser {
                first_name: map.text(F::FirstName, user).unwrap_or_default(),
                last_name: map.text(F::LastName, user).unwrap_or_default(),
                is_administrator: flag(F::IsAdministrator)?,
                email_address: address,
            },
            active: view.active(),
            password: view.password().map(Secret::new),
            create_in_office365: flag(F::CreateInOffice365)?,
            credentials,
        })
    }
}

/// What the connector keeps for a user: the vendor's id and the address the vendor has now
/// (the path key of every later call), and the environment-API records it made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorKeys {
    /// The integer id W1 returned; unknown for an adopted account (the vendor has no read API).
    pub id: Option<u64>,
    pub email_address: Option<String>,
    /// The account existed before this connector created it (or a replay met its own create).
    pub adopted: bool,
    pub integration_credentials_id: Option<u64>,
    pub welcome_activity_id: Option<u64>,
}

impl VendorKeys {
    /// Reads stored keys; anything unreadable is absent.
    pub fn from_value(value: &Value) -> VendorKeys {
        let u64_at = |name: &str| value.get(name).and_then(Value::as_u64);
        VendorKeys {
            id: u64_at("id"),
            email_address: value
                .get("emailAddress")
                .and_then(Value::as_str)
                .map(str::to_owned),
            adopted: value
                .get("adopted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            integration_credentials_id: u64_at("integrationCredentialsId"),
            welcome_activity_id: u64_at("welcomeActivityId"),
        }
    }

    /// The stored form; absent values are left out.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        if let Some(id) = self.id {
            out.insert("id".into(), json!(id));
        }
        if let Some(address) = &self.email_address {
            out.insert("emailAddress".into(), json!(address));
        }
        if self.adopted {
            out.insert("adopted".into(), json!(true));
        }
        if let Some(id) = self.integration_credentials_id {
            out.insert("integrationCredentialsId".into(), json!(id));
        }
        if let Some(id) = self.welcome_activity_id {
            out.insert("welcomeActivityId".into(), json!(id));
        }
        Value::Object(out)
    }
}

/// Whether the vendor's answer says the address is taken (docs/connectors/workspace365.md "Quirks" [O]: the .NET
/// message "A user with this email address already exists." on `EmailAddress`). Matched on
/// "already exist" so that a rephrasing keeps working.
pub fn is_duplicate(results: &[ValidationMessage]) -> bool {
    results.iter().any(|r| {
        (r.members.is_empty()
            || r.members
                .iter()
                .any(|m| m.eq_ignore_ascii_case("EmailAddress")))
            && r.message.to_ascii_lowercase().contains("already exist")
    })
}

/// The SCIM attribute a vendor body field comes from.
fn scim_attribute(member: &str) -> Option<&'static str> {
    Some(match member.to_ascii_lowercase().as_str() {
        "emailaddress" => "emails (primary) / userName",
        "firstname" => "name.givenName",
        "lastname" => "name.familyName",
        "password" => "password",
        "isadministrator" => "isAdministrator (workspace365 extension)",
        "createinoffice365" => "createInOffice365 (workspace365 extension)",
        _ => return None,
    })
}

/// The vendor's messages for a SCIM client: `EmailAddress (emails (primary) / userName): …;
/// FirstName (name.givenName): …`.
pub fn describe(results: &[ValidationMessage]) -> String {
    let parts: Vec<String> = results
        .iter()
        .map(|r| {
            let members: Vec<String> = r
                .members
                .iter()
                .map(|m| match scim_attribute(m) {
                    Some(attr) => format!("{m} ({attr})"),
                    None => m.clone(),
                })
                .collect();
            if members.is_empty() {
                r.message.clone()
            } else {
                format!("{}: {}", members.join(", "), r.message)
            }
        })
        .collect();
    format!("Workspace 365: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Workspace365Settings {
        Workspace365Settings::new("http://x/Provisioning", "example", "k")
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn mappings(settings: &Workspace365Settings) -> Mappings {
        Mappings::build(settings).expect("mappings")
    }

    fn email_address(user: &Map<String, Value>) -> Option<String> {
        mappings(&settings()).email_address(user)
    }

    fn desired(
        user: &Map<String, Value>,
        settings: &Workspace365Settings,
    ) -> Result<Desired, ConnectorError> {
        mappings(settings).desired(user)
    }

    #[test]
    fn the_address_is_the_primary_email_else_an_email_user_name() {
        let u = map(json!({"userName": "jdoe", "emails": [
            {"value": "j.other@x.nl"}, {"value": "jdoe@x.nl", "primary": true}]}));
        assert_eq!(email_address(&u).as_deref(), Some("jdoe@x.nl"));
        let u = map(json!({"userName": "jdoe", "emails": [{"value": "first@x.nl"}]}));
        assert_eq!(email_address(&u).as_deref(), Some("first@x.nl"));
        let u = map(json!({"userName": "jdoe@x.nl"}));
        assert_eq!(email_address(&u).as_deref(), Some("jdoe@x.nl"));
        let u = map(json!({"userName": "jdoe"}));
        assert_eq!(email_address(&u), None);
        assert!(matches!(
            desired(&u, &settings()),
            Err(ConnectorError::Rejected { .. })
        ));
    }

    #[test]
    fn the_extension_overrides_the_configured_defaults() {
        let mut s = settings();
        s.create_in_office365 = true;
        let plain = map(
            json!({"userName": "a@x.nl", "name": {"givenName": "A", "familyName": "B"},
            "password": "pw", "active": false}),
        );
        let d = desired(&plain, &s).expect("desired");
        assert_eq!(
            d.user,
            VendorUser {
                email_address: "a@x.nl".into(),
                first_name: "A".into(),
                last_name: "B".into(),
                is_administrator: false
            }
        );
        assert!(d.create_in_office365 && !d.active);
        assert_eq!(d.password, Some(Secret::new("pw")));
        assert_eq!(d.credentials, None);
        let ext = map(json!({"userName": "a@x.nl", EXTENSION_URN: {
            "isAdministrator": "True", "createInOffice365": false,
            "integrationCredentials": {"password": "s3cret"}}}));
        let d = desired(&ext, &s).expect("desired");
        assert!(d.user.is_administrator && !d.create_in_office365);
        assert_eq!(
            d.credentials,
            Some(IntegrationCredentials {
                username: "a@x.nl".into(),
                password: Secret::new("s3cret")
            }),
            "the username defaults to the address"
        );
    }

    #[test]
    fn roles_may_decide_the_administrator_flag() {
        let mut s = settings();
        s.mapping = serde_json::from_value(json!({"user": {"IsAdministrator": {
            "from": "roles.value", "transform": [{"map": {"admin": true}}], "default": false
        }}}))
        .expect("mapping");
        let admin =
            map(json!({"userName": "a@x.nl", "roles": [{"value": "user"}, {"value": "Admin"}]}));
        assert!(desired(&admin, &s).expect("desired").user.is_administrator);
        let user = map(json!({"userName": "u@x.nl", "roles": [{"value": "user"}]}));
        assert!(!desired(&user, &s).expect("desired").user.is_administrator);
    }

    #[test]
    fn keys_round_trip_and_tolerate_junk() {
        let keys = VendorKeys {
            id: Some(17),
            email_address: Some("a@x.nl".into()),
            adopted: true,
            integration_credentials_id: Some(8),
            welcome_activity_id: None,
        };
        assert_eq!(
            keys.to_value(),
            json!({"id": 17, "emailAddress": "a@x.nl", "adopted": true, "integrationCredentialsId": 8})
        );
        assert_eq!(VendorKeys::from_value(&keys.to_value()), keys);
        assert_eq!(
            VendorKeys::from_value(&json!({"id": "x"})),
            VendorKeys::default()
        );
    }

    #[test]
    fn duplicates_and_messages() {
        let dup = ValidationMessage {
            members: vec!["EmailAddress".into()],
            message: "A user with this email address already exists.".into(),
        };
        let first = ValidationMessage {
            members: vec!["FirstName".into()],
            message: "The FirstName field is required.".into(),
        };
        assert!(is_duplicate(&[first.clone(), dup.clone()]));
        assert!(!is_duplicate(std::slice::from_ref(&first)));
        let other_field = ValidationMessage {
            members: vec!["Password".into()],
            message: "already exists in history".into(),
        };
        assert!(!is_duplicate(&[other_field]));
        assert_eq!(
            describe(&[first, dup]),
            "Workspace 365: FirstName (name.givenName): The FirstName field is required.; \
             EmailAddress (emails (primary) / userName): A user with this email address already exists."
        );
    }

    #[test]
    fn the_documented_default_mapping_is_the_codes() {
        let page = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/connectors/workspace365.md"
        );
        connector::mapping::assert_documented(page, &mappings(&settings()).user.markdown());
    }
}
