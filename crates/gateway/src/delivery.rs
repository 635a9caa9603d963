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
use connector::{ConnectorError, Problem};
use serde::Deserialize;
use store::{Claim, Delivery, DeliveryOutcome, StoreError};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::state::AppState;

/// The `[queue]` table: how queued deliveries are worked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Deliveries in flight at once, per replica (each to a different resource).
    pub concurrency: usize,
    /// How often an idle worker looks for due entries (new writes in this replica wake it
    /// at once; this is for retries and for writes taken by other replicas).
    pub poll_interval_ms: u64,
    /// How long a worker holds an entry; a replica that dies holds it at most this long.
    /// One delivery attempt is given half of it.
    pub lease_secs: u64,
    /// The wait after the first failed attempt; it doubles with every further failure.
    pub retry_initial_ms: u64,
    /// The longest wait between attempts (a vendor's `Retry-After` is honoured up to it).
    pub retry_max_ms: u64,
    /// Attempts before an entry is marked failed and left for an operator.
    pub max_attempts: u32,
    /// A synchronous write still pending after this long lost its request (its process died,
    /// or its client went away mid-write); the worker finishes it as start-up recovery does.
    /// Longer than any request may take, vendor retries included.
    pub stale_after_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            concurrency: 16,
            poll_interval_ms: 1_000,
            lease_secs: 60,
            retry_initial_ms: 1_000,
            retry_max_ms: 300_000,
            max_attempts: 12,
            stale_after_secs: 300,
        }
    }
}

impl QueueConfig {
    /// What is wrong with the table, as (key, problem).
    pub fn problems(&self) -> Vec<Problem> {
        const FIX: &str = "fix the value, or remove the key for the default";
        let mut problems = Vec::new();
        if self.concurrency == 0 {
            problems.push(Problem::new("concurrency", "must be at least 1", FIX));
        }
        if self.poll_interval_ms == 0 {
            problems.push(Problem::new("poll_interval_ms", "must be at least 1", FIX));
        }
        if self.lease_secs == 0 {
            problems.push(Problem::new("lease_secs", "must be at least 1", FIX));
        }
        if self.stale_after_secs == 0 {
            problems.push(Problem::new("stale_after_secs", "must be at least 1", FIX));
        }
        if self.max_attempts == 0 {
            problems.push(Problem::new("max_attempts", "must be at least 1", FIX));
        }
        if self.retry_initial_ms > self.retry_max_ms {
            problems.push(Problem::new(
                "retry_initial_ms",
                format!(
                    "{} is more than retry_max_ms ({})",
                    self.retry_initial_ms, self.retry_max_ms
                ),
                FIX,
            ));
        }
        problems
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// See [`QueueConfig::stale_after_secs`].
    pub fn stale_after(&self) -> Duration {
        Duration::from_secs(self.stale_after_secs)
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failures: doubling from
    /// `retry_initial_ms`, at most `retry_max_ms`, with up to a fifth taken off at random so
    /// that entries failed together do not return together. A vendor's `Retry-After` wins
    /// when it asks for longer (still at most `retry_max_ms`).
    pub fn backoff(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.retry_max_ms);
        let doubled = self
            .retry_initial_ms
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(32));
        let base = Duration::from_millis(doubled).min(max);
        let jittered = base.mul_f64(1.0 - rand::random::<f64>() * 0.2);
        retry_after
            .map_or(jittered, |asked| asked.max(jittered))
            .min(max)
    }
}

/// What the service needs of the worker: a way to wake it when it queued something.
#[derive(Debug)]
pub struct Queue {
    /// Who this process is in the queue's leases (unique per process).
    owner: String,
    config: QueueConfig,
    wake: Notify,
    /// How long settled history is kept (`[store] retention_days`); the worker prunes it.
    retention: Option<Duration>,
}

impl Queue {
    pub fn new(config: QueueConfig, retention: Option<Duration>) -> Queue {
        Queue {
            owner: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
            config,
            wake: Notify::new(),
            retention,
        }
    }

    /// A new entry is due: the worker looks now rather than at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty() && h.len() <= 64)
        .unwrap_or_else(|| "scim-bridge".to_owned())
}

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
/// [`QueueConfig::stale_after_secs`]).
async fn sweep(state: &AppState) {
    match state
        .recover_older_than(state.queue.config.stale_after())
        .await
    {
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
fn transient(error: &ConnectorError) -> Option<Option<Duration>> {
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
    let apply = state.apply_entry(runtime, entry, &delivery.vendor_keys);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_honours_retry_after() {
        let config = QueueConfig {
            retry_initial_ms: 100,
            retry_max_ms: 1_000,
            ..QueueConfig::default()
        };
        let within = |d: Duration, ms: u64| {
            d <= Duration::from_millis(ms) && d >= Duration::from_millis(ms * 8 / 10)
        };
        assert!(within(config.backoff(1, None), 100));
        assert!(within(config.backoff(2, None), 200));
        assert!(within(config.backoff(4, None), 800));
        assert!(within(config.backoff(5, None), 1_000));
        assert!(within(config.backoff(60, None), 1_000), "no overflow");
        let asked = Duration::from_millis(700);
        assert_eq!(config.backoff(1, Some(asked)), asked);
        assert!(within(
            config.backoff(1, Some(Duration::from_secs(90))),
            1_000
        ));
    }

    #[test]
    fn bad_settings_are_named() {
        let config = QueueConfig {
            concurrency: 0,
            retry_initial_ms: 5,
            retry_max_ms: 1,
            ..QueueConfig::default()
        };
        let keys: Vec<_> = config.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["concurrency", "retry_initial_ms"]);
        assert!(QueueConfig::default().problems().is_empty());
    }
}
