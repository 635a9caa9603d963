//! SCIM User ↔ TimeEdit user record (docs/connectors/timeedit.md "SCIM mapping"). Pure.
//!
//! A write merges the SCIM change into the record TimeEdit has (from `exportUsers`): a field
//! SCIM sets is set, a field SCIM had and no longer has is cleared, and a field SCIM never
//! had keeps what TimeEdit holds. So nothing the SCIM client did not touch is lost.

use scim::json::get_ci;
use scim::resource::UserView;
use scim::schema::{AttrType, Attribute, Mutability, Schema};
use serde_json::{Map, Value};

use crate::TeUser;

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

/// The auth server of a user: the extension's, else `default`.
pub fn auth_server(user: &Map<String, Value>, default: &str) -> String {
    extension_str(user, "authServer")
        .unwrap_or(default)
        .to_owned()
}

fn extension(user: &Map<String, Value>) -> Option<&Map<String, Value>> {
    UserView(user).extension(EXTENSION_URN)
}

fn extension_str<'a>(user: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    extension(user)
        .and_then(|e| get_ci(e, name))
        .and_then(Value::as_str)
}

fn extension_strings(user: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    extension(user)
        .and_then(|e| get_ci(e, name))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
}

fn primary_phone(user: &Map<String, Value>) -> Option<&str> {
    let phones = UserView(user).phone_numbers();
    phones
        .iter()
        .find(|p| p.primary)
        .or_else(|| phones.first())
        .and_then(|p| p.value)
}

/// Sets `field` from `after`, clears it when only `before` had a value, else leaves it.
fn merge_text<'a>(
    field: &mut Option<String>,
    before: Option<&'a Map<String, Value>>,
    after: &'a Map<String, Value>,
    get: impl Fn(&'a Map<String, Value>) -> Option<&'a str>,
) {
    match get(after) {
        Some(value) => *field = Some(value.to_owned()),
        None if before.and_then(&get).is_some() => *field = Some(String::new()),
        None => {}
    }
}

fn merge_list(
    field: &mut Option<Vec<String>>,
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
    name: &str,
) {
    match extension_strings(after, name) {
        Some(values) => *field = Some(values),
        None if before.and_then(|b| extension_strings(b, name)).is_some() => {
            *field = Some(Vec::new())
        }
        None => {}
    }
}

/// `base` (what TimeEdit has, or a new record) with the SCIM change from `before` to `after`
/// applied. `organizations` is left alone: Group changes own it.
pub fn merge(
    mut base: TeUser,
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
) -> TeUser {
    merge_text(&mut base.firstname, before, after, |u| {
        UserView(u).given_name()
    });
    merge_text(&mut base.lastname, before, after, |u| {
        UserView(u).family_name()
    });
    merge_text(&mut base.email, before, after, |u| {
        UserView(u).primary_email()
    });
    merge_text(&mut base.phone, before, after, primary_phone);
    merge_text(&mut base.language, before, after, |u| {
        UserView(u).preferred_language()
    });
    merge_text(&mut base.timezone, before, after, |u| {
        UserView(u).timezone()
    });
    for (field, name) in [
        (&mut base.standardorganization, "standardOrganization"),
        (&mut base.defaultobjects, "defaultObjects"),
        (&mut base.description, "description"),
        (&mut base.dateformat, "dateFormat"),
        (&mut base.dst, "dst"),
    ] {
        merge_text(field, before, after, |u| extension_str(u, name));
    }
    merge_list(&mut base.orgroles, before, after, "orgRoles");
    merge_list(&mut base.permissions, before, after, "permissions");
    let change_password = |u: &Map<String, Value>| {
        extension(u)
            .and_then(|e| get_ci(e, "changePassword"))
            .and_then(Value::as_bool)
    };
    match change_password(after) {
        Some(flag) => base.changepassword = Some(flag),
        None if before.and_then(change_password).is_some() => base.changepassword = Some(false),
        None => {}
    }
    base.allowlogin = Some(UserView(after).active());
    base
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
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
        let plain = user(json!({"userName": "a"}));
        assert_eq!(auth_server(&plain, "timeedit"), "timeedit");
        let ldap = user(json!({"userName": "a", EXTENSION_URN: {"authServer": "ldap"}}));
        assert_eq!(auth_server(&ldap, "timeedit"), "ldap");
    }
}
