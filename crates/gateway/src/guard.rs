//! The deletion guard of a connector (`[connectors.<name>.deletion_guard]`): a mis-scoped
//! assignment in the identity provider can deprovision thousands of accounts in minutes, so
//! more than `max` deletions or deactivations (`active` turned false) within `window_secs`
//! trip it. Further ones are refused with 503 and `Retry-After`, which every identity provider
//! retries later, so nothing diverges: the store and the vendor keep the accounts. An operator
//! sees what was held (admin API) and either allows the next N, or all for some minutes, or
//! resets the guard; until then it stays tripped.
//!
//! The limit is a number (`max`), a share of the connector's users (`max_share`), or both,
//! the larger then: the share scales a guard to a big tenant whose ordinary churn would trip
//! a fixed number, and `max` keeps a small tenant's guard from tripping on its first few. The
//! users are counted in the store at start and then every [`COUNT_EVERY`], off the request
//! path.
//!
//! The guard's state (what was let through within the window, whether it is tripped, the
//! operator's allowance, what it holds) is in the store, decided there in one transaction per
//! removal: replicas on one database share it, and a tripped guard stays tripped across a
//! restart. This module holds the configuration, the limit, and what is logged and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scim::ResourceKind;
use serde::{Deserialize, Serialize};
use store::{Admission, GuardRule, Removal, Store, StoreError};
use time::OffsetDateTime;

use crate::config::Problem;

/// At most this many held removals are listed (the oldest).
const HELD_SHOWN: usize = 1_000;

/// How often a guard with `max_share` counts the connector's users again.
pub const COUNT_EVERY: Duration = Duration::from_secs(60);

/// `[connectors.<name>.deletion_guard]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// Removals allowed within the window; the next one trips the guard.
    #[serde(default)]
    pub max: Option<u32>,
    /// Removals allowed within the window as a share of the connector's users (0.02 is 2 %,
    /// rounded up); with `max` too, the larger of the two.
    #[serde(default)]
    pub max_share: Option<f64>,
    /// The window, in seconds (default ten minutes).
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    /// What refused requests are told to wait before retrying, in seconds.
    #[serde(default = "default_retry_after_secs")]
    pub retry_after_secs: u64,
}

fn default_window_secs() -> u64 {
    600
}

fn default_retry_after_secs() -> u64 {
    300
}

impl GuardConfig {
    /// What is wrong, with keys under `deletion_guard.`.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.max.is_none() && self.max_share.is_none() {
            problems.push(Problem {
                key: "deletion_guard.max".into(),
                problem: "the guard has no limit".into(),
                fix: "give max (removals in the window), max_share (a share of the users, e.g. 0.02), or both"
                    .into(),
            });
        }
        if let Some(share) = self.max_share
            && !(share > 0.0 && share <= 1.0)
        {
            problems.push(Problem {
                key: "deletion_guard.max_share".into(),
                problem: format!("{share} is not a share"),
                fix: "give a number above 0 and at most 1 (0.02 allows 2 % of the users)".into(),
            });
        }
        for (key, value) in [
            ("max", self.max.map_or(1, u64::from)),
            ("window_secs", self.window_secs),
            ("retry_after_secs", self.retry_after_secs),
        ] {
            if value == 0 {
                problems.push(Problem {
                    key: format!("deletion_guard.{key}"),
                    problem: "must be greater than 0".into(),
                    fix: "give a positive number, or remove the table to have no guard".into(),
                });
            }
        }
        problems
    }
}

/// A removal refused while the guard was tripped, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldRemoval {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub resource_type: &'static str,
    pub id: String,
    pub name: Option<String>,
    pub what: String,
    pub request_id: Option<String>,
}

impl From<store::HeldRemoval> for HeldRemoval {
    fn from(held: store::HeldRemoval) -> Self {
        HeldRemoval {
            at: held.at,
            resource_type: held.kind.as_str(),
            id: held.id,
            name: held.name,
            what: held.what,
            request_id: held.request_id,
        }
    }
}

