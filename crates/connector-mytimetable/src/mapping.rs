//! What MyTimetable should hold for a SCIM User, through the connector's attribute mapping
//! (docs/connectors/mytimetable.md "Mapping"), and the calls that get it there. Pure: the
//! connector feeds it what the vendor lists and performs what it returns.

use std::collections::BTreeMap;

use connector::Problem;
use connector::mapping::{
    Field, FieldKind, FieldSpec, Mapping, MappingError, no_group_rules, resource_schema,
};
use scim::ResourceKind;
use scim::resource::UserView;
use serde_json::{Map, Value, json};

use crate::connector::MyTimetable;
use crate::settings::MyTimetableSettings;

/// The SAML attribute names the 2019.16+ profile carries (docs/connectors/mytimetable.md
/// "Later versions of the API").
pub const MAIL_ATTRIBUTE: &str = "urn:mace:dir:attribute-def:mail";
pub const EPPN_ATTRIBUTE: &str = "urn:mace:dir:attribute-def:eduPersonPrincipalName";

/// The user fields the connector writes: `mapping.user.<name>`. Only `username` and
/// `provisioning_smtpAddress` reach a v8 instance; the others are the 2019.16+ profile's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Username,
    SmtpAddress,
    DisplayName,
    Locale,
    Mail,
    Eppn,
    Roles,
}

impl Field for UserField {
    const ALL: &'static [UserField] = &[
        UserField::Username,
        UserField::SmtpAddress,
        UserField::DisplayName,
        UserField::Locale,
        UserField::Mail,
        UserField::Eppn,
        UserField::Roles,
    ];
    const TABLE: &'static str = "user";

    fn spec(self) -> FieldSpec {
        use FieldKind::{List, Text};
        let (name, kind, required, about) = match self {
            UserField::Username => ("username", Text, true, "the username: MyTimetable's key"),
            UserField::SmtpAddress => (
                "provisioning_smtpAddress",
                Text,
                false,
                "the mailbox EWS and Office 365 synchronizations push to, unless the extension names one",
            ),
            UserField::DisplayName => ("displayName", Text, false, "display name (2019.16+)"),
            UserField::Locale => ("locale", Text, false, "locale, e.g. nl_NL (2019.16+)"),
            UserField::Mail => (
                "mail",
                Text,
                false,
                "the urn:mace:dir:attribute-def:mail attribute (2019.16+)",
            ),
            UserField::Eppn => (
                "eduPersonPrincipalName",
                Text,
                false,
                "the urn:mace:dir:attribute-def:eduPersonPrincipalName attribute (2019.16+)",
            ),
            UserField::Roles => ("roles", List, false, "roles, each ROLE_… (2019.16+)"),
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

/// The default rules: the connector's mapping before mappings could be configured, and the
/// profile's attributes as the vendor documents them.
pub fn user_defaults() -> Vec<(UserField, Value)> {
    use UserField as F;
    let email = json!({"from": ["emails[primary eq true].value", "emails.value"]});
    vec![
        (F::Username, json!("userName")),
        (F::SmtpAddress, email.clone()),
        (F::DisplayName, json!("displayName")),
        (F::Locale, json!({"from": ["locale", "preferredLanguage"]})),
        (F::Mail, email),
        (F::Eppn, json!("userName")),
        (
            F::Roles,
            json!({"from": "roles.value", "transform": ["trim", "upper", {"replace": "^(ROLE_)?", "with": "ROLE_"}]}),
        ),
    ]
}

/// What the 2019.16+ profile holds of a user besides its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub locale: Option<String>,
    /// `name=value` attributes, in the order the vendor lists them.
    pub attributes: Vec<(&'static str, String)>,
    pub roles: Vec<String>,
}

impl Profile {
    /// The form fields of `PUT /users/{username}` (repeated keys for lists).
    pub fn form(&self, username: &str) -> Vec<(&'static str, String)> {
        let mut form = vec![("username", username.to_owned())];
        form.extend(self.display_name.iter().map(|d| ("displayName", d.clone())));
        form.extend(self.locale.iter().map(|l| ("locale", l.clone())));
        form.extend(
            self.attributes
                .iter()
                .map(|(name, value)| ("attributes", format!("{name}={value}"))),
        );
        form.extend(self.roles.iter().map(|r| ("roles", r.clone())));
        form
    }
}

/// The connector's mapping, defaults under the operator's rules.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub user: Mapping<UserField>,
}

impl Mappings {
    /// Reads `settings.mapping`; the problems are keyed `mapping.user.…`.
    pub fn build(settings: &MyTimetableSettings) -> Result<Mappings, Vec<Problem>> {
        no_group_rules(&settings.mapping, "MyTimetable has no groups")?;
        let extensions = [(ResourceKind::User, MyTimetable::extension_schema())];
        Ok(Mappings {
            user: Mapping::build(
                "MyTimetable",
                &settings.mapping,
                &user_defaults(),
                resource_schema(ResourceKind::User, &extensions),
            )?,
        })
    }

    /// The username MyTimetable keys the user by.
    pub fn username(&self, user: &Map<String, Value>) -> Result<String, MappingError> {
        self.user.required(UserField::Username, user)
    }

    /// The 2019.16+ profile of a user.
    pub fn profile(&self, user: &Map<String, Value>) -> Profile {
        let mut attributes = Vec::new();
        for (field, name) in [
            (UserField::Mail, MAIL_ATTRIBUTE),
            (UserField::Eppn, EPPN_ATTRIBUTE),
        ] {
            attributes.extend(self.user.values(field, user).into_iter().map(|v| (name, v)));
        }
        Profile {
            display_name: self.user.text(UserField::DisplayName, user),
            locale: self.user.text(UserField::Locale, user),
            attributes,
            roles: self.user.values(UserField::Roles, user),
        }
    }
}

/// The connector's SCIM extension of User.
pub const EXTENSION_URN: &str = "urn:scim-bridge:schemas:extension:mytimetable:1.0:User";

/// One synchronization a user should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedSync {
    /// The calendar provider type, as the extension or the configuration spells it.
    pub sync_type: String,
    /// `provisioning_smtpAddress`, for the types that take one.
    pub smtp_address: Option<String>,
}

