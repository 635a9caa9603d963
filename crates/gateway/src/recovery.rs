//! Start-up recovery: the journal entries a crash left pending are finished (the connector runs
//! again, idempotently, and the change is committed), left pending for a later try when the
//! vendor is down or throttling, or marked failed when they can no longer apply
//! (docs/architecture.md "Crash recovery").

use connector::ConnectorError;

use crate::state::AppState;

/// What start-up recovery did with the writes a previous run left pending.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub committed: usize,
    pub failed: usize,
    /// Left pending: the vendor's failure may pass (down, throttling, credentials being
    /// fixed). The worker's sweep tries them again; none is given up.
    pub deferred: usize,
}

impl RecoveryReport {
    pub fn total(&self) -> usize {
        self.committed + self.failed + self.deferred
    }
}

/// Why a pending write could not be finished now.
enum Unfinished {
    /// It can never apply.
    Refused(String),
    /// The vendor may take it later.
    Transient(String),
}

/// Finishes every journal entry a crash left pending: the connector runs again (it is
/// idempotent) and the change is committed, or the entry is marked failed when it can no
/// longer apply (a newer version won, the connector is gone, the vendor refuses). The
/// client of such a write never got an answer, so either outcome is consistent. A vendor that
/// is down or throttling leaves the entry pending, for the worker's sweep to try again.
///
/// On a database other replicas share, an entry may be a write another replica has in
/// flight: only those pending for longer than `[queue] stale_after_secs` are taken (the
/// worker's sweep takes the rest later).
pub async fn recover(state: &AppState) -> Result<RecoveryReport, store::StoreError> {
    let grace = if state.store.is_shared() {
        state.queue.config().stale_after()
    } else {
        std::time::Duration::ZERO
    };
    recover_older_than(state, grace).await
}

/// Finishes the pending journal entries written more than `age` ago.
pub async fn recover_older_than(
    state: &AppState,
    age: std::time::Duration,
) -> Result<RecoveryReport, store::StoreError> {
    let mut report = RecoveryReport::default();
    let cutoff = time::OffsetDateTime::now_utc() - age;
    let pending = state.store.journal_pending().await?;
    for entry in pending.into_iter().filter(|e| e.created <= cutoff) {
        let outcome = replay(state, &entry).await;
        match outcome {
            Ok(keys) => match state.store.commit(entry.seq, keys).await {
                Ok(_) => report.committed += 1,
                Err(e @ store::StoreError::Backend(_)) => return Err(e),
                Err(e) => {
                    state
                        .store
                        .journal_fail(entry.seq, &format!("recovery: {e}"))
                        .await?;
                    report.failed += 1;
                }
            },
            Err(Unfinished::Transient(reason)) => {
                tracing::warn!(seq = entry.seq, %reason, "a pending write waits for its vendor; it will be tried again");
                report.deferred += 1;
            }
            Err(Unfinished::Refused(reason)) => {
                tracing::warn!(seq = entry.seq, %reason, "a pending write could not be finished");
                state
                    .store
                    .journal_fail(entry.seq, &format!("recovery: {reason}"))
                    .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

async fn replay(
    state: &AppState,
    entry: &store::JournalEntry,
) -> Result<serde_json::Value, Unfinished> {
    let runtime = state.connectors.get(&entry.connector).ok_or_else(|| {
        Unfinished::Refused(format!(
            "connector \"{}\" is no longer configured",
            entry.connector
        ))
    })?;
    let empty = serde_json::Value::Object(serde_json::Map::new());
    let vendor_keys = entry.before.as_ref().map_or(&empty, |b| &b.vendor_keys);
    crate::writer::apply_entry(&state.store, runtime, entry, vendor_keys)
        .await
        .map_err(|e: ConnectorError| match crate::delivery::transient(&e) {
            Some(_) => Unfinished::Transient(e.to_string()),
            None => Unfinished::Refused(e.to_string()),
        })
}
