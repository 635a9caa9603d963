//! Outbound rate limits, per vendor endpoint (governor's GCRA): every attempt waits for its
//! turn. The wait is bounded: a call that would wait longer than `max_wait_ms` (its estimated
//! place in the queue, plus any pause) is refused at once as unavailable, with the estimate as
//! `Retry-After`, instead of holding the SCIM client. A vendor's own 429 pauses every call to
//! the endpoint for the time it asks.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use crate::ConnectorError;
use crate::status::LimiterStatus;

/// `[…http.rate_limit]`: how fast calls may go to one vendor endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundRate {
    /// Calls per second, sustained.
    pub per_second: u32,
    /// Calls that may go at once after a quiet spell.
    pub burst: u32,
    /// The longest a call waits for its turn before the SCIM client gets 503.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn default_max_wait_ms() -> u64 {
    5_000
}

/// The live limiter of one endpoint.
pub struct OutboundLimiter {
    limiter: DefaultDirectRateLimiter,
    per_second: u32,
    burst: u32,
    max_wait: Duration,
    /// Calls waiting for their turn now.
    waiting: AtomicUsize,
    /// No call before this (a vendor asked us to slow down).
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for OutboundLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundLimiter")
            .field("per_second", &self.per_second)
            .field("max_wait", &self.max_wait)
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

/// Counts a waiting call for as long as it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl OutboundLimiter {
    /// `None` when the rate or the burst is 0 (settings problems report that).
    pub fn new(rate: OutboundRate) -> Option<OutboundLimiter> {
        let quota = Quota::per_second(NonZeroU32::new(rate.per_second)?)
            .allow_burst(NonZeroU32::new(rate.burst)?);
        Some(OutboundLimiter {
            limiter: RateLimiter::direct(quota),
            per_second: rate.per_second,
            burst: rate.burst,
            max_wait: Duration::from_millis(rate.max_wait_ms),
            waiting: AtomicUsize::new(0),
            paused_until: Mutex::new(None),
        })
    }

    fn pause_left(&self) -> Duration {
        self.paused_until
            .lock()
            .ok()
            .and_then(|p| *p)
            .map_or(Duration::ZERO, |until| {
                until.saturating_duration_since(Instant::now())
            })
    }

    /// The configured rate, the calls waiting now, and any pause the vendor asked for.
    pub fn status(&self) -> LimiterStatus {
        let pause = self.pause_left();
        LimiterStatus {
            rate_per_second: self.per_second,
            burst: self.burst,
            max_wait_ms: u64::try_from(self.max_wait.as_millis()).unwrap_or(u64::MAX),
            waiting: self.waiting.load(Ordering::Acquire) as u64,
            paused_until: (!pause.is_zero()).then(|| time::OffsetDateTime::now_utc() + pause),
        }
    }

    /// Holds every call for `wait` (a vendor's `Retry-After` on a 429).
    pub fn pause(&self, wait: Duration) {
        if let Ok(mut paused) = self.paused_until.lock() {
            let until = Instant::now() + wait;
            if paused.is_none_or(|p| p < until) {
                *paused = Some(until);
            }
        }
    }

    /// Waits for this call's turn, or refuses it when the wait would be too long.
    pub async fn acquire(&self, vendor: &str, call: &str) -> Result<(), ConnectorError> {
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        let pause = self.pause_left();
        let queue = Duration::from_secs_f64(ahead as f64 / f64::from(self.per_second));
        let estimate = pause + queue;
        let refuse = |estimate: Duration| ConnectorError::Unavailable {
            reason: format!(
                "{vendor} {call}: more calls are waiting for the vendor than its rate limit lets through in time"
            ),
            retry_after: Some(Duration::from_secs(estimate.as_secs().max(1))),
        };
        if estimate > self.max_wait {
            return Err(refuse(estimate));
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let left = self.max_wait.saturating_sub(pause);
        tokio::time::timeout(left, self.limiter.until_ready())
            .await
            .map_err(|_| refuse(self.max_wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32, max_wait_ms: u64) -> OutboundLimiter {
        OutboundLimiter::new(OutboundRate {
            per_second,
            burst,
            max_wait_ms,
        })
        .expect("valid")
    }

    #[tokio::test]
    async fn calls_wait_their_turn_within_the_bound() {
        let limits = limiter(20, 1, 1_000);
        let started = Instant::now();
        for _ in 0..5 {
            limits.acquire("v", "c").await.expect("within the bound");
        }
        // One at once, then one every 50 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(190),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_queue_longer_than_the_bound_is_refused_with_retry_after() {
        let limits = std::sync::Arc::new(limiter(2, 1, 600));
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let limits = limits.clone();
                tokio::spawn(async move { limits.acquire("v", "c").await })
            })
            .collect();
        let mut refused = 0;
        for call in calls {
            if let Err(ConnectorError::Unavailable { retry_after, .. }) =
                call.await.expect("joined")
            {
                assert!(retry_after.is_some_and(|r| r >= Duration::from_secs(1)));
                refused += 1;
            }
        }
        assert!(
            refused >= 3,
            "at 2/s, 600 ms let at most 3 through: {refused} refused"
        );
    }

    #[tokio::test]
    async fn status_shows_the_queue_and_the_pause() {
        let limits = std::sync::Arc::new(limiter(5, 1, 5_000));
        let idle = limits.status();
        assert_eq!(
            (
                idle.rate_per_second,
                idle.burst,
                idle.max_wait_ms,
                idle.waiting
            ),
            (5, 1, 5_000, 0)
        );
        assert!(idle.paused_until.is_none());
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let limits = limits.clone();
                tokio::spawn(async move { limits.acquire("v", "c").await })
            })
            .collect();
        // One goes at once; the others wait about 200 ms each.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(limits.status().waiting >= 2, "{:?}", limits.status());
        for call in calls {
            call.await.expect("joined").expect("within the bound");
        }
        assert_eq!(limits.status().waiting, 0);
        limits.pause(Duration::from_secs(30));
        let paused = limits.status().paused_until.expect("paused");
        let left = paused - time::OffsetDateTime::now_utc();
        assert!(
            left > time::Duration::seconds(28) && left <= time::Duration::seconds(30),
            "{left}"
        );
    }

    #[tokio::test]
    async fn a_vendor_pause_holds_every_call() {
        let limits = limiter(100, 10, 2_000);
        limits.pause(Duration::from_millis(300));
        let started = Instant::now();
        limits.acquire("v", "c").await.expect("after the pause");
        assert!(started.elapsed() >= Duration::from_millis(290));
        limits.pause(Duration::from_secs(5));
        assert!(matches!(
            limits.acquire("v", "c").await,
            Err(ConnectorError::Unavailable { retry_after: Some(r), .. }) if r >= Duration::from_secs(4)
        ));
    }
}
