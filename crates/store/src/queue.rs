//! What both backends share of the delivery queue (the `outbox` table): the query that reads
//! a delivery with its journal entry, and how a row becomes a [`Delivery`]. The statements
//! that claim and settle entries differ per backend (`sqlite/queue.rs`, `postgres/queue.rs`).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::codec;
use crate::{Delivery, JournalEntry, StoreError};

/// A delivery with its journal entry, and the vendor keys the last delivery of the same
/// resource returned. The journal's columns keep their names (`journal_entry` reads them);
/// the outbox's are prefixed. Both dialects accept it as it is.
pub(crate) const DELIVERY_SELECT: &str = "SELECT j.seq, j.connector, j.kind, j.change, \
     j.before_resource, j.state, j.attempts, j.last_error, j.request_id, j.created, \
     o.state AS delivery_state, o.attempts AS delivery_attempts, o.next_attempt, \
     o.last_error AS delivery_error, \
     (SELECT d.vendor_keys FROM outbox d WHERE d.connector = o.connector AND d.kind = o.kind \
      AND d.resource_id = o.resource_id AND d.state = 'delivered' AND d.seq < o.seq \
      ORDER BY d.seq DESC LIMIT 1) AS delivered_keys \
     FROM outbox o JOIN journal j ON j.seq = o.seq";

/// The outbox columns of a [`DELIVERY_SELECT`] row, already decoded.
pub(crate) struct DeliveryColumns<'a> {
    pub state: &'a str,
    pub attempts: i32,
    pub next_attempt: OffsetDateTime,
    pub last_error: Option<String>,
    pub delivered_keys: Option<&'a str>,
}

/// Assembles a delivery. Its vendor keys are those the last delivery of the resource returned,
/// or else those the resource had when the entry was journalled: deliveries run in order, so
/// either is what the vendor knows the resource by now.
pub(crate) fn delivery(
    entry: JournalEntry,
    columns: DeliveryColumns<'_>,
) -> Result<Delivery, StoreError> {
    let vendor_keys = match columns.delivered_keys {
        Some(text) => codec::parse_json(text, "delivered vendor keys")?,
        None => entry
            .before
            .as_ref()
            .map_or_else(|| Value::Object(Map::new()), |b| b.vendor_keys.clone()),
    };
    Ok(Delivery {
        state: codec::parse_delivery_state(columns.state)?,
        attempts: columns.attempts,
        next_attempt: columns.next_attempt,
        last_error: columns.last_error,
        vendor_keys,
        entry,
    })
}

/// The statements of [`crate::Store::prune`], the same in both dialects but for how parameters
/// are written (`?1` or `$1`), which the caller passes in.
///
/// Each delete walks the journal (or the outbox) in `seq` order only up to a cut, the first
/// entry journalled after the retention horizon: finding the cut reads from the oldest row to
/// the first young one, so no index on time is needed. The time is checked again row by row:
/// on PostgreSQL `seq` order is not commit order, and an entry may commit below the cut after
/// the cut was taken.
macro_rules! prune_sql {
    (cut, $created:literal) => {
        concat!(
            "SELECT seq FROM journal WHERE created >= ",
            $created,
            " ORDER BY seq LIMIT 1"
        )
    };
    // Settled deliveries of resources with nothing waiting or failed: a resource's next
    // delivery starts from the keys of its last delivered one, and for a resource with nothing
    // waiting, the next entry is journalled later, with the keys the resource holds by then.
    (deliveries, $cut:literal, $older:literal, $batch:literal) => {
        concat!(
            "DELETE FROM outbox WHERE seq IN (SELECT o.seq FROM outbox o WHERE o.seq < ",
            $cut,
            " AND o.created < ",
            $older,
            " AND o.state IN ('delivered', 'dropped') AND NOT EXISTS (SELECT 1 FROM outbox p \
             WHERE p.connector = o.connector AND p.kind = o.kind \
             AND p.resource_id = o.resource_id AND p.state IN ('queued', 'failed')) \
             ORDER BY o.seq LIMIT ",
            $batch,
            ")"
        )
    };
    // Settled journal entries no delivery refers to any more.
    (journal, $cut:literal, $older:literal, $batch:literal) => {
        concat!(
            "DELETE FROM journal WHERE seq IN (SELECT j.seq FROM journal j WHERE j.seq < ",
            $cut,
            " AND j.created < ",
            $older,
            " AND j.state IN ('committed', 'failed') \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = j.seq) \
             ORDER BY j.seq LIMIT ",
            $batch,
            ")"
        )
    };
    // The trail is cut the same way, by its own ids.
    (trail_cut, $at:literal) => {
        concat!(
            "SELECT id FROM trail WHERE at >= ",
            $at,
            " ORDER BY id LIMIT 1"
        )
    };
    // Trail records of requests no journal entry holds any more (pruned above, or a request
    // refused before anything was journalled). `$journal` names the journal's table: SQLite
    // keeps the trail in a file of its own, which sees the store's as `store`.
    (trail, $journal:literal, $cut:literal, $older:literal, $batch:literal) => {
        concat!(
            "DELETE FROM trail WHERE id IN (SELECT t.id FROM trail t WHERE t.id < ",
            $cut,
            " AND t.at < ",
            $older,
            " AND NOT EXISTS (SELECT 1 FROM ",
            $journal,
            " j WHERE j.request_id = t.request_id) ORDER BY t.id LIMIT ",
            $batch,
            ")"
        )
    };
}
pub(crate) use prune_sql;

/// A duration in whole milliseconds, for SQL arithmetic.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
