//! The index columns of a resource, derived from its attributes at commit. Lower-casing happens
//! here, in Rust (`str::to_lowercase`, Unicode-aware), so both backends index the same keys and
//! agree with the filter evaluator's case-insensitive comparison.

use scim::ResourceKind;
use scim::resource::{GroupView, UserView};
use serde_json::{Map, Value};

use crate::StoreError;

/// What a resource is found by, besides its id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IndexKeys {
    /// The unique attribute as written (`userName` or `displayName`), for error messages.
    pub unique_value: Option<String>,
    /// Its lower-cased form, unique per connector and kind.
    pub unique_key: Option<String>,
    /// `externalId`, case-exact.
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_ci: Option<String>,
    /// Lower-cased `emails[*].value` of a User, without duplicates.
    pub emails: Vec<String>,
}

/// A string that counts as assigned (RFC 7643 §2.5: an empty string is unassigned).
fn assigned(value: Option<&str>) -> Option<&str> {
    value.filter(|s| !s.is_empty())
}

fn dedup_in_order(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

impl IndexKeys {
    /// The keys of a resource of this kind.
    pub fn of(kind: ResourceKind, attributes: &Map<String, Value>) -> IndexKeys {
        match kind {
            ResourceKind::User => {
                let user = UserView(attributes);
                let user_name = assigned(user.user_name());
                let display_name = assigned(user.display_name());
                IndexKeys {
                    unique_value: user_name.map(str::to_owned),
                    unique_key: user_name.map(str::to_lowercase),
                    external_id: assigned(user.external_id()).map(str::to_owned),
                    display_name: display_name.map(str::to_owned),
                    display_name_ci: display_name.map(str::to_lowercase),
                    emails: dedup_in_order(
                        user.emails()
                            .into_iter()
                            .filter_map(|e| assigned(e.value).map(str::to_lowercase)),
                    ),
                }
            }
            ResourceKind::Group => {
                let group = GroupView(attributes);
                let display_name = assigned(group.display_name());
                IndexKeys {
                    unique_value: display_name.map(str::to_owned),
                    unique_key: display_name.map(str::to_lowercase),
                    external_id: assigned(group.external_id()).map(str::to_owned),
                    display_name: display_name.map(str::to_owned),
                    display_name_ci: display_name.map(str::to_lowercase),
                    emails: Vec::new(),
                }
            }
        }
    }

    /// The error for a write that met another resource's unique key.
    pub fn uniqueness_error(&self, kind: ResourceKind) -> StoreError {
        StoreError::Uniqueness {
            kind,
            attribute: kind.unique_attribute(),
            value: self.unique_value.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn user_keys_are_lower_cased_except_external_id() {
        let keys = IndexKeys::of(
            ResourceKind::User,
            &object(json!({
                "userName": "Ärne@Example.COM", "externalId": "Ext-1", "displayName": "Ärne Ö",
                "emails": [{"value": "A@X.org"}, {"value": "a@x.ORG"}, {"value": ""}, {"type": "home"}]
            })),
        );
        assert_eq!(keys.unique_key.as_deref(), Some("ärne@example.com"));
        assert_eq!(keys.unique_value.as_deref(), Some("Ärne@Example.COM"));
        assert_eq!(keys.external_id.as_deref(), Some("Ext-1"));
        assert_eq!(keys.display_name_ci.as_deref(), Some("ärne ö"));
        assert_eq!(keys.emails, ["a@x.org"]);
    }

    #[test]
    fn group_keys() {
        let keys = IndexKeys::of(
            ResourceKind::Group,
            &object(json!({"displayName": "Sales", "externalId": "e"})),
        );
        assert_eq!(keys.unique_key.as_deref(), Some("sales"));
        assert_eq!(keys.display_name.as_deref(), Some("Sales"));
        assert_eq!(keys.external_id.as_deref(), Some("e"));
    }

    #[test]
    fn empty_strings_are_unassigned() {
        let keys = IndexKeys::of(
            ResourceKind::User,
            &object(json!({"userName": "", "externalId": ""})),
        );
        assert_eq!(keys, IndexKeys::default());
    }
}
