//! Resources as stored and returned: a JSON object that keeps every attribute it was given,
//! with typed read access to the RFC 7643 User (§4.1), Group (§4.2) and enterprise extension
//! (§4.3) attributes, and the server-assigned `id` and `meta`.

use serde_json::{Map, Value};

use crate::etag::etag;
use crate::json::{as_bool, get_ci};
use crate::schema::ENTERPRISE_USER_URN;

/// The resource types scim-bridge serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The resource type name (`"User"`), as in `meta.resourceType` and the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint (`"/Users"`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The kind with this resource type name, case-insensitively.
    pub fn from_name(name: &str) -> Option<ResourceKind> {
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// The attribute that must be unique per connector (case-insensitively): `userName` for
    /// Users, `displayName` for Groups.
    pub fn unique_attribute(self) -> &'static str {
        match self {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server assigns to every resource (RFC 7643 §3.1); serialized as the `meta`
/// attribute shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub resource_type: String,
    /// RFC 3339 timestamps.
    pub created: String,
    pub last_modified: String,
    /// The absolute URL of the resource.
    pub location: String,
    /// The version; published as the weak ETag `W/"<version>"`.
    #[serde(serialize_with = "as_etag")]
    pub version: String,
}

fn as_etag<S: serde::Serializer>(version: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&etag(version))
}

/// Returns the resource with `id` and `meta` set, in the order clients expect to read:
/// `schemas`, `id`, `externalId`, the attributes, `meta`.
pub fn with_server_attributes(
    resource: Map<String, Value>,
    id: &str,
    meta: &Meta,
) -> Map<String, Value> {
    let mut out = Map::with_capacity(resource.len() + 2);
    let mut rest = resource;
    if let Some(schemas) = rest.shift_remove("schemas") {
        out.insert("schemas".into(), schemas);
    }
    out.insert("id".into(), Value::String(id.to_owned()));
    rest.shift_remove("id");
    rest.shift_remove("meta");
    if let Some(external_id) = rest.shift_remove("externalId") {
        out.insert("externalId".into(), external_id);
    }
    out.extend(rest);
    // Serializing strings into a value cannot fail.
    out.insert(
        "meta".into(),
        serde_json::to_value(meta).unwrap_or_default(),
    );
    out
}

/// One value of a multi-valued attribute (`emails`, `phoneNumbers`, `members`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiValue<'a> {
    pub value: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub display: Option<&'a str>,
    pub primary: bool,
}

fn str_at<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    get_ci(map, name).and_then(Value::as_str)
}

fn multi_values<'a>(map: &'a Map<String, Value>, name: &str) -> Vec<MultiValue<'a>> {
    get_ci(map, name)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_object)
                .map(|o| MultiValue {
                    value: str_at(o, "value"),
                    kind: str_at(o, "type"),
                    display: str_at(o, "display"),
                    primary: get_ci(o, "primary").and_then(as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The primary value, else the first.
fn preferred<'a>(values: &[MultiValue<'a>]) -> Option<&'a str> {
    values
        .iter()
        .find(|v| v.primary)
        .or(values.first())
        .and_then(|v| v.value)
}

/// Typed read access to a User.
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a>(pub &'a Map<String, Value>);

impl<'a> UserView<'a> {
    pub fn id(&self) -> Option<&'a str> {
        str_at(self.0, "id")
    }
    pub fn external_id(&self) -> Option<&'a str> {
        str_at(self.0, "externalId")
    }
    pub fn user_name(&self) -> Option<&'a str> {
        str_at(self.0, "userName")
    }
    pub fn display_name(&self) -> Option<&'a str> {
        str_at(self.0, "displayName")
    }
    pub fn given_name(&self) -> Option<&'a str> {
        self.name_part("givenName")
    }
    pub fn family_name(&self) -> Option<&'a str> {
        self.name_part("familyName")
    }
    pub fn formatted_name(&self) -> Option<&'a str> {
        self.name_part("formatted")
    }
    fn name_part(&self, part: &str) -> Option<&'a str> {
        get_ci(self.0, "name")
            .and_then(Value::as_object)
            .and_then(|n| str_at(n, part))
    }
    pub fn title(&self) -> Option<&'a str> {
        str_at(self.0, "title")
    }
    pub fn locale(&self) -> Option<&'a str> {
        str_at(self.0, "locale")
    }
    pub fn preferred_language(&self) -> Option<&'a str> {
        str_at(self.0, "preferredLanguage")
    }
    pub fn timezone(&self) -> Option<&'a str> {
        str_at(self.0, "timezone")
    }
    /// `active`, defaulting to true when unassigned (a user is active unless disabled).
    pub fn active(&self) -> bool {
        get_ci(self.0, "active").and_then(as_bool).unwrap_or(true)
    }
    /// The write-only password, when the client sent one.
    pub fn password(&self) -> Option<&'a str> {
        str_at(self.0, "password")
    }
    pub fn emails(&self) -> Vec<MultiValue<'a>> {
        multi_values(self.0, "emails")
    }
    /// The primary e-mail address, else the first.
    pub fn primary_email(&self) -> Option<&'a str> {
        preferred(&self.emails())
    }
    pub fn phone_numbers(&self) -> Vec<MultiValue<'a>> {
        multi_values(self.0, "phoneNumbers")
    }
    /// The first phone number of a type (`"mobile"`, `"work"`), compared case-insensitively.
    pub fn phone_number(&self, kind: &str) -> Option<&'a str> {
        self.phone_numbers()
            .into_iter()
            .find(|p| p.kind.is_some_and(|k| k.eq_ignore_ascii_case(kind)))
            .and_then(|p| p.value)
    }
    pub fn photos(&self) -> Vec<MultiValue<'a>> {
        multi_values(self.0, "photos")
    }
    pub fn enterprise(&self) -> EnterpriseView<'a> {
        EnterpriseView(get_ci(self.0, ENTERPRISE_USER_URN).and_then(Value::as_object))
    }
    /// The attributes of any extension, by URN.
    pub fn extension(&self, urn: &str) -> Option<&'a Map<String, Value>> {
        get_ci(self.0, urn).and_then(Value::as_object)
    }
}