/// One synchronization the vendor lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ListedSync {
    pub id: u64,
    pub username: String,
    #[serde(rename = "type")]
    pub sync_type: String,
}

impl Mappings {
    /// The synchronizations `user` should have: none while inactive; else the extension's
    /// `synchronizations` when it names any, else the configured defaults. Types are compared
    /// case-insensitively (the vendor's store is case-insensitive, docs/connectors/mytimetable.md
    /// "Quirks") and kept once.
    pub fn wanted_syncs(
        &self,
        user: &Map<String, Value>,
        settings: &MyTimetableSettings,
    ) -> Vec<WantedSync> {
        wanted_syncs(user, settings, || {
            self.user.text(UserField::SmtpAddress, user)
        })
    }
}

fn wanted_syncs(
    user: &Map<String, Value>,
    settings: &MyTimetableSettings,
    mailbox: impl Fn() -> Option<String>,
) -> Vec<WantedSync> {
    let view = UserView(user);
    if !view.active() {
        return Vec::new();
    }
    let mut requested: Vec<(String, Option<String>)> = view
        .extension(EXTENSION_URN)
        .and_then(|e| scim::json::get_ci(e, "synchronizations"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let item = item.as_object()?;
                    let sync_type = scim::json::get_ci(item, "type")?.as_str()?.trim();
                    let smtp = scim::json::get_ci(item, "smtpAddress")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    (!sync_type.is_empty()).then(|| (sync_type.to_owned(), smtp))
                })
                .collect()
        })
        .unwrap_or_default();
    // Plain strings, as Entra ID's and Okta's mapping screens send them: "ews", ["ews", "o365"]
    // or "ews,o365".
    if let Some(types) = view
        .extension(EXTENSION_URN)
        .and_then(|e| scim::json::get_ci(e, "synchronizationTypes"))
    {
        let strings: Vec<&str> = match types {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        requested.extend(
            strings
                .into_iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| (t.to_owned(), None)),
        );
    }
    let requested = if requested.is_empty() {
        settings
            .default_sync_types
            .iter()
            .map(|t| (t.trim().to_owned(), None))
            .collect()
    } else {
        requested
    };
    let mut wanted: Vec<WantedSync> = Vec::new();
    for (sync_type, smtp) in requested {
        if wanted
            .iter()
            .any(|w| w.sync_type.eq_ignore_ascii_case(&sync_type))
        {
            continue;
        }
        let takes_address = settings
            .smtp_address_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&sync_type));
        let smtp_address = if takes_address {
            smtp.or_else(&mailbox)
        } else {
            None
        };
        wanted.push(WantedSync {
            sync_type,
            smtp_address,
        });
    }
    wanted
}

/// The calls that bring a user's listed synchronizations to the wanted set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Listed synchronizations of types no longer wanted.
    pub remove: Vec<ListedSync>,
    /// Wanted synchronizations the vendor does not list.
    pub create: Vec<WantedSync>,
}

