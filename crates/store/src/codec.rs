//! How values are written to columns and read back, the same for both backends: timestamps,
//! kinds and states as text, attributes and journalled changes as JSON text.

use scim::ResourceKind;
use serde_json::{Map, Value, json};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use scim::members::{Member, MemberDelta, delta_of_whole};

use crate::{Change, DeliveryState, JournalState, StoreError, StoredResource};

/// Fixed width, so that text order is time order (SQLite stores timestamps as text).
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The current time in UTC, to the microsecond: what both backends store exactly, so a
/// resource returned by a commit equals the one read back later.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// A timestamp as stored in a text column.
pub(crate) fn timestamp_text(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default()
}

pub(crate) fn parse_timestamp(text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| corrupt(format!("timestamp \"{text}\" is not RFC 3339: {e}")))
}

/// The `groups` column read with a resource: a JSON list of `[group id, displayName]`.
pub(crate) fn parse_groups(text: &str) -> Result<Vec<(String, String)>, StoreError> {
    let groups: Vec<(String, Option<String>)> = serde_json::from_str(text)
        .map_err(|e| corrupt(format!("groups are not a JSON list of pairs: {e}")))?;
    Ok(id_names(groups))
}

/// `(id, display_name)` rows, a missing name read as empty.
pub(crate) fn id_names(rows: Vec<(String, Option<String>)>) -> Vec<(String, String)> {
    rows.into_iter()
        .map(|(id, name)| (id, name.unwrap_or_default()))
        .collect()
}

/// A stored value the application cannot read: a bug or a hand-edited database.
pub(crate) fn corrupt(what: String) -> StoreError {
    StoreError::Backend(format!("unreadable stored value: {what}"))
}

pub(crate) fn parse_kind(text: &str) -> Result<ResourceKind, StoreError> {
    ResourceKind::from_name(text).ok_or_else(|| corrupt(format!("resource kind \"{text}\"")))
}

pub(crate) fn parse_state(text: &str) -> Result<JournalState, StoreError> {
    JournalState::parse(text).ok_or_else(|| corrupt(format!("journal state \"{text}\"")))
}

pub(crate) fn parse_delivery_state(text: &str) -> Result<DeliveryState, StoreError> {
    DeliveryState::parse(text).ok_or_else(|| corrupt(format!("delivery state \"{text}\"")))
}

pub(crate) fn json_text(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("JSON encoding: {e}")))
}

pub(crate) fn parse_json(text: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{what} is not JSON: {e}")))
}

pub(crate) fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, StoreError> {
    match parse_json(text, what)? {
        Value::Object(map) => Ok(map),
        _ => Err(corrupt(format!("{what} is not a JSON object"))),
    }
}

/// A change as journalled. `members` is always written, so that an entry journalled before
/// members were kept apart (whose Group attributes held the whole list) is told apart.
pub(crate) fn change_json(change: &Change) -> Value {
    let members = delta_json(change.members());
    match change {
        Change::Create { id, attributes, .. } => {
            json!({"operation": "create", "id": id, "attributes": attributes, "members": members})
        }
        Change::Replace {
            id,
            expected_version,
            attributes,
            ..
        } => json!({
            "operation": "replace", "id": id, "expectedVersion": expected_version,
            "attributes": attributes, "members": members,
        }),
        Change::Delete {
            id,
            expected_version,
            ..
        } => json!({
            "operation": "delete", "id": id, "expectedVersion": expected_version,
            "members": members,
        }),
    }
}

fn delta_json(delta: &MemberDelta) -> Value {
    let add: Vec<Value> = delta.add.iter().map(|m| m.to_json(None)).collect();
    json!({"add": add, "remove": delta.remove})
}

