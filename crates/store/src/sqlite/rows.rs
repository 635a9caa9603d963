//! Rows as the store's types: the decoding every SQLite read shares.

use scim::ResourceKind;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::codec::{self, parse_json, parse_object, parse_timestamp};
use crate::tx::Fetched;
use crate::{JournalEntry, StoreError, StoredResource};

pub(crate) fn fetched(row: &SqliteRow, kind: ResourceKind) -> Result<Fetched, StoreError> {
    Ok(Fetched {
        seq: row.try_get("seq")?,
        resource: StoredResource {
            kind,
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            created: parse_timestamp(row.try_get("created")?)?,
            last_modified: parse_timestamp(row.try_get("last_modified")?)?,
            attributes: parse_object(row.try_get("attributes")?, "attributes")?,
            vendor_keys: parse_json(row.try_get("vendor_keys")?, "vendor keys")?,
        },
    })
}

pub(crate) fn all_fetched(
    rows: &[SqliteRow],
    kind: ResourceKind,
) -> Result<Vec<Fetched>, StoreError> {
    rows.iter().map(|row| fetched(row, kind)).collect()
}

pub(crate) fn journal_entry(row: &SqliteRow) -> Result<JournalEntry, StoreError> {
    let kind = codec::parse_kind(row.try_get("kind")?)?;
    let (change, before) = codec::parse_journalled(
        kind,
        row.try_get("change")?,
        row.try_get("before_resource")?,
    )?;
    Ok(JournalEntry {
        seq: row.try_get("seq")?,
        connector: row.try_get("connector")?,
        kind,
        change,
        before,
        state: codec::parse_state(row.try_get("state")?)?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        request_id: row.try_get("request_id")?,
        created: parse_timestamp(row.try_get("created")?)?,
    })
}

/// A list as one JSON array parameter, read back with `json_each`.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String, StoreError> {
    codec::json_text(&items)
}
