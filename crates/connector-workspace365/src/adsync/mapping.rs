//! What a SCIM User or Group becomes at the ActiveDirectorySync API (docs/connectors/workspace365-adsync.md "SCIM mapping"), and the
//! vendor keys kept for it. Pure.

use connector::Problem;
use connector::mapping::{
    Field, FieldKind, FieldSpec, Mapping, MappingError, both, resource_schema,
};
use scim::ResourceKind;
use scim::json::get_ci;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::settings::ObjectIdSource;

/// The connector's SCIM extension of User: the vendor fields with no core SCIM home.
pub const USER_EXTENSION_URN: &str =
    "urn:scim-bridge:schemas:extension:workspace365-adsync:1.0:User";

/// The connector's SCIM extension of Group (SCIM core Group has no description).
pub const GROUP_EXTENSION_URN: &str =
    "urn:scim-bridge:schemas:extension:workspace365-adsync:1.0:Group";

/// The A1 body ("User Info"). Absent values go out as `null`: A1 replaces every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserInfo {
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

/// The A3 body ("Group info").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupInfo {
    pub name: String,
    pub description: Option<String>,
}

/// The user fields the connector writes: `mapping.user.<name>`, the A1 body's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    FirstName,
    LastName,
    UserPrincipalName,
    Email,
    SecondaryEmail,
    IsAdmin,
    IsActive,
    JobTitle,
    MobilePhone,
}