/// Why a removal was refused (503 with `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the deletion guard of connector \"{connector}\" is holding deletions and deactivations: more than {max} came within {window_secs} s. An operator must confirm them (POST /admin/connectors/{connector}/guard/allow) or reset the guard; retry later"
)]
pub struct Held {
    pub connector: String,
    pub max: u64,
    pub window_secs: u64,
    pub retry_after: Duration,
}

/// The guard's state as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardStatus {
    /// Removals allowed within the window now (`max`, or the share of `users`).
    pub max: u64,
    pub max_share: Option<f64>,
    /// The connector's users when last counted (with `max_share` only).
    pub users: Option<u64>,
    pub window_secs: u64,
    /// Removals let through within the window now (by every replica).
    pub in_window: u64,
    /// Since when the guard holds removals; `None` while it lets them through.
    #[serde(with = "time::serde::rfc3339::option")]
    pub tripped_since: Option<OffsetDateTime>,
    /// Removals an operator allowed that are still to come.
    pub allowed_count: u64,
    /// Removals pass until this time (an operator's allowance).
    #[serde(with = "time::serde::rfc3339::option")]
    pub allowed_until: Option<OffsetDateTime>,
    /// Removals held now.
    pub held_total: u64,
    /// The oldest removals held now (at most 1000), oldest first.
    pub held: Vec<HeldRemoval>,
}

/// The deletion guard of one connector: its configuration and the users last counted. Its
/// state is in the store ([`store::Guards`]), shared by every replica on the database and kept
/// across restarts.
#[derive(Debug)]
pub struct DeletionGuard {
    connector: String,
    config: GuardConfig,
    /// The connector's users as last counted (with `max_share`).
    users: AtomicU64,
}

impl DeletionGuard {
    pub fn new(connector: &str, config: GuardConfig) -> DeletionGuard {
        DeletionGuard {
            connector: connector.to_owned(),
            config,
            users: AtomicU64::new(0),
        }
    }

    /// Whether the limit depends on the connector's users ([`DeletionGuard::set_users`]).
    pub fn counts_users(&self) -> bool {
        self.config.max_share.is_some()
    }

    /// The connector's users, as counted now.
    pub fn set_users(&self, users: u64) {
        self.users.store(users, Ordering::Relaxed);
    }

    /// Removals allowed within the window now.
    pub fn limit(&self) -> u64 {
        let by_share = self.config.max_share.map(|share| {
            let users = self.users.load(Ordering::Relaxed) as f64;
            // A saturating cast: a share of at most 1 never exceeds the users anyway.
            ((users * share).ceil() as u64).max(1)
        });
        match (self.config.max.map(u64::from), by_share) {
            (Some(max), Some(share)) => max.max(share),
            (Some(limit), None) | (None, Some(limit)) => limit,
            // check-config refuses a guard without a limit.
            (None, None) => u64::MAX,
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs)
    }

    /// Lets `removal` through, or refuses it while the guard is tripped (`Ok(Err(held))`).
    pub async fn admit(
        &self,
        store: &dyn Store,
        removal: Removal<'_>,
    ) -> Result<Result<(), Held>, StoreError> {
        let limit = self.limit();
        let rule = GuardRule {
            limit,
            window: self.window(),
        };
        let admission = store
            .guard_admit(&self.connector, removal, rule, OffsetDateTime::now_utc())
            .await?;
        if admission == Admission::Pass {
            return Ok(Ok(()));
        }
        if admission == Admission::Tripped {
            metrics::counter!("scim_deletion_guard_trips_total", "connector" => self.connector.clone())
                .increment(1);
            tracing::warn!(
                connector = %self.connector,
                max = limit,
                window_secs = self.config.window_secs,
                "the deletion guard tripped: deletions and deactivations are held until an operator confirms them"
            );
        }
        metrics::counter!("scim_deletion_guard_held_total", "connector" => self.connector.clone())
            .increment(1);
        Ok(Err(Held {
            connector: self.connector.clone(),
            max: limit,
            window_secs: self.config.window_secs,
            retry_after: Duration::from_secs(self.config.retry_after_secs),
        }))
    }