/// The synchronizations of `username` among those listed (usernames compare
/// case-insensitively, docs/connectors/mytimetable.md "Quirks").
pub fn syncs_of<'a>(
    listed: &'a [ListedSync],
    username: &'a str,
) -> impl Iterator<Item = &'a ListedSync> {
    listed
        .iter()
        .filter(move |s| s.username.eq_ignore_ascii_case(username))
}

/// Compares what the vendor lists for `username` with what is wanted.
pub fn plan(username: &str, listed: &[ListedSync], wanted: &[WantedSync]) -> SyncPlan {
    let mine: Vec<&ListedSync> = syncs_of(listed, username).collect();
    SyncPlan {
        remove: mine
            .iter()
            .filter(|s| {
                !wanted
                    .iter()
                    .any(|w| w.sync_type.eq_ignore_ascii_case(&s.sync_type))
            })
            .map(|s| (*s).clone())
            .collect(),
        create: wanted
            .iter()
            .filter(|w| {
                !mine
                    .iter()
                    .any(|s| s.sync_type.eq_ignore_ascii_case(&w.sync_type))
            })
            .cloned()
            .collect(),
    }
}

/// What the store keeps of a MyTimetable account: the username the vendor has it under and
/// the id of each synchronization, by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorKeys {
    pub username: Option<String>,
    pub synchronizations: BTreeMap<String, u64>,
}