impl Field for UserField {
    const ALL: &'static [UserField] = &[
        UserField::FirstName,
        UserField::LastName,
        UserField::UserPrincipalName,
        UserField::Email,
        UserField::SecondaryEmail,
        UserField::IsAdmin,
        UserField::IsActive,
        UserField::JobTitle,
        UserField::MobilePhone,
    ];
    const TABLE: &'static str = "user";

    fn spec(self) -> FieldSpec {
        use FieldKind::{Flag, List, Text};
        let (name, kind, required, about) = match self {
            UserField::FirstName => ("FirstName", Text, true, "first name"),
            UserField::LastName => ("LastName", Text, true, "last name"),
            UserField::UserPrincipalName => (
                "UserPrincipalName",
                Text,
                true,
                "the user principal name (unique at the vendor)",
            ),
            UserField::Email => ("Email", Text, false, "e-mail address"),
            UserField::SecondaryEmail => (
                "SecondaryEmail",
                List,
                false,
                "secondary e-mail address: the first value that is not Email",
            ),
            UserField::IsAdmin => ("IsAdmin", Flag, true, "a Workspace 365 administrator"),
            UserField::IsActive => ("IsActive", Flag, true, "may sign in"),
            UserField::JobTitle => ("JobTitle", Text, false, "job title"),
            UserField::MobilePhone => ("MobilePhone", Text, false, "mobile phone number"),
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

/// The group fields: `mapping.group.<name>`, the A3 body's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Name,
    Description,
}

impl Field for GroupField {
    const ALL: &'static [GroupField] = &[GroupField::Name, GroupField::Description];
    const TABLE: &'static str = "group";

    fn spec(self) -> FieldSpec {
        let (name, required, about) = match self {
            GroupField::Name => ("Name", true, "the group's name"),
            GroupField::Description => ("Description", false, "the group's description"),
        };
        FieldSpec {
            name,
            kind: FieldKind::Text,
            required,
            about,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The default user rules: the connector's mapping before mappings could be configured.
/// Values are trimmed, and a blank one counts as none.
pub fn user_defaults() -> Vec<(UserField, Value)> {
    use UserField as F;
    let trimmed = |from: Value| json!({"from": from, "transform": ["trim"]});
    vec![
        (F::FirstName, trimmed(json!("name.givenName"))),
        (F::LastName, trimmed(json!("name.familyName"))),
        (F::UserPrincipalName, trimmed(json!("userName"))),
        // The primary e-mail, else the first of type work, else the first untyped one.
        (
            F::Email,
            trimmed(json!([
                "emails[primary eq true].value",
                "emails[type eq \"work\"].value",
                "emails[not (type pr)].value"
            ])),
        ),
        (
            F::SecondaryEmail,
            trimmed(json!("emails[type eq \"other\"].value")),
        ),
        // The extension's isAdmin when set, else whether roles hold admin.
        (
            F::IsAdmin,
            json!({
                "from": [format!("{USER_EXTENSION_URN}:isAdmin"), "roles.value"],
                "transform": ["trim", {"map": {"admin": true, "true": true, "false": false}}],
                "default": false
            }),
        ),
        (F::IsActive, json!({"from": "active", "default": true})),
        (F::JobTitle, trimmed(json!("title"))),
        (
            F::MobilePhone,
            trimmed(json!("phoneNumbers[type eq \"mobile\"].value")),
        ),
    ]
}

/// The default group rules: `displayName`, and the extension's `description`.
pub fn group_defaults() -> Vec<(GroupField, Value)> {
    vec![
        (
            GroupField::Name,
            json!({"from": "displayName", "transform": ["trim"]}),
        ),
        (
            GroupField::Description,
            json!({"from": format!("{GROUP_EXTENSION_URN}:description"), "transform": ["trim"]}),
        ),
    ]
}

/// The connector's mappings, defaults under the operator's rules.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub user: Mapping<UserField>,
    pub group: Mapping<GroupField>,
}

impl Mappings {
    /// Reads `settings.mapping`; the problems are keyed `mapping.user.…` / `mapping.group.…`.
    pub fn build(settings: &super::AdSyncSettings) -> Result<Mappings, Vec<Problem>> {
        let extensions = [
            (
                ResourceKind::User,
                super::Workspace365AdSync::user_extension_schema(),
            ),
            (
                ResourceKind::Group,
                super::Workspace365AdSync::group_extension_schema(),
            ),
        ];
        let vendor = "Workspace 365";
        let user = Mapping::build(
            vendor,
            &settings.mapping,
            &user_defaults(),
            resource_schema(ResourceKind::User, &extensions),
        );
        let group = Mapping::build(
            vendor,
            &settings.mapping,
            &group_defaults(),
            resource_schema(ResourceKind::Group, &extensions),
        );
        let (user, group) = both(user, group)?;
        Ok(Mappings { user, group })
    }

    /// The A1 body for a SCIM User (docs/connectors/workspace365-adsync.md "SCIM mapping").
    pub fn user_info(&self, user: &Map<String, Value>) -> Result<UserInfo, MappingError> {
        use UserField as F;
        let map = &self.user;
        let email = map.text(F::Email, user);
        let secondary_email = map
            .values(F::SecondaryEmail, user)
            .into_iter()
            .find(|v| email.as_ref().is_none_or(|e| !e.eq_ignore_ascii_case(v)));
        Ok(UserInfo {
            first_name: map.required(F::FirstName, user)?,
            last_name: map.required(F::LastName, user)?,
            user_principal_name: map.required(F::UserPrincipalName, user)?,
            email,
            secondary_email,
            is_admin: map.flag(F::IsAdmin, user)?.unwrap_or(false),
            is_active: map.flag(F::IsActive, user)?.unwrap_or(true),
            job_title: map.text(F::JobTitle, user),
            mobile_phone: map.text(F::MobilePhone, user),
        })
    }

    /// The A3 body for a SCIM Group.
    pub fn group_info(&self, group: &Map<String, Value>) -> Result<GroupInfo, MappingError> {
        Ok(GroupInfo {
            name: self.group.required(GroupField::Name, group)?,
            description: self.group.text(GroupField::Description, group),
        })
    }
}

/// The ObjectId a resource should have under `source`: its SCIM `id`, or its `externalId`;
/// either must be a GUID.
pub fn object_id(
    source: ObjectIdSource,
    scim_id: &str,
    resource: &Map<String, Value>,
) -> Result<Uuid, String> {
    match source {
        ObjectIdSource::Id => Uuid::try_parse(scim_id.trim()).map_err(|_| {
            format!(
                "the SCIM id \"{scim_id}\" is not a GUID, and Workspace 365 keys objects by GUID (object_id = \"id\")"
            )
        }),
        ObjectIdSource::ExternalId => {
            let external = get_ci(resource, "externalId")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    "externalId must be set to the Entra ID objectId (object_id = \"externalId\")"
                        .to_owned()
                })?;
            Uuid::try_parse(external).map_err(|_| {
                format!(
                    "externalId \"{external}\" is not a GUID, and this connector takes the Workspace 365 ObjectId from it (object_id = \"externalId\")"
                )
            })
        }
    }
}

/// What the store keeps of a Workspace 365 object: its ObjectId and, for a user, the SHA-256
/// of the profile picture last uploaded (so an unchanged picture is not sent again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorKeys {
    pub object_id: Option<Uuid>,
    pub picture_sha256: Option<String>,
    /// The environment API's welcome activity, once posted.
    pub welcome_activity_id: Option<u64>,
    /// The environment API's integration credentials record.
    pub integration_credentials_id: Option<u64>,
}

