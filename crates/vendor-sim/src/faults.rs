//! Deterministic fault injection: rules matched per route, drawn from a seeded RNG so that a
//! test that sets the same seed sees the same sequence of faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a matched rule does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Wait this long, then serve the request normally.
    Latency(Duration),
    /// Answer with this status (typically 500/502/503) and an empty body, without touching state.
    Status(u16),
    /// Answer 429 with `Retry-After: secs`, without touching state.
    TooManyRequests { retry_after_secs: u64 },
    /// Send the response head, then abort the connection mid-body (the client sees a broken
    /// connection, not an HTTP answer). State is not touched.
    Drop,
    /// Never answer within this time (the client's timeout fires first).
    Hang(Duration),
    /// Serve the request (state changes as usual), then abort the connection mid-body: the
    /// client cannot know that the vendor did what it asked.
    DropAfter,
}

/// Which requests a rule applies to. `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteMatch {
    /// HTTP method, e.g. `"PUT"` (compared case-insensitively).
    pub method: Option<String>,
    /// Path prefix, e.g. `"/api/v0/users"`.
    pub path_prefix: Option<String>,
}

impl RouteMatch {
    pub fn any() -> Self {
        Self::default()
    }

    pub fn new(method: &str, path_prefix: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_prefix: Some(path_prefix.to_owned()),
        }
    }

    pub fn path(path_prefix: &str) -> Self {
        Self {
            method: None,
            path_prefix: Some(path_prefix.to_owned()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// One fault rule: on a matching request, with probability `rate` (0.0..=1.0), apply `fault`.
/// `remaining` limits how many times it fires (None = unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub route: RouteMatch,
    pub fault: Fault,
    pub rate: f64,
    pub remaining: Option<u32>,
}

impl FaultRule {
    /// A rule that fires on every matching request.
    pub fn always(route: RouteMatch, fault: Fault) -> Self {
        Self {
            route,
            fault,
            rate: 1.0,
            remaining: None,
        }
    }

    /// A rule that fires on a fraction of matching requests.
    pub fn rate(route: RouteMatch, fault: Fault, rate: f64) -> Self {
        Self {
            route,
            fault,
            rate,
            remaining: None,
        }
    }

    /// Limit the rule to the next `n` times it fires.
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }
}

struct Plan {
    rules: Vec<FaultRule>,
    rng: StdRng,
}

/// A simulator's fault plan, shared between the test (which edits it) and the server.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<Plan>>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Faults {
    /// An empty plan whose random draws are seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Plan {
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
            })),
        }
    }

    /// Replace all rules and reseed.
    pub fn set(&self, seed: u64, rules: Vec<FaultRule>) {
        let mut plan = self.lock();
        plan.rules = rules;
        plan.rng = StdRng::seed_from_u64(seed);
    }

    /// Add one rule to the plan.
    pub fn push(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// The faults to apply to this request, in rule order (latency rules combine with the
    /// first terminal fault).
    pub fn draw(&self, method: &str, path: &str) -> Vec<Fault> {
        let mut plan = self.lock();
        let Plan { rules, rng } = &mut *plan;
        let mut out = Vec::new();
        for rule in rules.iter_mut() {
            if rule.remaining == Some(0) || !rule.route.matches(method, path) {
                continue;
            }
            if rule.rate < 1.0 && !rng.random_bool(rule.rate.clamp(0.0, 1.0)) {
                continue;
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            let terminal = !matches!(rule.fault, Fault::Latency(_));
            out.push(rule.fault.clone());
            if terminal {
                break;
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        // A panic while holding the lock cannot leave the plan half-written, so poisoning is moot.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let run = || {
            let f = Faults::new(7);
            f.push(FaultRule::rate(RouteMatch::any(), Fault::Status(503), 0.5));
            (0..64)
                .map(|_| !f.draw("GET", "/x").is_empty())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }

    #[test]
    fn route_and_times_limit_rules() {
        let f = Faults::new(1);
        f.push(
            FaultRule::always(RouteMatch::new("put", "/api/v0/users"), Fault::Status(500)).times(2),
        );
        assert!(f.draw("GET", "/api/v0/users").is_empty());
        assert_eq!(f.draw("PUT", "/api/v0/users/a"), vec![Fault::Status(500)]);
        assert_eq!(f.draw("PUT", "/api/v0/users/a"), vec![Fault::Status(500)]);
        assert!(f.draw("PUT", "/api/v0/users/a").is_empty());
    }

    #[test]
    fn latency_combines_with_a_terminal_fault() {
        let f = Faults::new(1);
        f.push(FaultRule::always(
            RouteMatch::any(),
            Fault::Latency(Duration::from_millis(5)),
        ));
        f.push(FaultRule::always(
            RouteMatch::any(),
            Fault::TooManyRequests {
                retry_after_secs: 2,
            },
        ));
        f.push(FaultRule::always(RouteMatch::any(), Fault::Status(500)));
        assert_eq!(
            f.draw("GET", "/"),
            vec![
                Fault::Latency(Duration::from_millis(5)),
                Fault::TooManyRequests {
                    retry_after_secs: 2
                }
            ]
        );
    }
}
