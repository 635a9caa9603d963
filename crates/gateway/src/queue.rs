//! The `[queue]` settings and the handle the write path uses to wake the delivery worker
//! (`delivery.rs`), kept apart from the worker so that the state and the configuration do not
//! depend on it.

use std::time::Duration;

use connector::Problem;
use serde::Deserialize;
use tokio::sync::Notify;

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

    pub(crate) fn lease(&self) -> Duration {
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
    pub(crate) owner: String,
    pub(crate) config: QueueConfig,
    pub(crate) wake: Notify,
    /// How long settled history is kept (`[store] retention_days`); the worker prunes it.
    pub(crate) retention: Option<Duration>,
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
