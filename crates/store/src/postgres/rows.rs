//! Rows as the store's types: the decoding every PostgreSQL read shares.

use scim::ResourceKind;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::codec::{self, parse_json, parse_object};
use crate::tx::Fetched;
use crate::{JournalEntry, StoreError, StoredResource, StoredText, TrailRecord};

pub(crate) fn fetched(row: &PgRow, kind: ResourceKind) -> Result<Fetched, StoreError> {
    Ok(Fetched {
        seq: row.try_get("seq")?,
        resource: StoredResource {
            kind,
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            created: row.try_get("created")?,
            last_modified: row.try_get("last_modified")?,
            attributes: parse_object(row.try_get("attributes")?, "attributes")?,
            vendor_keys: parse_json(row.try_get("vendor_keys")?, "vendor keys")?,
        },
    })
}

/// The resource of a row selecting `resource_columns!()`, its attributes left as text.
pub(crate) fn stored_text(row: &PgRow, kind: ResourceKind) -> Result<StoredText, StoreError> {
    Ok(StoredText {
        kind,
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
        attributes: row.try_get("attributes")?,
        vendor_keys: row.try_get("vendor_keys")?,
    })
}

pub(crate) fn all_fetched(rows: &[PgRow], kind: ResourceKind) -> Result<Vec<Fetched>, StoreError> {
    rows.iter().map(|row| fetched(row, kind)).collect()
}

pub(crate) fn journal_entry(row: &PgRow) -> Result<JournalEntry, StoreError> {
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
        created: row.try_get("created")?,
    })
}

pub(crate) fn trail_record(row: &PgRow) -> Result<TrailRecord, StoreError> {
    Ok(TrailRecord {
        request_id: row.try_get("request_id")?,
        at: row.try_get("at")?,
        record: parse_json(row.try_get("record")?, "trail record")?,
    })
}
