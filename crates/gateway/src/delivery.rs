//! Queued delivery (docs/architecture.md "Consistency"): for a connector with `delivery = "queued"` the
//! SCIM answer is given once the write is committed and its delivery queued (one transaction,
//! [`store::Store::journal_commit_queue`]); this worker then makes the vendor match, in order
//! per resource, retrying transient failures with exponential backoff until the vendor accepts
//! or `max_attempts` marks the entry failed for an operator (admin API).
//!
//! Every replica runs one worker; they share the queue through the store's leases, so an entry
//! is worked by one worker at a time and taken over when a replica dies. A crash after the
//! vendor accepted but before the entry was settled delivers it again, which changes nothing:
//! every connector's `apply` makes the vendor match the entry's "after" and adopts what
//! already exists.

use std::time::Duration;

use actix_web::web;
use connector::ConnectorError;
use store::{Claim, Delivery, DeliveryOutcome, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::state::AppState;

/// The running worker (also the sweeper of lost synchronous writes, and the pruner of old
/// history); [`Worker::stop`] lets the deliveries in flight finish and gives back the leases
/// it holds.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the worker for the connectors of `state` with queued delivery (none: it ends at
    /// once).
    pub fn spawn(state: web::Data<AppState>) -> Worker {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(state, stopped));
        Worker { stop, task }
    }

    /// Cuts the worker off where it is (see `RunningServer::kill`).
    pub fn kill(self) {
        self.task.abort();
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the delivery worker ended abnormally");
        }
    }
}