/// Typed read access to the enterprise User extension.
#[derive(Debug, Clone, Copy)]
pub struct EnterpriseView<'a>(Option<&'a Map<String, Value>>);

impl<'a> EnterpriseView<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0.and_then(|m| str_at(m, name))
    }
    pub fn employee_number(&self) -> Option<&'a str> {
        self.get("employeeNumber")
    }
    pub fn cost_center(&self) -> Option<&'a str> {
        self.get("costCenter")
    }
    pub fn organization(&self) -> Option<&'a str> {
        self.get("organization")
    }
    pub fn division(&self) -> Option<&'a str> {
        self.get("division")
    }
    pub fn department(&self) -> Option<&'a str> {
        self.get("department")
    }
    /// The manager's id (`manager.value`).
    pub fn manager(&self) -> Option<&'a str> {
        self.0
            .and_then(|m| get_ci(m, "manager"))
            .and_then(Value::as_object)
            .and_then(|m| str_at(m, "value"))
    }
}

/// Typed read access to a Group.
#[derive(Debug, Clone, Copy)]
pub struct GroupView<'a>(pub &'a Map<String, Value>);

impl<'a> GroupView<'a> {
    pub fn id(&self) -> Option<&'a str> {
        str_at(self.0, "id")
    }
    pub fn external_id(&self) -> Option<&'a str> {
        str_at(self.0, "externalId")
    }
    pub fn display_name(&self) -> Option<&'a str> {
        str_at(self.0, "displayName")
    }
    /// Members; `kind` is `"User"` or `"Group"` when the client said so.
    pub fn members(&self) -> Vec<MultiValue<'a>> {
        multi_values(self.0, "members")
    }
    /// The ids of the members.
    pub fn member_ids(&self) -> Vec<&'a str> {
        self.members().into_iter().filter_map(|m| m.value).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn user_view_reads_core_and_enterprise_attributes() {
        let user = object(json!({
            "userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+31", "type": "Mobile"}],
            ENTERPRISE_USER_URN: {"employeeNumber": "7", "manager": {"value": "m1"}}
        }));
        let view = UserView(&user);
        assert_eq!(
            (view.user_name(), view.given_name(), view.family_name()),
            (Some("bjensen"), Some("Barbara"), Some("Jensen"))
        );
        assert!(view.active(), "unassigned active means active");
        assert_eq!(view.primary_email(), Some("work@x"));
        assert_eq!(view.phone_number("mobile"), Some("+31"));
        assert_eq!(
            (
                view.enterprise().employee_number(),
                view.enterprise().manager()
            ),
            (Some("7"), Some("m1"))
        );
        let disabled = object(json!({"userName": "x", "active": false}));
        assert!(!UserView(&disabled).active());
    }

    #[test]
    fn group_view_lists_members() {
        let group = object(
            json!({"displayName": "G", "members": [{"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}]}),
        );
        assert_eq!(GroupView(&group).member_ids(), ["u1", "g2"]);
        assert_eq!(GroupView(&group).members()[1].kind, Some("Group"));
    }

    #[test]
    fn server_attributes_are_placed_in_reading_order() {
        let resource = object(
            json!({"userName": "a", "externalId": "e", "schemas": ["s"], "id": "client-sent", "meta": {"x": 1}}),
        );
        let meta = Meta {
            resource_type: "User".into(),
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-02T00:00:00Z".into(),
            location: "https://h/scim/v2/d/Users/1".into(),
            version: "7".into(),
        };
        let out = with_server_attributes(resource, "1", &meta);
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            ["schemas", "id", "externalId", "userName", "meta"]
        );
        assert_eq!(out["id"], "1");
        assert_eq!(out["meta"]["version"], "W/\"7\"");
    }
}