impl VendorKeys {
    /// Reads what [`VendorKeys::to_value`] wrote; anything else counts as nothing known.
    pub fn from_value(value: &Value) -> VendorKeys {
        let username = value
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let synchronizations = value
            .get("synchronizations")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(t, id)| Some((t.clone(), id.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        VendorKeys {
            username,
            synchronizations,
        }
    }

    /// The keys of `username` with every synchronization listed for it.
    pub fn listed(username: &str, listed: &[ListedSync]) -> VendorKeys {
        VendorKeys {
            username: Some(username.to_owned()),
            synchronizations: syncs_of(listed, username)
                .map(|s| (s.sync_type.clone(), s.id))
                .collect(),
        }
    }

    /// The keys of `username` with the listed synchronizations of the wanted types.
    pub fn of(username: &str, listed: &[ListedSync], wanted: &[WantedSync]) -> VendorKeys {
        let mut keys = VendorKeys::listed(username, listed);
        keys.synchronizations
            .retain(|t, _| wanted.iter().any(|w| w.sync_type.eq_ignore_ascii_case(t)));
        keys
    }

    /// Whether every wanted type has a known synchronization, and nothing else is known.
    pub fn covers(&self, wanted: &[WantedSync]) -> bool {
        self.synchronizations.len() == wanted.len()
            && wanted.iter().all(|w| {
                self.synchronizations
                    .keys()
                    .any(|t| t.eq_ignore_ascii_case(&w.sync_type))
            })
    }

    pub fn to_value(&self) -> Value {
        match &self.username {
            None => json!({}),
            Some(username) => json!({
                "username": username,
                "synchronizations": self.synchronizations,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(defaults: &[&str]) -> MyTimetableSettings {
        let mut s = MyTimetableSettings::new("http://x/api/v0", "t");
        s.default_sync_types = defaults.iter().map(|d| (*d).to_owned()).collect();
        s
    }

    fn wanted_syncs(user: &Map<String, Value>, settings: &MyTimetableSettings) -> Vec<WantedSync> {
        Mappings::build(settings)
            .expect("mappings")
            .wanted_syncs(user, settings)
    }

    #[test]
    fn the_profile_comes_from_the_mapping() {
        let m = Mappings::build(&settings(&[])).expect("defaults");
        let alice = user(json!({
            "userName": "alice@uni.edu", "displayName": "Alice", "preferredLanguage": "nl-NL",
            "emails": [{"value": "alice@uni.edu"}], "roles": [{"value": "student"}, {"value": "ROLE_member"}]
        }));
        let profile = m.profile(&alice);
        assert_eq!(
            profile.form("alice@uni.edu"),
            [
                ("username", "alice@uni.edu".to_owned()),
                ("displayName", "Alice".to_owned()),
                ("locale", "nl-NL".to_owned()),
                ("attributes", format!("{MAIL_ATTRIBUTE}=alice@uni.edu")),
                ("attributes", format!("{EPPN_ATTRIBUTE}=alice@uni.edu")),
                ("roles", "ROLE_STUDENT".to_owned()),
                ("roles", "ROLE_MEMBER".to_owned()),
            ]
        );
        let mut s = settings(&[]);
        s.mapping = serde_json::from_value(json!({"user": {
            "username": {"from": "userName", "transform": [{"before": "@"}]},
            "roles": {"value": "ROLE_STUDENT"}, "grole": "title"
        }}))
        .expect("mapping");
        let problems = Mappings::build(&s).expect_err("unknown field");
        assert_eq!(problems[0].key, "mapping.user.grole");
    }

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn types(wanted: &[WantedSync]) -> Vec<&str> {
        wanted.iter().map(|w| w.sync_type.as_str()).collect()
    }

    #[test]
    fn the_extension_wins_over_the_defaults() {
        let alice = user(json!({
            "userName": "alice",
            "emails": [{"value": "a@x.edu"}, {"value": "alice@x.edu", "primary": true}],
            EXTENSION_URN: {"synchronizations": [
                {"type": "ews"}, {"type": "googlecalendar"}, {"type": "EWS"}
            ]}
        }));
        let wanted = wanted_syncs(&alice, &settings(&["o365"]));
        assert_eq!(
            types(&wanted),
            ["ews", "googlecalendar"],
            "deduplicated ignoring case"
        );
        assert_eq!(wanted[0].smtp_address.as_deref(), Some("alice@x.edu"));
        assert_eq!(
            wanted[1].smtp_address, None,
            "googlecalendar takes no mailbox"
        );
        let bob = user(json!({"userName": "bob"}));
        assert_eq!(types(&wanted_syncs(&bob, &settings(&["o365"]))), ["o365"]);
        assert!(wanted_syncs(&bob, &settings(&[])).is_empty());
    }

    #[test]
    fn plain_type_strings_join_the_synchronizations() {
        let entra = user(json!({
            "userName": "e", "emails": [{"value": "e@x.edu"}],
            EXTENSION_URN: {"synchronizationTypes": ["ews,googlecalendar", " o365 "],
                            "synchronizations": [{"type": "EWS", "smtpAddress": "room@x.edu"}]}
        }));
        let wanted = wanted_syncs(&entra, &settings(&["o365"]));
        assert_eq!(types(&wanted), ["EWS", "googlecalendar", "o365"]);
        assert_eq!(wanted[0].smtp_address.as_deref(), Some("room@x.edu"));
        assert_eq!(wanted[2].smtp_address.as_deref(), Some("e@x.edu"));
    }

    #[test]
    fn an_inactive_user_wants_nothing() {
        let carol = user(json!({"userName": "carol", "active": false}));
        assert!(wanted_syncs(&carol, &settings(&["o365"])).is_empty());
    }

    #[test]
    fn an_explicit_mailbox_beats_the_primary_email() {
        let dave = user(json!({
            "userName": "dave", "emails": [{"value": "dave@x.edu"}],
            EXTENSION_URN: {"synchronizations": [{"type": "o365", "smtpAddress": "room@x.edu"}]}
        }));
        let wanted = wanted_syncs(&dave, &settings(&[]));
        assert_eq!(wanted[0].smtp_address.as_deref(), Some("room@x.edu"));
    }

    fn listed(id: u64, username: &str, sync_type: &str) -> ListedSync {
        ListedSync {
            id,
            username: username.into(),
            sync_type: sync_type.into(),
        }
    }

    fn want(sync_type: &str) -> WantedSync {
        WantedSync {
            sync_type: sync_type.into(),
            smtp_address: None,
        }
    }

    #[test]
    fn plans_the_difference_for_one_user_only() {
        let vendor = [
            listed(1, "Alice", "O365"),
            listed(2, "alice", "googlecalendar"),
            listed(3, "bob", "ews"),
        ];
        let plan = plan("alice", &vendor, &[want("o365"), want("ews")]);
        assert_eq!(plan.remove, [listed(2, "alice", "googlecalendar")]);
        assert_eq!(plan.create, [want("ews")]);
        let keys = VendorKeys::of("alice", &vendor, &[want("o365")]);
        assert_eq!(keys.synchronizations.get("O365"), Some(&1));
        assert!(keys.covers(&[want("o365")]));
        assert!(!keys.covers(&[want("o365"), want("ews")]));
        assert_eq!(VendorKeys::from_value(&keys.to_value()), keys);
    }

    #[test]
    fn the_documented_default_mapping_is_the_codes() {
        let m = Mappings::build(&settings(&[])).expect("defaults");
        let page = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/connectors/mytimetable.md"
        );
        connector::mapping::assert_documented(page, &m.user.markdown());
    }
}