fn parse_delta(value: &Value) -> Option<MemberDelta> {
    Some(MemberDelta {
        add: value["add"]
            .as_array()?
            .iter()
            .map(Member::from_json)
            .collect::<Option<_>>()?,
        remove: value["remove"]
            .as_array()?
            .iter()
            .map(|id| id.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
    })
}

/// A member from the columns of a `memberships` row.
pub(crate) fn member(value: String, kind: Option<String>, display: Option<String>) -> Member {
    Member {
        value,
        kind: kind.as_deref().and_then(ResourceKind::from_name),
        display,
    }
}

/// Members from `memberships` rows read as (id, type, display).
pub(crate) fn members(rows: Vec<(String, Option<String>, Option<String>)>) -> Vec<Member> {
    rows.into_iter()
        .map(|(value, kind, display)| member(value, kind, display))
        .collect()
}

/// `(id, kind)` rows, the kinds read back from their text.
pub(crate) fn id_kinds(
    rows: Vec<(String, String)>,
) -> Result<Vec<(String, ResourceKind)>, StoreError> {
    rows.into_iter()
        .map(|(id, kind)| Ok((id, parse_kind(&kind)?)))
        .collect()
}

/// A journalled change and the resource as it was, as stored in the `change` and
/// `before_resource` columns.
pub(crate) fn parse_journalled(
    kind: ResourceKind,
    change: &str,
    before: Option<&str>,
) -> Result<(Change, Option<StoredResource>), StoreError> {
    let mut before = before.map(parse_resource).transpose()?;
    let value = parse_json(change, "journalled change")?;
    let bad = || corrupt(format!("journalled change {change}"));
    let id = value["id"].as_str().ok_or_else(bad)?.to_owned();
    let attributes = || value["attributes"].as_object().cloned().ok_or_else(bad);
    let expected_version = || value["expectedVersion"].as_i64().ok_or_else(bad);
    let (members, old_form) = match value.get("members") {
        Some(delta) => (parse_delta(delta).ok_or_else(bad)?, false),
        None => (MemberDelta::default(), true),
    };
    let mut change = match value["operation"].as_str() {
        Some("create") => Change::Create {
            id,
            attributes: attributes()?,
            members,
        },
        Some("replace") => Change::Replace {
            id,
            expected_version: expected_version()?,
            attributes: attributes()?,
            members,
        },
        Some("delete") => Change::Delete {
            id,
            expected_version: expected_version()?,
            members,
        },
        _ => return Err(bad()),
    };
    if old_form && kind == ResourceKind::Group {
        upgrade(&mut change, before.as_mut());
    }
    Ok((change, before))
}

/// An entry journalled when a Group's attributes held its whole member list: the lists come out
/// of the attributes, and the change becomes the delta between them.
fn upgrade(change: &mut Change, before: Option<&mut StoredResource>) {
    let before = before.map(|b| &mut b.attributes);
    match change {
        Change::Create {
            attributes,
            members,
            ..
        }
        | Change::Replace {
            attributes,
            members,
            ..
        } => *members = delta_of_whole(before, Some(attributes)),
        Change::Delete { members, .. } => *members = delta_of_whole(before, None),
    }
}

/// A resource as journalled in `before_resource`.
pub(crate) fn resource_json(resource: &StoredResource) -> Value {
    json!({
        "kind": resource.kind.as_str(),
        "id": resource.id,
        "version": resource.version,
        "created": timestamp_text(resource.created),
        "lastModified": timestamp_text(resource.last_modified),
        "attributes": resource.attributes,
        "vendorKeys": resource.vendor_keys,
    })
}

pub(crate) fn parse_resource(text: &str) -> Result<StoredResource, StoreError> {
    let value = parse_json(text, "journalled resource")?;
    let bad = || corrupt(format!("journalled resource {text}"));
    let string = |name: &str| value[name].as_str().ok_or_else(bad);
    Ok(StoredResource {
        kind: parse_kind(string("kind")?)?,
        id: string("id")?.to_owned(),
        version: value["version"].as_i64().ok_or_else(bad)?,
        created: parse_timestamp(string("created")?)?,
        last_modified: parse_timestamp(string("lastModified")?)?,
        attributes: value["attributes"].as_object().cloned().ok_or_else(bad)?,
        vendor_keys: value["vendorKeys"].clone(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn timestamps_are_fixed_width_utc_and_round_trip() {
        let t = datetime!(2026-01-02 03:04:05.1 +02:00);
        let text = timestamp_text(t);
        assert_eq!(text, "2026-01-02T01:04:05.100000Z");
        assert_eq!(parse_timestamp(&text).ok(), Some(t));
        assert!(timestamp_text(datetime!(2026-01-02 01:04:05 UTC)) < text);
        assert_eq!(now().nanosecond() % 1_000, 0);
    }

    #[test]
    fn changes_round_trip() {
        let attributes = json!({"userName": "a", "zeta": 1, "alpha": [1.5]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let members = MemberDelta {
            add: vec![Member {
                value: "u1".into(),
                kind: Some(ResourceKind::User),
                display: Some("One".into()),
            }],
            remove: vec!["u2".into()],
        };
        for change in [
            Change::Create {
                id: "1".into(),
                attributes: attributes.clone(),
                members: MemberDelta::default(),
            },
            Change::Replace {
                id: "1".into(),
                expected_version: 3,
                attributes,
                members,
            },
            Change::Delete {
                id: "1".into(),
                expected_version: 4,
                members: MemberDelta::default(),
            },
        ] {
            let text = change_json(&change).to_string();
            assert_eq!(
                parse_journalled(ResourceKind::User, &text, None).ok(),
                Some((change, None))
            );
        }
        assert!(
            parse_journalled(
                ResourceKind::User,
                r#"{"operation": "rename", "id": "1"}"#,
                None
            )
            .is_err()
        );
    }

    #[test]
    fn entries_journalled_with_whole_member_lists_become_deltas() {
        let before = StoredResource {
            kind: ResourceKind::Group,
            id: "g".into(),
            version: 2,
            created: datetime!(2026-01-02 01:04:05 UTC),
            last_modified: datetime!(2026-01-02 01:04:05 UTC),
            attributes: json!({"displayName": "G", "members": [{"value": "a"}, {"value": "b", "type": "User"}]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            vendor_keys: json!({}),
        };
        let before_text = resource_json(&before).to_string();
        let old = r#"{"operation": "replace", "id": "g", "expectedVersion": 2,
            "attributes": {"displayName": "H", "members": [{"value": "b"}, {"value": "c", "display": "C"}]}}"#;
        let (change, upgraded) = parse_journalled(ResourceKind::Group, old, Some(&before_text))
            .unwrap_or_else(|e| panic!("{e}"));
        let Change::Replace {
            attributes,
            members,
            ..
        } = change
        else {
            panic!("a replace")
        };
        assert_eq!(
            attributes,
            *json!({"displayName": "H"})
                .as_object()
                .unwrap_or(&Map::new())
        );
        assert_eq!(members.remove, ["a"]);
        assert_eq!(
            members.add,
            [Member {
                value: "c".into(),
                kind: None,
                display: Some("C".into())
            }]
        );
        let upgraded = upgraded.unwrap_or_else(|| panic!("before"));
        assert!(!upgraded.attributes.contains_key("members"));

        let old_delete = r#"{"operation": "delete", "id": "g", "expectedVersion": 2}"#;
        let (change, _) = parse_journalled(ResourceKind::Group, old_delete, Some(&before_text))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.members().remove, ["a", "b"]);
        let old_create = r#"{"operation": "create", "id": "g", "attributes": {"displayName": "G", "members": [{"value": "a"}]}}"#;
        let (change, _) = parse_journalled(ResourceKind::Group, old_create, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.members().add.len(), 1);
    }

    #[test]
    fn resources_round_trip() {
        let resource = StoredResource {
            kind: ResourceKind::Group,
            id: "g".into(),
            version: 2,
            created: datetime!(2026-01-02 01:04:05.000001 UTC),
            last_modified: datetime!(2026-01-03 01:04:05 UTC),
            attributes: Map::new(),
            vendor_keys: json!({"vendorId": 7}),
        };
        let text = resource_json(&resource).to_string();
        assert_eq!(parse_resource(&text).ok(), Some(resource));
    }
}
