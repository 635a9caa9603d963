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
//! The count is per process: with several replicas, each counts the removals it serves.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scim::ResourceKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Problem;

/// At most this many held operations are listed (the oldest go first).
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

/// A removal the guard is asked about.
#[derive(Debug, Clone)]
pub struct Removal<'a> {
    pub kind: ResourceKind,
    pub id: &'a str,
    /// The `userName` or `displayName`, for the operator.
    pub name: Option<&'a str>,
    /// `delete` or `deactivate`.
    pub what: &'static str,
    pub request_id: Option<&'a str>,
}

/// A removal refused while the guard was tripped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldRemoval {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub resource_type: &'static str,
    pub id: String,
    pub name: Option<String>,
    pub what: &'static str,
    pub request_id: Option<String>,
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
    /// Removals let through within the window now.
    pub in_window: usize,
    /// Since when the guard holds removals; `None` while it lets them through.
    #[serde(with = "time::serde::rfc3339::option")]
    pub tripped_since: Option<OffsetDateTime>,
    /// Removals an operator allowed that are still to come.
    pub allowed_count: u32,
    /// Removals pass until this time (an operator's allowance).
    #[serde(with = "time::serde::rfc3339::option")]
    pub allowed_until: Option<OffsetDateTime>,
    /// Removals refused since the guard tripped, oldest first (at most 1000).
    pub held: Vec<HeldRemoval>,
}

#[derive(Debug, Default)]
struct State {
    /// When the removals within the window passed.
    recent: VecDeque<Instant>,
    tripped_since: Option<OffsetDateTime>,
    allowed_count: u32,
    allowed_until: Option<(Instant, OffsetDateTime)>,
    held: VecDeque<HeldRemoval>,
}

/// The deletion guard of one connector.
#[derive(Debug)]
pub struct DeletionGuard {
    connector: String,
    config: GuardConfig,
    /// The connector's users as last counted (with `max_share`).
    users: AtomicU64,
    state: Mutex<State>,
}

