//! What HTTP Basic costs, bounded. Each Argon2id verification takes tens of milliseconds of CPU
//! and 19 MiB of memory by design, and anyone can send a Basic header: unguarded, a flood of
//! bad logins took the process past 1.6 GB and every valid request's latency with it. So:
//!
//! * credentials verified lately are remembered ([`Verified`]): a valid client pays the hash
//!   once, not on every request, and an attacker's flood does not slow it;
//! * failed attempts, or rather every attempt that must be hashed, are throttled per source
//!   address and per username (429 with `Retry-After`), with governor's GCRA;
//! * at most one verification per core runs at once; a request that cannot start one within
//!   a while (two seconds) gets 503 with `Retry-After`, so memory stays bounded whatever the flood.
//!
//! The throttles and the permits are shared by every connector of the process (they bound its
//! CPU and memory); the remembered credentials are each connector's own.

use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::error::AuthError;

/// How long a request waits for a hashing permit before it is told to come back.
pub const HASHING_WAIT: Duration = Duration::from_secs(2);
/// Hashed attempts one source address, or one username, may make at once after a quiet spell…
const ATTEMPT_BURST: u32 = 10;
/// …and then one more every this long (ten a minute).
const ATTEMPT_PERIOD: Duration = Duration::from_secs(6);
/// Past this many tracked keys, the throttles forget those back at a full burst.
const THROTTLE_KEYS: usize = 10_000;
/// Credentials remembered per connector, and for how long.
const VERIFIED_ENTRIES: u64 = 1_024;
const VERIFIED_IDLE: Duration = Duration::from_secs(5 * 60);
const VERIFIED_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The throttles and hashing permits of the process.
#[derive(Debug)]
pub struct BasicGuard {
    hashing: Semaphore,
    /// How long a request waits for a permit.
    wait: Duration,
    by_source: DefaultKeyedRateLimiter<IpAddr>,
    /// Keyed by a hash of the username: fixed-size keys whatever a client sends.
    by_username: DefaultKeyedRateLimiter<u64>,
    hasher: RandomState,
    clock: DefaultClock,
}

impl Default for BasicGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        BasicGuard::new(cores, HASHING_WAIT)
    }
}

impl BasicGuard {
    /// A guard allowing `permits` verifications at once, each request waiting at most `wait`
    /// for one.
    pub fn new(permits: usize, wait: Duration) -> BasicGuard {
        let quota = Quota::with_period(ATTEMPT_PERIOD)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(ATTEMPT_BURST).unwrap_or(NonZeroU32::MIN));
        BasicGuard {
            hashing: Semaphore::new(permits.max(1)),
            wait,
            by_source: RateLimiter::keyed(quota),
            by_username: RateLimiter::keyed(quota),
            hasher: RandomState::new(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts an attempt that must be hashed against its source and its username; refused
    /// (with when to come back) when either has used up its attempts.
    pub(crate) fn admit(&self, source: Option<IpAddr>, username: &str) -> Result<(), AuthError> {
        if self.by_source.len() > THROTTLE_KEYS || self.by_username.len() > THROTTLE_KEYS {
            self.by_source.retain_recent();
            self.by_username.retain_recent();
        }
        let refused = source
            .and_then(|ip| self.by_source.check_key(&ip).err())
            .or_else(|| {
                let key = self.hasher.hash_one(username);
                self.by_username.check_key(&key).err()
            });
        match refused {
            None => Ok(()),
            Some(not_until) => Err(AuthError::Throttled {
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
        }
    }

    /// A permit to run one verification, waiting for one a while.
    pub(crate) async fn hashing(&self) -> Result<SemaphorePermit<'_>, AuthError> {
        match tokio::time::timeout(self.wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or (never: it is not closed) the semaphore closed.
            _ => Err(AuthError::Busy),
        }
    }
}

/// The Basic credentials one connector verified lately, by a salted SHA-256 of the header's
/// credentials: memory holds no password, and the digests of one process match no other's.
pub(crate) struct Verified {
    salt: [u8; 32],
    usernames: moka::sync::Cache<[u8; 32], String>,
}

impl Verified {
    pub(crate) fn new() -> Verified {
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        Verified {
            salt,
            usernames: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_ENTRIES)
                .time_to_idle(VERIFIED_IDLE)
                .time_to_live(VERIFIED_LIFETIME)
                .build(),
        }
    }

    pub(crate) fn key(&self, encoded: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.salt);
        digest.update(encoded.as_bytes());
        digest.finalize().into()
    }

    /// The username these credentials were verified for, if they were lately.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<String> {
        self.usernames.get(key)
    }

    pub(crate) fn remember(&self, key: [u8; 32], username: String) {
        self.usernames.insert(key, username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_throttled_per_source_and_per_username() {
        let guard = BasicGuard::default();
        let here = Some(IpAddr::from([192, 0, 2, 1]));
        let there = Some(IpAddr::from([192, 0, 2, 2]));
        for i in 0..ATTEMPT_BURST {
            assert_eq!(
                guard.admit(here, &format!("user{i}")),
                Ok(()),
                "attempt {i}"
            );
        }
        // The source has used its burst, whatever the username.
        let Err(AuthError::Throttled { retry_after }) = guard.admit(here, "someone-else") else {
            panic!("the eleventh attempt from one address is throttled");
        };
        assert!(retry_after > Duration::ZERO && retry_after <= ATTEMPT_PERIOD);
        // Another source still may, until one username has used its own burst.
        for _ in 0..ATTEMPT_BURST {
            assert_eq!(guard.admit(None, "okta"), Ok(()));
        }
        assert!(matches!(
            guard.admit(there, "okta"),
            Err(AuthError::Throttled { .. })
        ));
        assert_eq!(guard.admit(there, "entra"), Ok(()));
    }

    #[tokio::test]
    async fn hashing_permits_are_bounded() {
        let guard = BasicGuard::new(1, Duration::from_millis(50));
        let held = guard.hashing().await.expect("the first permit");
        assert_eq!(guard.hashing().await.err(), Some(AuthError::Busy));
        drop(held);
        assert!(guard.hashing().await.is_ok());
    }

    #[test]
    fn verified_credentials_are_kept_by_salted_digest() {
        let verified = Verified::new();
        let key = verified.key("dXNlcjpwYXNz");
        assert_eq!(verified.get(&key), None);
        verified.remember(key, "user".into());
        assert_eq!(verified.get(&key), Some("user".into()));
        assert_ne!(
            key,
            Verified::new().key("dXNlcjpwYXNz"),
            "salted per instance"
        );
        assert_eq!(verified.get(&verified.key("b3RoZXI6cGFzcw==")), None);
    }
}
