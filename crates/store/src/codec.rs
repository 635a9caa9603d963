//! How values are written to columns and read back, the same for both backends: timestamps,
//! kinds and states as text, attributes and journalled changes as JSON text.

use scim::ResourceKind;
use serde_json::{Map, Value, json};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

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

/// A change as journalled.
pub(crate) fn change_json(change: &Change) -> Value {
    match change {
        Change::Create { id, attributes } => {
            json!({"operation": "create", "id": id, "attributes": attributes})
        }
        Change::Replace {
            id,
            expected_version,
            attributes,
        } => json!({
            "operation": "replace", "id": id, "expectedVersion": expected_version,
            "attributes": attributes,
        }),
        Change::Delete {
            id,
            expected_version,
        } => json!({"operation": "delete", "id": id, "expectedVersion": expected_version}),
    }
}

pub(crate) fn parse_change(text: &str) -> Result<Change, StoreError> {
    let value = parse_json(text, "journalled change")?;
    let bad = || corrupt(format!("journalled change {text}"));
    let id = value["id"].as_str().ok_or_else(bad)?.to_owned();
    let attributes = || value["attributes"].as_object().cloned().ok_or_else(bad);
    let expected_version = || value["expectedVersion"].as_i64().ok_or_else(bad);
    match value["operation"].as_str() {
        Some("create") => Ok(Change::Create {
            id,
            attributes: attributes()?,
        }),
        Some("replace") => Ok(Change::Replace {
            id,
            expected_version: expected_version()?,
            attributes: attributes()?,
        }),
        Some("delete") => Ok(Change::Delete {
            id,
            expected_version: expected_version()?,
        }),
        _ => Err(bad()),
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
        for change in [
            Change::Create {
                id: "1".into(),
                attributes: attributes.clone(),
            },
            Change::Replace {
                id: "1".into(),
                expected_version: 3,
                attributes,
            },
            Change::Delete {
                id: "1".into(),
                expected_version: 4,
            },
        ] {
            let text = change_json(&change).to_string();
            assert_eq!(parse_change(&text).ok(), Some(change));
        }
        assert!(parse_change(r#"{"operation": "rename", "id": "1"}"#).is_err());
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
