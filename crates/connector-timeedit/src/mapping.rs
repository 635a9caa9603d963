//! SCIM ↔ TimeEdit user record through the connector's attribute mapping
//! (docs/connectors/timeedit.md "SCIM mapping"). Pure.
//!
//! A write merges the SCIM change into the record TimeEdit has (from `exportUsers`): a field
//! SCIM sets is set, a field SCIM had and no longer has is cleared, and a field SCIM never
//! had keeps what TimeEdit holds. So nothing the SCIM client did not touch is lost.

use connector::Problem;
use connector::mapping::{
    Field, FieldKind, FieldSpec, Mapping, MappingError, both, resource_schema,
};
use scim::ResourceKind;
use scim::schema::{AttrType, Attribute, Mutability, Schema};
use serde_json::{Map, Value, json};

use crate::{TeUser, TimeEditSettings, UserKey};

/// The connector's SCIM extension of User.
pub const EXTENSION_URN: &str = "urn:scim-bridge:schemas:extension:timeedit:1.0:User";

/// The extension schema published in `/Schemas`.
pub fn extension_schema() -> Schema {
    let string = |name: &str, description: &str| {
        Attribute::new(name, AttrType::String).describe(description)
    };
    let strings = |name: &str, description: &str| {
        Attribute::new(name, AttrType::String)
            .multi()
            .describe(description)
    };
    Schema::new(
        EXTENSION_URN,
        "TimeEdit",
        "TimeEdit user fields without a SCIM home",
        vec![
            string(
                "authServer",
                "The auth server signature the user logs in with; default: the connector's. Part of the TimeEdit key: fixed once set",
            )
            .mutability(Mutability::Immutable),
            strings("orgRoles", "<organization>=<role> pairs, e.g. timeedit=Admin"),
            strings("permissions", "TimeEdit permissions, e.g. client"),
            string("standardOrganization", "The user's standard organization"),
            string("defaultObjects", "Default objects (external ids)"),
            string("description", "Free text"),
            string("dateFormat", "Preferred date format"),
            string("dst", "Daylight saving time preference"),
            Attribute::new("changePassword", AttrType::Boolean)
                .describe("Make the user change the password at the next login"),
        ],
    )
}

/// The user fields the connector writes: `mapping.user.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    LoginName,
    AuthServer,
    FirstName,
    LastName,
    Email,
    Phone,
    Language,
    Timezone,
    DateFormat,
    Dst,
    StandardOrganization,
    DefaultObjects,
    Description,
    OrgRoles,
    Permissions,
    ChangePassword,
    AllowLogin,
}