    /// An operator lets the next `count` removals through, or all of them for `minutes`.
    pub async fn allow(
        &self,
        store: &dyn Store,
        count: Option<u32>,
        minutes: Option<u64>,
    ) -> Result<(), StoreError> {
        let until = minutes.map(|minutes| {
            let span = time::Duration::minutes(i64::try_from(minutes).unwrap_or(i64::MAX));
            OffsetDateTime::now_utc().saturating_add(span)
        });
        store
            .guard_allow(&self.connector, count.unwrap_or(0), until)
            .await?;
        metrics::counter!("scim_deletion_guard_releases_total", "connector" => self.connector.clone())
            .increment(1);
        tracing::info!(
            connector = %self.connector,
            count,
            minutes,
            "an operator allowed held deletions and deactivations"
        );
        Ok(())
    }

    /// An operator resets the guard: it counts afresh, forgets what it held, and lets
    /// removals through up to the limit.
    pub async fn reset(&self, store: &dyn Store) -> Result<(), StoreError> {
        store.guard_reset(&self.connector).await?;
        metrics::counter!("scim_deletion_guard_releases_total", "connector" => self.connector.clone())
            .increment(1);
        tracing::info!(connector = %self.connector, "an operator reset the deletion guard");
        Ok(())
    }

    pub async fn status(&self, store: &dyn Store) -> Result<GuardStatus, StoreError> {
        let state = store
            .guard_state(
                &self.connector,
                self.window(),
                OffsetDateTime::now_utc(),
                HELD_SHOWN,
            )
            .await?;
        Ok(GuardStatus {
            max: self.limit(),
            max_share: self.config.max_share,
            users: self
                .counts_users()
                .then(|| self.users.load(Ordering::Relaxed)),
            window_secs: self.config.window_secs,
            in_window: state.in_window,
            tripped_since: state.tripped_since,
            allowed_count: state.allowed_count,
            allowed_until: state.allowed_until,
            held_total: state.held_total,
            held: state.held.into_iter().map(HeldRemoval::from).collect(),
        })
    }
}

/// Counts the users of each connector whose guard has a `max_share` (an O(1) read of the
/// store's counters) and tells its guard. A failed count keeps the last one.
pub async fn count_users<'a>(
    store: &dyn store::Store,
    connectors: impl IntoIterator<Item = &'a crate::state::ConnectorRuntime>,
) {
    for runtime in connectors {
        let Some(guard) = runtime.deletion_guard.as_ref().filter(|g| g.counts_users()) else {
            continue;
        };
        let Some(schema) = runtime.schema(ResourceKind::User) else {
            continue;
        };
        let query = store::ListQuery {
            filter: None,
            schema,
            sort: None,
            offset: 0,
            limit: 0,
        };
        match store.list(&runtime.name, ResourceKind::User, query).await {
            Ok(page) => guard.set_users(page.total as u64),
            Err(e) => tracing::warn!(
                connector = %runtime.name,
                error = %e,
                "the deletion guard could not count the connector's users; it keeps the last count"
            ),
        }
    }
}