/// Finishes the synchronous writes whose requests were lost (see
/// [`crate::queue::QueueConfig::stale_after_secs`]).
async fn sweep(state: &AppState) {
    match crate::recovery::recover_older_than(state, state.queue.config.stale_after()).await {
        Ok(report) if report.total() > 0 => {
            tracing::warn!(?report, "finished writes whose requests were lost")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot finish the writes whose requests were lost"),
    }
}

/// How often settled history is pruned, and how many rows a transaction removes.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const PRUNE_BATCH: usize = 1000;

/// Removes settled history older than the retention (see [`store::Store::prune`]).
async fn prune(state: &AppState, retention: Duration) {
    let Ok(retention) = time::Duration::try_from(retention) else {
        return;
    };
    let older_than = time::OffsetDateTime::now_utc() - retention;
    match state.store.prune(older_than, PRUNE_BATCH).await {
        Ok(pruned) => {
            crate::telemetry::record_pruned("journal", pruned.journal);
            crate::telemetry::record_pruned("deliveries", pruned.deliveries);
            if pruned != store::Pruned::default() {
                tracing::info!(
                    journal = pruned.journal,
                    deliveries = pruned.deliveries,
                    "removed settled history past its retention"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot remove old history"),
    }
}

async fn run(state: web::Data<AppState>, mut stopped: watch::Receiver<bool>) {
    let connectors = state.queued_connectors();
    let queue = &state.queue;
    let config = queue.config.clone();
    let poll = Duration::from_millis(config.poll_interval_ms);
    let sweep_every = (config.stale_after() / 2).max(Duration::from_secs(1));
    let mut next_sweep = tokio::time::Instant::now() + sweep_every;
    // At start (recovery has run before the worker), then hourly; None keeps history forever.
    let mut next_prune = queue.retention.map(|_| tokio::time::Instant::now());
    let mut running: JoinSet<()> = JoinSet::new();
    tracing::info!(owner = %queue.owner, ?connectors, "delivery worker started");
    while !*stopped.borrow() {
        if tokio::time::Instant::now() >= next_sweep {
            sweep(&state).await;
            next_sweep = tokio::time::Instant::now() + sweep_every;
        }
        if let (Some(retention), Some(due)) = (queue.retention, next_prune)
            && tokio::time::Instant::now() >= due
        {
            prune(&state, retention).await;
            next_prune = Some(tokio::time::Instant::now() + PRUNE_EVERY);
        }
        let free = config.concurrency.saturating_sub(running.len());
        let claimed = if free == 0 || connectors.is_empty() {
            Vec::new()
        } else {
            match state
                .store
                .queue_claim(Claim {
                    owner: &queue.owner,
                    connectors: &connectors,
                    lease: config.lease(),
                    limit: free,
                })
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the delivery queue");
                    Vec::new()
                }
            }
        };
        let took_some = !claimed.is_empty();
        for delivery in claimed {
            running.spawn(deliver(state.clone(), delivery));
        }
        if took_some && running.len() < config.concurrency {
            // More may be due right away (the successors of what was just taken wait for it).
            continue;
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = queue.wake.notified() => {}
            _ = tokio::time::sleep(poll), if !connectors.is_empty() => {}
            _ = tokio::time::sleep_until(next_prune.map_or(next_sweep, |p| p.min(next_sweep))) => {}
            _ = stopped.changed() => {}
        }
        // Reap every delivery that ended, not just the one that woke us.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    if let Err(e) = state.store.queue_release(&queue.owner).await {
        tracing::warn!(error = %e, "could not give back the delivery leases");
    }
    tracing::info!(owner = %queue.owner, "delivery worker stopped");
}

/// Whether a failure may pass with time: the vendor was down, slow, throttling, or refused
/// credentials an operator may fix; the other refusals would only repeat.
pub(crate) fn transient(error: &ConnectorError) -> Option<Option<Duration>> {
    match error {
        ConnectorError::Unavailable { retry_after, .. } => Some(*retry_after),
        ConnectorError::Unauthorized { .. } => Some(None),
        ConnectorError::Rejected { .. }
        | ConnectorError::Immutable { .. }
        | ConnectorError::Conflict { .. }
        | ConnectorError::Unsupported(_) => None,
    }
}

async fn deliver(state: web::Data<AppState>, delivery: Delivery) {
    let queue = &state.queue;
    let entry = &delivery.entry;
    let seq = entry.seq;
    let outcome = match attempt(&state, &delivery).await {
        Ok(keys) => DeliveryOutcome::Delivered(keys),
        Err(Failure::Transient(reason, retry_after)) => {
            let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
            if attempts >= queue.config.max_attempts {
                DeliveryOutcome::Failed(format!("gave up after {attempts} attempts: {reason}"))
            } else {
                DeliveryOutcome::RetryIn(queue.config.backoff(attempts, retry_after), reason)
            }
        }
        Err(Failure::Refused(reason)) => DeliveryOutcome::Failed(reason),
    };
    let label = match &outcome {
        DeliveryOutcome::Delivered(_) => "delivered",
        DeliveryOutcome::RetryIn(after, reason) => {
            tracing::info!(seq, connector = %entry.connector, id = entry.change.id(), retry_in_ms = after.as_millis() as u64, %reason, "delivery failed; will retry");
            "retry"
        }
        DeliveryOutcome::Failed(reason) => {
            tracing::warn!(seq, connector = %entry.connector, id = entry.change.id(), %reason, "delivery failed for good; see the admin API");
            "failed"
        }
    };
    crate::telemetry::record_delivery(&entry.connector, label);
    match state.store.queue_settle(seq, &queue.owner, outcome).await {
        Ok(()) => {}
        // Another worker took the entry over (our lease ran out); it settles it.
        Err(StoreError::NoSuchEntry(_)) => {
            tracing::warn!(seq, "a delivery's lease ran out before it was settled")
        }
        // The lease ends and the entry is delivered again, which changes nothing.
        Err(e) => tracing::warn!(seq, error = %e, "could not settle a delivery"),
    }
}

enum Failure {
    Transient(String, Option<Duration>),
    Refused(String),
}

async fn attempt(state: &AppState, delivery: &Delivery) -> Result<serde_json::Value, Failure> {
    let entry = &delivery.entry;
    let runtime = state.connectors.get(&entry.connector).ok_or_else(|| {
        Failure::Transient(
            format!("connector \"{}\" is not configured here", entry.connector),
            None,
        )
    })?;
    // Settled well inside the lease, so no other worker takes the entry meanwhile.
    let limit = state.queue.config.lease() / 2;
    let apply = crate::writer::apply_entry(&state.store, runtime, entry, &delivery.vendor_keys);
    match tokio::time::timeout(limit, apply).await {
        Ok(Ok(keys)) => Ok(keys),
        Ok(Err(e)) => match transient(&e) {
            Some(retry_after) => Err(Failure::Transient(e.to_string(), retry_after)),
            None => Err(Failure::Refused(e.to_string())),
        },
        Err(_) => Err(Failure::Transient(
            format!("no answer within {} s", limit.as_secs()),
            None,
        )),
    }
}
