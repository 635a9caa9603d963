//! Inbound rate limits, per connector: one quota for each client credential (the authenticated
//! subject) and one for the connector as a whole, each a rate and a burst (governor's GCRA).
//! A client over its quota is refused before it uses the connector's, so one noisy client
//! cannot starve the others; connectors have separate quotas, so it cannot starve another
//! connector either. Limits are per gateway process (see the README on several replicas).

use std::num::NonZeroU32;
use std::time::Duration;

use connector::Problem;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// A rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests that may come at once after a quiet spell.
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Option<Quota> {
        Some(
            Quota::per_second(NonZeroU32::new(self.per_second)?)
                .allow_burst(NonZeroU32::new(self.burst)?),
        )
    }
}

/// `[connectors.<name>.rate_limit]`; no limit where a key is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// For each client credential.
    pub per_client: Option<Rate>,
    /// For the connector, all clients together.
    pub per_connector: Option<Rate>,
}

impl RateLimitConfig {
    /// What is wrong with it, as (key, problem).
    pub fn problems(&self) -> Vec<Problem> {
        [
            ("per_client", self.per_client),
            ("per_connector", self.per_connector),
        ]
        .into_iter()
        .filter_map(|(key, rate)| {
            let rate = rate?;
            rate.quota().is_none().then(|| {
                Problem::new(
                    key,
                    "per_second and burst must both be at least 1",
                    "give a rate and a burst of at least 1, or remove the key for no limit",
                )
            })
        })
        .collect()
    }
}

/// Which quota refused a request, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Client { retry_after: Duration },
    Connector { retry_after: Duration },
}

/// The live quotas of one connector.
#[derive(Debug)]
pub struct InboundLimits {
    /// As configured, for the admin API.
    config: RateLimitConfig,
    per_client: Option<DefaultKeyedRateLimiter<String>>,
    per_connector: Option<DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl InboundLimits {
    pub fn new(config: &RateLimitConfig) -> InboundLimits {
        InboundLimits {
            config: *config,
            per_client: config
                .per_client
                .and_then(Rate::quota)
                .map(RateLimiter::keyed),
            per_connector: config
                .per_connector
                .and_then(Rate::quota)
                .map(RateLimiter::direct),
            clock: DefaultClock::default(),
        }
    }

    /// The quotas as configured (per replica), for the admin API.
    pub fn describe(&self) -> serde_json::Value {
        let rate = |rate: Option<Rate>| {
            rate.map(|r| serde_json::json!({"perSecond": r.per_second, "burst": r.burst}))
        };
        serde_json::json!({
            "perClient": rate(self.config.per_client),
            "perConnector": rate(self.config.per_connector),
        })
    }

    /// Takes one request from `client`'s quota, then from the connector's.
    pub fn check(&self, client: &str) -> Result<(), Limited> {
        if let Some(limiter) = &self.per_client {
            // Credentials are configured, so the keys are few; drop idle ones now and then.
            if limiter.len() > 1024 {
                limiter.retain_recent();
            }
            if let Err(not_until) = limiter.check_key(&client.to_owned()) {
                return Err(Limited::Client {
                    retry_after: not_until.wait_time_from(self.clock.now()),
                });
            }
        }
        if let Some(limiter) = &self.per_connector
            && let Err(not_until) = limiter.check()
        {
            return Err(Limited::Connector {
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noisy_client_is_refused_before_it_uses_the_connectors_quota() {
        let limits = InboundLimits::new(&RateLimitConfig {
            per_client: Some(Rate {
                per_second: 1,
                burst: 2,
            }),
            per_connector: Some(Rate {
                per_second: 1,
                burst: 3,
            }),
        });
        assert_eq!(limits.check("noisy"), Ok(()));
        assert_eq!(limits.check("noisy"), Ok(()));
        let Err(Limited::Client { retry_after }) = limits.check("noisy") else {
            panic!("the client's burst is spent")
        };
        assert!(retry_after <= Duration::from_secs(1));
        // The refused requests took nothing from the connector: one more client fits.
        assert_eq!(limits.check("quiet"), Ok(()));
        assert!(matches!(
            limits.check("third"),
            Err(Limited::Connector { .. })
        ));
    }

    #[test]
    fn zero_is_a_problem_and_absent_is_no_limit() {
        let config = RateLimitConfig {
            per_client: Some(Rate {
                per_second: 0,
                burst: 5,
            }),
            per_connector: None,
        };
        assert_eq!(config.problems().len(), 1);
        let none = InboundLimits::new(&RateLimitConfig::default());
        for _ in 0..10_000 {
            assert_eq!(none.check("any"), Ok(()));
        }
    }
}