impl VendorKeys {
    /// Reads what [`VendorKeys::to_value`] wrote; anything else counts as nothing known.
    pub fn from_value(value: &Value) -> VendorKeys {
        VendorKeys {
            object_id: value
                .get("objectId")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::try_parse(s).ok()),
            picture_sha256: value
                .get("pictureSha256")
                .and_then(Value::as_str)
                .map(str::to_owned),
            welcome_activity_id: value.get("welcomeActivityId").and_then(Value::as_u64),
            integration_credentials_id: value
                .get("integrationCredentialsId")
                .and_then(Value::as_u64),
        }
    }

    pub fn to_value(&self) -> Value {
        let mut keys = Map::new();
        if let Some(id) = self.object_id {
            keys.insert("objectId".into(), json!(id.to_string()));
        }
        if let Some(sha) = &self.picture_sha256 {
            keys.insert("pictureSha256".into(), json!(sha));
        }
        if let Some(id) = self.welcome_activity_id {
            keys.insert("welcomeActivityId".into(), json!(id));
        }
        if let Some(id) = self.integration_credentials_id {
            keys.insert("integrationCredentialsId".into(), json!(id));
        }
        Value::Object(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn mappings() -> Mappings {
        Mappings::build(&crate::adsync::AdSyncSettings::new("http://x", "env", "t"))
            .expect("mappings")
    }

    fn user_info(user: &Map<String, Value>) -> Result<UserInfo, MappingError> {
        mappings().user_info(user)
    }

    fn group_info(group: &Map<String, Value>) -> Result<GroupInfo, MappingError> {
        mappings().group_info(group)
    }

    fn missing(result: Result<impl std::fmt::Debug, MappingError>) -> &'static str {
        match result {
            Err(MappingError::Missing { field, .. }) => field,
            other => panic!("not a missing field: {other:?}"),
        }
    }

    #[test]
    fn maps_every_user_field() {
        let sarah = map(json!({
            "userName": "sarah@w365support.onmicrosoft.com",
            "name": {"givenName": "Sarah", "familyName": "de Vries"},
            "emails": [
                {"value": "home@example.com", "type": "home"},
                {"value": "sarah.other@example.com", "type": "other"},
                {"value": "sarah@example.com", "type": "work", "primary": true}
            ],
            "active": "False",
            "title": "Controller",
            "phoneNumbers": [{"value": "+31 20 1", "type": "work"}, {"value": "+31 6 2", "type": "mobile"}],
            "roles": [{"value": "Admin"}],
        }));
        assert_eq!(
            user_info(&sarah),
            Ok(UserInfo {
                first_name: "Sarah".into(),
                last_name: "de Vries".into(),
                user_principal_name: "sarah@w365support.onmicrosoft.com".into(),
                email: Some("sarah@example.com".into()),
                secondary_email: Some("sarah.other@example.com".into()),
                is_admin: true,
                is_active: false,
                job_title: Some("Controller".into()),
                mobile_phone: Some("+31 6 2".into()),
            })
        );
        let body = serde_json::to_value(user_info(&sarah).expect("info")).expect("json");
        assert_eq!(
            body["IsAdmin"],
            json!(true),
            "real booleans, PascalCase names"
        );
        assert_eq!(
            body["UserPrincipalName"],
            json!("sarah@w365support.onmicrosoft.com")
        );
    }

    #[test]
    fn absent_fields_are_null_and_the_email_falls_back() {
        let bob = map(json!({
            "userName": "bob@x.com", "name": {"givenName": "Bob", "familyName": "B"},
            "emails": [{"value": "b.home@x.com", "type": "home"}, {"value": "b.work@x.com", "type": "work"}],
        }));
        let info = user_info(&bob).expect("info");
        assert_eq!(
            info.email.as_deref(),
            Some("b.work@x.com"),
            "work before other types"
        );
        assert_eq!(info.secondary_email, None, "only type=other is secondary");
        assert!(info.is_active && !info.is_admin);
        let body = serde_json::to_value(&info).expect("json");
        assert_eq!(body["JobTitle"], Value::Null);
        assert_eq!(body["MobilePhone"], Value::Null);
        let untyped = map(json!({
            "userName": "c@x.com", "name": {"givenName": "C", "familyName": "C"},
            "emails": [{"value": "c.home@x.com", "type": "home"}, {"value": "c@x.com"}],
        }));
        assert_eq!(
            user_info(&untyped).expect("info").email.as_deref(),
            Some("c@x.com")
        );
    }

    #[test]
    fn the_extension_decides_the_admin_flag_over_roles() {
        let carol = map(json!({
            "userName": "c@x.com", "name": {"givenName": "C", "familyName": "C"},
            "roles": [{"value": "admin"}],
            USER_EXTENSION_URN: {"isAdmin": false},
        }));
        assert!(!user_info(&carol).expect("info").is_admin);
        let dave = map(json!({
            "userName": "d@x.com", "name": {"givenName": "D", "familyName": "D"},
            USER_EXTENSION_URN: {"isAdmin": "True"},
        }));
        assert!(user_info(&dave).expect("info").is_admin);
    }

    #[test]
    fn names_and_user_name_are_required() {
        let no_last =
            map(json!({"userName": "e@x.com", "name": {"givenName": "E", "familyName": " "}}));
        assert_eq!(missing(user_info(&no_last)), "LastName");
        let no_upn = map(json!({"name": {"givenName": "E", "familyName": "F"}}));
        assert_eq!(missing(user_info(&no_upn)), "UserPrincipalName");
        assert_eq!(missing(group_info(&map(json!({})))), "Name");
        let detail = user_info(&no_upn).expect_err("missing").to_string();
        assert!(
            detail.contains("mapping.user.UserPrincipalName"),
            "{detail}"
        );
    }

    #[test]
    fn group_description_comes_from_the_extension() {
        let finance = map(json!({
            "displayName": "Finance",
            GROUP_EXTENSION_URN: {"description": "Everyone from Finance"},
        }));
        assert_eq!(
            group_info(&finance),
            Ok(GroupInfo {
                name: "Finance".into(),
                description: Some("Everyone from Finance".into())
            })
        );
    }

    #[test]
    fn the_object_id_is_the_scim_id_or_a_guid_external_id() {
        let guid = "0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f";
        let entra = map(json!({"externalId": "5A1B2C3D-0000-4000-8000-00000000000A"}));
        assert_eq!(
            object_id(ObjectIdSource::Id, guid, &entra).map(|u| u.to_string()),
            Ok(guid.to_owned())
        );
        assert!(object_id(ObjectIdSource::Id, "alice", &entra).is_err());
        assert_eq!(
            object_id(ObjectIdSource::ExternalId, guid, &entra).map(|u| u.to_string()),
            Ok("5a1b2c3d-0000-4000-8000-00000000000a".to_owned()),
            "canonical lower-case form"
        );
        let okta = map(json!({"externalId": "00u1abcd"}));
        let refused = object_id(ObjectIdSource::ExternalId, guid, &okta).expect_err("not a GUID");
        assert!(refused.contains("00u1abcd"), "{refused}");
        assert!(object_id(ObjectIdSource::ExternalId, guid, &map(json!({}))).is_err());
        // The seed's own example GUIDs are not GUIDs (docs/connectors/workspace365-adsync.md "Vendor calls").
        assert!(
            object_id(
                ObjectIdSource::Id,
                "4dcvcd74-9103-45ac-b0fe-a0aa0b1d00a",
                &entra
            )
            .is_err()
        );
    }

    #[test]
    fn vendor_keys_round_trip() {
        let keys = VendorKeys {
            object_id: Some(Uuid::nil()),
            picture_sha256: Some("ab".into()),
            welcome_activity_id: Some(3),
            integration_credentials_id: Some(4),
        };
        assert_eq!(VendorKeys::from_value(&keys.to_value()), keys);
        assert_eq!(VendorKeys::from_value(&json!({})), VendorKeys::default());
        assert_eq!(VendorKeys::default().to_value(), json!({}));
    }

    #[test]
    fn the_documented_default_mapping_is_the_codes() {
        let m = mappings();
        let page = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/connectors/workspace365-adsync.md"
        );
        connector::mapping::assert_documented(page, &m.user.markdown());
        connector::mapping::assert_documented(page, &m.group.markdown());
    }
}