/// Counts the users again every [`COUNT_EVERY`], for as long as the server runs.
pub async fn keep_counting(state: actix_web::web::Data<crate::state::AppState>) {
    let mut every = tokio::time::interval(COUNT_EVERY);
    // The first tick is now, and the start counted already.
    every.tick().await;
    loop {
        every.tick().await;
        count_users(
            state.store.as_ref(),
            state.connectors.values().map(AsRef::as_ref),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(id: &str) -> Removal<'_> {
        Removal {
            kind: ResourceKind::User,
            id,
            name: Some("someone"),
            what: "delete",
            request_id: None,
        }
    }

    fn guard(max: Option<u32>, max_share: Option<f64>) -> DeletionGuard {
        DeletionGuard::new(
            "c",
            GuardConfig {
                max,
                max_share,
                window_secs: 600,
                retry_after_secs: 60,
            },
        )
    }

    /// The decisions themselves are the store's (and tested there); here, what the gateway
    /// makes of them: the refusal's wait and words, the status it shows.
    #[tokio::test]
    async fn a_refusal_says_what_to_do_and_the_status_shows_what_is_held() {
        let store = store::SqliteStore::temporary().await.expect("store");
        let guard = guard(Some(2), None);
        let mut refusals = Vec::new();
        for id in ["u0", "u1", "u2", "u3"] {
            if let Err(held) = guard.admit(&store, removal(id)).await.expect("admit") {
                refusals.push(held);
            }
        }
        assert_eq!(refusals.len(), 2);
        let held = &refusals[0];
        assert_eq!(held.retry_after, Duration::from_secs(60));
        assert_eq!((held.max, held.window_secs), (2, 600));
        assert!(held.to_string().contains("guard/allow"), "{held}");

        let status = guard.status(&store).await.expect("status");
        assert!(status.tripped_since.is_some());
        assert_eq!((status.in_window, status.held_total), (2, 2));
        let listed: Vec<(&str, &str)> = status
            .held
            .iter()
            .map(|h| (h.resource_type, h.id.as_str()))
            .collect();
        assert_eq!(listed, [("User", "u2"), ("User", "u3")]);
        let json = serde_json::to_value(&status).expect("json");
        assert_eq!(json["held"][0]["resourceType"], "User");
        assert_eq!(json["heldTotal"], 2);

        guard.allow(&store, None, Some(5)).await.expect("allow");
        assert!(
            guard
                .status(&store)
                .await
                .expect("status")
                .allowed_until
                .is_some()
        );
        assert_eq!(
            guard.admit(&store, removal("u2")).await.expect("admit"),
            Ok(())
        );
        guard.reset(&store).await.expect("reset");
        let fresh = guard.status(&store).await.expect("status");
        assert!(fresh.tripped_since.is_none() && fresh.held.is_empty());
        assert_eq!(fresh.in_window, 0);
        store::Maintenance::close(&store).await;
    }

    #[test]
    fn a_share_of_the_users_scales_the_limit_with_max_as_its_floor() {
        let only_share = guard(None, Some(0.02));
        // Not counted yet, or an empty connector: one removal passes.
        assert_eq!(only_share.limit(), 1);
        only_share.set_users(10_000);
        assert_eq!(only_share.limit(), 200);
        only_share.set_users(101);
        assert_eq!(only_share.limit(), 3, "2 % of 101, rounded up");

        let both = guard(Some(50), Some(0.02));
        both.set_users(1_000);
        assert_eq!(both.limit(), 50, "max is the floor");
        both.set_users(100_000);
        assert_eq!(both.limit(), 2_000, "the share scales past it");
        assert_eq!(guard(Some(50), None).limit(), 50);
    }

    #[test]
    fn a_zero_is_a_problem() {
        let config = GuardConfig {
            max: Some(0),
            max_share: None,
            window_secs: 0,
            retry_after_secs: 1,
        };
        let keys: Vec<String> = config.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["deletion_guard.max", "deletion_guard.window_secs"]);
        let keys = |max, max_share| {
            GuardConfig {
                max,
                max_share,
                window_secs: 600,
                retry_after_secs: 60,
            }
            .problems()
            .into_iter()
            .map(|p| p.key)
            .collect::<Vec<_>>()
        };
        assert_eq!(keys(None, None), ["deletion_guard.max"]);
        assert_eq!(keys(None, Some(1.5)), ["deletion_guard.max_share"]);
        assert_eq!(keys(None, Some(0.0)), ["deletion_guard.max_share"]);
        assert!(keys(None, Some(0.05)).is_empty());
    }
}