impl Field for UserField {
    const ALL: &'static [UserField] = &[
        UserField::LoginName,
        UserField::AuthServer,
        UserField::FirstName,
        UserField::LastName,
        UserField::Email,
        UserField::Phone,
        UserField::Language,
        UserField::Timezone,
        UserField::DateFormat,
        UserField::Dst,
        UserField::StandardOrganization,
        UserField::DefaultObjects,
        UserField::Description,
        UserField::OrgRoles,
        UserField::Permissions,
        UserField::ChangePassword,
        UserField::AllowLogin,
    ];
    const TABLE: &'static str = "user";

    fn spec(self) -> FieldSpec {
        use FieldKind::{Flag, List, Text};
        let (name, kind, required, about) = match self {
            UserField::LoginName => (
                "loginname",
                Text,
                true,
                "the login name: half of TimeEdit's key",
            ),
            UserField::AuthServer => (
                "authserver",
                Text,
                true,
                "the auth server signature: the other half of the key",
            ),
            UserField::FirstName => ("firstname", Text, false, "first name"),
            UserField::LastName => ("lastname", Text, false, "last name"),
            UserField::Email => ("email", Text, false, "e-mail address"),
            UserField::Phone => ("phone", Text, false, "phone number"),
            UserField::Language => ("language", Text, false, "preferred language"),
            UserField::Timezone => ("timezone", Text, false, "time zone"),
            UserField::DateFormat => ("dateformat", Text, false, "preferred date format"),
            UserField::Dst => ("dst", Text, false, "daylight saving time preference"),
            UserField::StandardOrganization => (
                "standardorganization",
                Text,
                false,
                "the standard organization (must exist in TimeEdit)",
            ),
            UserField::DefaultObjects => (
                "defaultobjects",
                Text,
                false,
                "default objects (external ids)",
            ),
            UserField::Description => ("description", Text, false, "free text"),
            UserField::OrgRoles => (
                "orgroles",
                List,
                false,
                "organization=role pairs (must exist in TimeEdit)",
            ),
            UserField::Permissions => (
                "permissions",
                List,
                false,
                "permissions (must exist in TimeEdit)",
            ),
            UserField::ChangePassword => (
                "changepassword",
                Flag,
                false,
                "change the password at the next login",
            ),
            UserField::AllowLogin => (
                "allowlogin",
                Flag,
                true,
                "may log in: TimeEdit's only active flag",
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

/// The group fields: `mapping.group.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Organization,
}

impl Field for GroupField {
    const ALL: &'static [GroupField] = &[GroupField::Organization];
    const TABLE: &'static str = "group";

    fn spec(self) -> FieldSpec {
        FieldSpec {
            name: "organization",
            kind: FieldKind::Text,
            required: false,
            about: "the TimeEdit organization the Group stands for; a Group without one is unmapped",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn extension_path(name: &str) -> String {
    format!("{EXTENSION_URN}:{name}")
}

/// The default user rules: the connector's mapping before mappings could be configured.
pub fn user_defaults(settings: &TimeEditSettings) -> Vec<(UserField, Value)> {
    use UserField as F;
    let ext = |name: &str| json!(extension_path(name));
    vec![
        (F::LoginName, json!("userName")),
        (
            F::AuthServer,
            json!({"from": extension_path("authServer"), "default": settings.auth_server}),
        ),
        (F::FirstName, json!("name.givenName")),
        (F::LastName, json!("name.familyName")),
        (
            F::Email,
            json!({"from": ["emails[primary eq true].value", "emails.value"]}),
        ),
        (
            F::Phone,
            json!({"from": ["phoneNumbers[primary eq true].value", "phoneNumbers.value"]}),
        ),
        (F::Language, json!("preferredLanguage")),
        (F::Timezone, json!("timezone")),
        (F::DateFormat, ext("dateFormat")),
        (F::Dst, ext("dst")),
        (F::StandardOrganization, ext("standardOrganization")),
        (F::DefaultObjects, ext("defaultObjects")),
        (F::Description, ext("description")),
        (F::OrgRoles, ext("orgRoles")),
        (F::Permissions, ext("permissions")),
        (F::ChangePassword, ext("changePassword")),
        (F::AllowLogin, json!({"from": "active", "default": true})),
    ]
}

/// The default group rule: the `externalId`, else the `displayName`.
pub fn group_defaults() -> Vec<(GroupField, Value)> {
    vec![(
        GroupField::Organization,
        json!({"from": ["externalId", "displayName"]}),
    )]
}

/// The connector's mappings, defaults under the operator's rules.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub user: Mapping<UserField>,
    pub group: Mapping<GroupField>,
}

impl Mappings {
    /// Reads `settings.mapping`; the problems are keyed `mapping.user.…` / `mapping.group.…`.
    pub fn build(settings: &TimeEditSettings) -> Result<Mappings, Vec<Problem>> {
        let extensions = [(ResourceKind::User, extension_schema())];
        let user = Mapping::build(
            "TimeEdit",
            &settings.mapping,
            &user_defaults(settings),
            resource_schema(ResourceKind::User, &extensions),
        );
        let group = Mapping::build(
            "TimeEdit",
            &settings.mapping,
            &group_defaults(),
            resource_schema(ResourceKind::Group, &extensions),
        );
        let (user, group) = both(user, group)?;
        Ok(Mappings { user, group })
    }

    /// The TimeEdit key of a SCIM user.
    pub fn key_of(&self, user: &Map<String, Value>) -> Result<UserKey, MappingError> {
        Ok(UserKey::new(
            self.user.required(UserField::LoginName, user)?,
            self.user.required(UserField::AuthServer, user)?,
        ))
    }

    /// The organization a Group stands for; `None` when the mapping gives none.
    pub fn organization(&self, group: &Map<String, Value>) -> Option<String> {
        self.group.text(GroupField::Organization, group)
    }

    /// `base` (what TimeEdit has, or a new record) with the SCIM change from `before` to
    /// `after` applied. `organizations` is left alone: Group changes own it.
    pub fn merge(
        &self,
        mut base: TeUser,
        before: Option<&Map<String, Value>>,
        after: &Map<String, Value>,
    ) -> Result<TeUser, MappingError> {
        use UserField as F;
        let map = &self.user;
        let had = |field: UserField| before.is_some_and(|b| !map.values(field, b).is_empty());
        for (field, slot) in [
            (F::FirstName, &mut base.firstname),
            (F::LastName, &mut base.lastname),
            (F::Email, &mut base.email),
            (F::Phone, &mut base.phone),
            (F::Language, &mut base.language),
            (F::Timezone, &mut base.timezone),
            (F::DateFormat, &mut base.dateformat),
            (F::Dst, &mut base.dst),
            (F::StandardOrganization, &mut base.standardorganization),
            (F::DefaultObjects, &mut base.defaultobjects),
            (F::Description, &mut base.description),
        ] {
            match map.text(field, after) {
                Some(value) => *slot = Some(value),
                None if had(field) => *slot = Some(String::new()),
                None => {}
            }
        }
        for (field, slot) in [
            (F::OrgRoles, &mut base.orgroles),
            (F::Permissions, &mut base.permissions),
        ] {
            match map.list(field, after) {
                Some(values) => *slot = Some(values),
                None if had(field) => *slot = Some(Vec::new()),
                None => {}
            }
        }
        for (field, slot) in [
            (F::ChangePassword, &mut base.changepassword),
            (F::AllowLogin, &mut base.allowlogin),
        ] {
            match map.flag(field, after)? {
                Some(flag) => *slot = Some(flag),
                None if had(field) => *slot = Some(false),
                None => {}
            }
        }
        Ok(base)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn mappings(mapping: Value) -> Mappings {
        let mut settings = TimeEditSettings::new("http://h/soap/3/x", "api", "p", "c");
        settings.mapping = serde_json::from_value(mapping).expect("mapping settings");
        Mappings::build(&settings).expect("mappings")
    }

    fn merge(
        base: TeUser,
        before: Option<&Map<String, Value>>,
        after: &Map<String, Value>,
    ) -> TeUser {
        mappings(json!({}))
            .merge(base, before, after)
            .expect("merged")
    }

    #[test]
    fn sets_what_scim_sets_and_keeps_what_scim_never_had() {
        let mut exported = TeUser::new("anders", "timeedit");
        exported.phone = Some("031-123456".into());
        exported.description = Some("kept".into());
        exported.organizations = Some(vec!["all_teachers".into()]);
        let after = user(json!({
            "userName": "anders",
            "name": {"givenName": "Anders", "familyName": "Ek"},
            "emails": [{"value": "x@uni.se"}, {"value": "anders@uni.se", "primary": true}],
            "active": false,
            EXTENSION_URN: {"orgRoles": ["timeedit=Admin"], "changePassword": true}
        }));
        let merged = merge(exported, None, &after);
        assert_eq!(merged.firstname.as_deref(), Some("Anders"));
        assert_eq!(merged.lastname.as_deref(), Some("Ek"));
        assert_eq!(merged.email.as_deref(), Some("anders@uni.se"));
        assert_eq!(merged.allowlogin, Some(false));
        assert_eq!(merged.orgroles, Some(vec!["timeedit=Admin".into()]));
        assert_eq!(merged.changepassword, Some(true));
        assert_eq!(merged.phone.as_deref(), Some("031-123456"), "never touched");
        assert_eq!(merged.description.as_deref(), Some("kept"));
        assert_eq!(
            merged.organizations,
            Some(vec!["all_teachers".into()]),
            "groups own it"
        );
    }

    #[test]
    fn clears_what_scim_removed() {
        let before = user(json!({
            "userName": "a", "phoneNumbers": [{"value": "1"}],
            EXTENSION_URN: {"permissions": ["client"], "description": "d"}
        }));
        let after = user(json!({"userName": "a"}));
        let mut exported = TeUser::new("a", "timeedit");
        exported.phone = Some("1".into());
        exported.permissions = Some(vec!["client".into()]);
        let merged = merge(exported, Some(&before), &after);
        assert_eq!(merged.phone.as_deref(), Some(""));
        assert_eq!(merged.permissions, Some(Vec::new()));
        assert_eq!(merged.description.as_deref(), Some(""));
        assert_eq!(merged.allowlogin, Some(true), "active by default");
    }

    #[test]
    fn the_auth_server_comes_from_the_extension_or_the_default() {
        let m = mappings(json!({}));
        let plain = user(json!({"userName": "a"}));
        assert_eq!(m.key_of(&plain).expect("key").authserver, "timeedit");
        let ldap = user(json!({"userName": "a", EXTENSION_URN: {"authServer": "ldap"}}));
        assert_eq!(m.key_of(&ldap).expect("key").authserver, "ldap");
        assert!(m.key_of(&user(json!({}))).is_err(), "no login name");
    }

    #[test]
    fn a_university_maps_upns_and_departments() {
        let m = mappings(json!({"user": {
            "loginname": {"from": "userName", "transform": [{"before": "@"}, "lower"]},
            "standardorganization": {
                "from": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "transform": [{"map": {"Physics": "fys", "Chemistry": "kem"}}]
            },
            "phone": false
        }, "group": {"organization": {"from": "displayName", "transform": [{"map": {"Teachers": "all_teachers"}}]}}}));
        let jane = user(json!({
            "userName": "Jane.Doe@Uni.EDU",
            "phoneNumbers": [{"value": "1"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "physics"}
        }));
        assert_eq!(m.key_of(&jane).expect("key").loginname, "jane.doe");
        let merged = m
            .merge(TeUser::new("jane.doe", "timeedit"), None, &jane)
            .expect("merged");
        assert_eq!(merged.standardorganization.as_deref(), Some("fys"));
        assert_eq!(merged.phone, None, "left out");
        assert_eq!(
            m.organization(&user(
                json!({"displayName": "Teachers", "externalId": "2d2674cf"})
            ))
            .as_deref(),
            Some("all_teachers")
        );
        assert_eq!(
            m.organization(&user(json!({"displayName": "Students"}))),
            None
        );
    }

    #[test]
    fn the_documented_default_mapping_is_the_codes() {
        let m = mappings(json!({}));
        let page = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/connectors/timeedit.md"
        );
        connector::mapping::assert_documented(page, &m.user.markdown());
        connector::mapping::assert_documented(page, &m.group.markdown());
    }
}