impl DeletionGuard {
    pub fn new(connector: &str, config: GuardConfig) -> DeletionGuard {
        DeletionGuard {
            connector: connector.to_owned(),
            config,
            users: AtomicU64::new(0),
            state: Mutex::new(State::default()),
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while the lock is held: a poisoned lock holds whole state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets `removal` through, or refuses it while the guard is tripped.
    pub fn admit(&self, removal: &Removal<'_>) -> Result<(), Held> {
        let now = Instant::now();
        let window = Duration::from_secs(self.config.window_secs);
        let mut state = self.state();
        while state
            .recent
            .front()
            .is_some_and(|&at| now.duration_since(at) > window)
        {
            state.recent.pop_front();
        }
        let limit = self.limit();
        let pass = if state.tripped_since.is_none() {
            if (state.recent.len() as u64) < limit {
                true
            } else {
                state.tripped_since = Some(OffsetDateTime::now_utc());
                metrics::counter!("scim_deletion_guard_trips_total", "connector" => self.connector.clone())
                    .increment(1);
                tracing::warn!(
                    connector = %self.connector,
                    max = limit,
                    window_secs = self.config.window_secs,
                    "the deletion guard tripped: deletions and deactivations are held until an operator confirms them"
                );
                false
            }
        } else if state.allowed_until.is_some_and(|(until, _)| now < until) {
            true
        } else if state.allowed_count > 0 {
            state.allowed_count -= 1;
            true
        } else {
            false
        };
        if pass {
            state.recent.push_back(now);
            // A held removal retried and let through is no longer held.
            state
                .held
                .retain(|h| !(h.id == removal.id && h.resource_type == removal.kind.as_str()));
            return Ok(());
        }
        metrics::counter!("scim_deletion_guard_held_total", "connector" => self.connector.clone())
            .increment(1);
        if !state
            .held
            .iter()
            .any(|h| h.id == removal.id && h.resource_type == removal.kind.as_str())
        {
            if state.held.len() == HELD_SHOWN {
                state.held.pop_front();
            }
            state.held.push_back(HeldRemoval {
                at: OffsetDateTime::now_utc(),
                resource_type: removal.kind.as_str(),
                id: removal.id.to_owned(),
                name: removal.name.map(str::to_owned),
                what: removal.what,
                request_id: removal.request_id.map(str::to_owned),
            });
        }
        Err(Held {
            connector: self.connector.clone(),
            max: limit,
            window_secs: self.config.window_secs,
            retry_after: Duration::from_secs(self.config.retry_after_secs),
        })
    }

    /// An operator lets the next `count` removals through, or all of them for `minutes`.
    pub fn allow(&self, count: Option<u32>, minutes: Option<u64>) {
        let mut state = self.state();
        if let Some(count) = count {
            state.allowed_count = state.allowed_count.saturating_add(count);
        }
        if let Some(minutes) = minutes {
            let span = Duration::from_secs(minutes.saturating_mul(60));
            state.allowed_until = Some((Instant::now() + span, OffsetDateTime::now_utc() + span));
        }
        metrics::counter!("scim_deletion_guard_releases_total", "connector" => self.connector.clone())
            .increment(1);
        tracing::info!(
            connector = %self.connector,
            count,
            minutes,
            held = state.held.len(),
            "an operator allowed held deletions and deactivations"
        );
    }

    /// An operator resets the guard: it counts afresh and lets removals through up to `max`.
    pub fn reset(&self) {
        let mut state = self.state();
        *state = State::default();
        metrics::counter!("scim_deletion_guard_releases_total", "connector" => self.connector.clone())
            .increment(1);
        tracing::info!(connector = %self.connector, "an operator reset the deletion guard");
    }

    pub fn status(&self) -> GuardStatus {
        let now = Instant::now();
        let window = Duration::from_secs(self.config.window_secs);
        let state = self.state();
        GuardStatus {
            max: self.limit(),
            max_share: self.config.max_share,
            users: self
                .counts_users()
                .then(|| self.users.load(Ordering::Relaxed)),
            window_secs: self.config.window_secs,
            in_window: state
                .recent
                .iter()
                .filter(|&&at| now.duration_since(at) <= window)
                .count(),
            tripped_since: state.tripped_since,
            allowed_count: state.allowed_count,
            allowed_until: state
                .allowed_until
                .filter(|(until, _)| now < *until)
                .map(|(_, at)| at),
            held: state.held.iter().cloned().collect(),
        }
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

    fn guard(max: u32) -> DeletionGuard {
        DeletionGuard::new(
            "c",
            GuardConfig {
                max: Some(max),
                max_share: None,
                window_secs: 600,
                retry_after_secs: 60,
            },
        )
    }

    #[test]
    fn trips_past_max_and_holds_until_allowed() {
        let guard = guard(3);
        let ids: Vec<String> = (0..6).map(|i| format!("u{i}")).collect();
        let passed = ids
            .iter()
            .filter(|id| guard.admit(&removal(id)).is_ok())
            .count();
        assert_eq!(passed, 3);
        let status = guard.status();
        assert!(status.tripped_since.is_some());
        assert_eq!(status.held.len(), 3);
        // A retry of a held one is held again, listed once.
        assert!(guard.admit(&removal("u4")).is_err());
        assert_eq!(guard.status().held.len(), 3);

        guard.allow(Some(2), None);
        assert!(guard.admit(&removal("u3")).is_ok());
        assert!(guard.admit(&removal("u4")).is_ok());
        let held = guard
            .admit(&removal("u5"))
            .expect_err("the allowance is used up");
        assert_eq!(held.retry_after, Duration::from_secs(60));
        assert!(held.to_string().contains("guard/allow"), "{held}");
        assert_eq!(
            guard
                .status()
                .held
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>(),
            ["u5"]
        );

        guard.allow(None, Some(5));
        assert!(guard.admit(&removal("u5")).is_ok());
        assert!(guard.status().allowed_until.is_some());
        guard.reset();
        let fresh = guard.status();
        assert!(fresh.tripped_since.is_none() && fresh.held.is_empty());
        assert_eq!(fresh.in_window, 0);
    }

    #[test]
    fn a_share_of_the_users_scales_the_limit_with_max_as_its_floor() {
        let share = |max: Option<u32>| {
            DeletionGuard::new(
                "c",
                GuardConfig {
                    max,
                    max_share: Some(0.02),
                    window_secs: 600,
                    retry_after_secs: 60,
                },
            )
        };
        let only_share = share(None);
        // Not counted yet, or an empty connector: one removal passes.
        assert_eq!(only_share.limit(), 1);
        only_share.set_users(10_000);
        assert_eq!(only_share.limit(), 200);
        only_share.set_users(101);
        assert_eq!(only_share.limit(), 3, "2 % of 101, rounded up");
        let passed = (0..5)
            .filter(|i| only_share.admit(&removal(&format!("u{i}"))).is_ok())
            .count();
        assert_eq!(passed, 3);
        let status = only_share.status();
        assert_eq!((status.max, status.users), (3, Some(101)));

        let both = share(Some(50));
        both.set_users(1_000);
        assert_eq!(both.limit(), 50, "max is the floor");
        both.set_users(100_000);
        assert_eq!(both.limit(), 2_000, "the share scales past it");
        assert_eq!(guard(50).status().users, None);
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
