//! Running a scenario: one pooled HTTP client, `concurrency` worker tasks sending back to back,
//! a warm-up that is not measured, then a duration or a request count that is.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::report::{Latencies, Report};
use crate::scenario::{self, FreshNames, RequestSpec, Scenario};

/// Users per `/Bulk` request when seeding with `--bulk`.
pub const SEED_BULK_SIZE: u64 = 1000;

/// Ids asked for per page while learning them.
const ID_PAGE: u64 = 1000;

const SCIM_JSON: &str = "application/scim+json";

/// Everything a run needs; the token is kept out of `Debug`.
#[derive(Clone)]
pub struct BenchConfig {
    /// The SCIM base URL, e.g. `http://127.0.0.1:8080/scim/v2/test`.
    pub base_url: String,
    /// The bearer token sent on every request.
    pub token: String,
    /// What [`run_scenario`] runs.
    pub scenario: Scenario,
    /// Worker tasks, each with one request in flight; also the connection pool's size.
    pub concurrency: usize,
    /// How long to measure (ignored by `seed` and when `requests` is set).
    pub duration: Duration,
    /// Measure this many operations instead of a duration.
    pub requests: Option<u64>,
    /// Load sent before measuring starts (not for `seed`).
    pub warmup: Duration,
    /// Users seeded, and the range random users are drawn from.
    pub users: u64,
    /// Seed of the random choices, so two runs ask for the same users.
    pub seed: u64,
    /// Seed through `/Bulk` ([`SEED_BULK_SIZE`] users per request) instead of `/Users`.
    pub bulk: bool,
    /// Creates per request in the `bulk` scenario.
    pub bulk_size: u64,
    /// In `create`, look the new userName up first (Entra's match) and time both.
    pub match_first: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Members the groups scenario grows its group to.
    pub group_size: u64,
    /// Times the groups scenario repeats each operation at full size.
    pub group_ops: u64,
    /// The server's SQLite file, whose size (with `-wal`, `-shm`) the groups scenario reports.
    pub store_path: Option<PathBuf>,
    /// The server's process, whose resident memory the groups scenario reports.
    pub pid: Option<u32>,
    /// The groups scenario leaves its group in the server (to inspect the store afterwards).
    pub keep_group: bool,
}

impl BenchConfig {
    /// The defaults of the command line, for this server and token.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>, scenario: Scenario) -> Self {
        BenchConfig {
            base_url: base_url.into(),
            token: token.into(),
            scenario,
            concurrency: 32,
            duration: Duration::from_secs(10),
            requests: None,
            warmup: Duration::from_secs(2),
            users: 100_000,
            seed: 42,
            bulk: false,
            bulk_size: 100,
            match_first: true,
            timeout: Duration::from_secs(30),
            group_size: 100_000,
            group_ops: 200,
            store_path: None,
            pid: None,
            keep_group: false,
        }
    }
}

impl fmt::Debug for BenchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BenchConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("scenario", &self.scenario)
            .field("concurrency", &self.concurrency)
            .field("duration", &self.duration)
            .field("requests", &self.requests)
            .field("warmup", &self.warmup)
            .field("users", &self.users)
            .field("seed", &self.seed)
            .field("bulk", &self.bulk)
            .field("bulk_size", &self.bulk_size)
            .field("match_first", &self.match_first)
            .field("timeout", &self.timeout)
            .field("group_size", &self.group_size)
            .field("group_ops", &self.group_ops)
            .field("store_path", &self.store_path)
            .field("pid", &self.pid)
            .finish()
    }
}

/// Why a run could not start or finish (failed requests are counted, not raised).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid base URL {0:?}")]
    BaseUrl(String),
    #[error("the token cannot be sent in an HTTP header")]
    Token,
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
    #[error("latency histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    #[error("learning user ids: {0}")]
    LearnIds(String),
    #[error("the server lists no users: run the seed scenario first")]
    NoUsers,
    #[error("a worker task failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    #[error("{0} is not a load scenario (Bench::groups runs it)")]
    NotLoad(Scenario),
    #[error("the reference server could not start: {0}")]
    Reference(#[source] std::io::Error),
}

/// A client for one server: scenarios run through it share the connection pool and the
/// user ids learnt once for `get` and `patch`.
#[derive(Clone)]
pub struct Bench {
    inner: Arc<Inner>,
}

struct Inner {
    config: BenchConfig,
    client: reqwest::Client,
    base: String,
    auth: HeaderValue,
    ids: OnceCell<Arc<Vec<String>>>,
    /// Every userName the create and bulk scenarios of this bench create.
    fresh: FreshNames,
}

/// Runs `config.scenario` once against `config.base_url`.
pub async fn run_scenario(config: &BenchConfig) -> Result<Report, BenchError> {
    Bench::new(config.clone())?.run(config.scenario).await
}

impl Bench {
    /// Builds the client; sends nothing yet.
    pub fn new(config: BenchConfig) -> Result<Bench, BenchError> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => return Err(BenchError::BaseUrl(config.base_url.clone())),
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token))
            .map_err(|_| BenchError::Token)?;
        auth.set_sensitive(true);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(config.concurrency.max(1))
            .timeout(config.timeout)
            .build()
            .map_err(BenchError::Client)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Ok(Bench {
            inner: Arc::new(Inner {
                config,
                client,
                base,
                auth,
                ids: OnceCell::new(),
                fresh: FreshNames::new(format!("{nanos:x}-{}", std::process::id())),
            }),
        })
    }

    /// Runs `scenario` with this bench's settings (its `scenario` field is not consulted).
    pub async fn run(&self, scenario: Scenario) -> Result<Report, BenchError> {
        if !scenario.is_load() {
            return Err(BenchError::NotLoad(scenario));
        }
        let ids = if scenario.needs_ids() {
            self.ids().await?
        } else {
            Arc::new(Vec::new())
        };
        let config = &self.inner.config;
        let concurrency = config.concurrency.max(1);
        let now = Instant::now();
        let plan = if scenario == Scenario::Seed {
            let per_item = if config.bulk { SEED_BULK_SIZE } else { 1 };
            Plan {
                measure_start: now,
                end: None,
                limit: Some(config.users.div_ceil(per_item)),
                claimed: AtomicU64::new(0),
            }
        } else {
            let measure_start = now + config.warmup;
            Plan {
                measure_start,
                end: match config.requests {
                    Some(_) => None,
                    None => Some(measure_start + config.duration),
                },
                limit: config.requests,
                claimed: AtomicU64::new(0),
            }
        };
        let plan = Arc::new(plan);
        let mut tasks = Vec::with_capacity(concurrency);
        for worker in 0..concurrency {
            let tally = Tally::new()?;
            let bench = self.clone();
            let plan = plan.clone();
            let ids = ids.clone();
            tasks.push(tokio::spawn(async move {
                bench.worker(scenario, worker, &plan, &ids, tally).await
            }));
        }
        let mut total = Tally::new()?;
        for task in tasks {
            total.merge(task.await?);
        }
        let elapsed = total
            .last_done
            .map(|t| t.saturating_duration_since(plan.measure_start))
            .unwrap_or_default();
        Ok(Report {
            scenario,
            concurrency,
            elapsed,
            requests: total.requests,
            ok: total.ok,
            resources: total.resources,
            latency: total.latencies.summary(),
            match_latency: (scenario == Scenario::Create && config.match_first)
                .then(|| total.match_latencies.summary()),
            errors: total.errors,
            throttled: total.throttled,
            reference: false,
            ratio_to_reference: None,
        })
    }

    /// The ids of up to `users` users, paged from `GET /Users?attributes=id` once.
    pub async fn ids(&self) -> Result<Arc<Vec<String>>, BenchError> {
        self.inner
            .ids
            .get_or_try_init(|| self.learn_ids(self.inner.config.users))
            .await
            .cloned()
    }

    /// The settings this bench was built with.
    pub fn config(&self) -> &BenchConfig {
        &self.inner.config
    }

    /// Text unique to this bench (its start time and process), for naming what it creates.
    pub fn run_tag(&self) -> &str {
        self.inner.fresh.run()
    }

    /// The ids of up to `want` users, paged from `GET /Users?attributes=id` (not cached).
    pub(crate) async fn learn_ids(&self, want: u64) -> Result<Arc<Vec<String>>, BenchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            total_results: u64,
            #[serde(default, rename = "Resources")]
            resources: Vec<Id>,
        }
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let mut ids = Vec::new();
        let mut start = 1;
        while (ids.len() as u64) < want {
            let count = ID_PAGE.min(want - ids.len() as u64);
            let answer = self
                .send(&scenario::list_ids(start, count))
                .await
                .map_err(|e| BenchError::LearnIds(e.error.to_string()))?;
            if answer.status != StatusCode::OK {
                return Err(BenchError::LearnIds(format!(
                    "GET /Users answered {}",
                    answer.status
                )));
            }
            let page: Page = serde_json::from_slice(&answer.body)
                .map_err(|e| BenchError::LearnIds(format!("not a ListResponse: {e}")))?;
            if page.resources.is_empty() {
                break;
            }
            start += page.resources.len() as u64;
            ids.extend(page.resources.into_iter().map(|r| r.id));
            if start > page.total_results {
                break;
            }
        }
        ids.truncate(usize::try_from(want).unwrap_or(usize::MAX));
        if ids.is_empty() {
            return Err(BenchError::NoUsers);
        }
        Ok(Arc::new(ids))
    }

    async fn worker(
        &self,
        scenario: Scenario,
        worker: usize,
        plan: &Plan,
        ids: &[String],
        mut tally: Tally,
    ) -> Tally {
        let config = &self.inner.config;
        // Each worker draws its own sequence, so a run is repeatable for a given seed and
        // concurrency whatever the scheduling.
        let mut rng = StdRng::seed_from_u64(
            config
                .seed
                .wrapping_add((worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        );
        loop {
            let started = Instant::now();
            if plan.end.is_some_and(|end| started >= end) {
                break;
            }
            let measured = started >= plan.measure_start;
            let mut item = 0;
            if measured && let Some(limit) = plan.limit {
                item = plan.claimed.fetch_add(1, Ordering::Relaxed);
                if item >= limit {
                    break;
                }
            }
            let op = match scenario {
                Scenario::Seed => self.seed(item).await,
                Scenario::Filter => {
                    let i = rng.random_range(0..config.users.max(1));
                    self.filter(i).await
                }
                Scenario::Get => {
                    let id = &ids[rng.random_range(0..ids.len())];
                    self.get(id).await
                }
                Scenario::Patch => {
                    let id = &ids[rng.random_range(0..ids.len())];
                    let n: u32 = rng.random();
                    self.patch(id, n).await
                }
                Scenario::Create => {
                    let name = self.inner.fresh.take();
                    self.create(&name).await
                }
                Scenario::Bulk => {
                    let names = self.inner.fresh.take_many(config.bulk_size.max(1));
                    self.bulk(&names, false).await
                }
                // Refused by `run` before any worker starts.
                Scenario::Groups => break,
            };
            if measured {
                tally.record(op);
                tally.last_done = Some(Instant::now());
            }
        }
        tally
    }

    async fn seed(&self, item: u64) -> Op {
        let config = &self.inner.config;
        if config.bulk {
            let first = item * SEED_BULK_SIZE;
            let last = (first + SEED_BULK_SIZE).min(config.users);
            let names: Vec<String> = (first..last).map(scenario::user_name).collect();
            self.bulk(&names, true).await
        } else {
            let (outcome, latency) = match self
                .send(&scenario::create_user(&scenario::user_name(item)))
                .await
            {
                Ok(a) if a.status == StatusCode::CREATED || a.status == StatusCode::CONFLICT => {
                    (Outcome::Ok { resources: 1 }, a.latency)
                }
                Ok(a) => (a.failure(), a.latency),
                Err(e) => (Outcome::Error(e.kind()), e.latency),
            };
            Op::single(outcome, latency)
        }
    }

    async fn filter(&self, i: u64) -> Op {
        let (outcome, latency) = self
            .list_expecting(&scenario::filter_user_name(&scenario::user_name(i)), 1)
            .await;
        Op::single(outcome, latency)
    }

    async fn get(&self, id: &str) -> Op {
        let (outcome, latency) = self
            .expect_status(&scenario::get_user(id), &[StatusCode::OK])
            .await;
        Op::single(outcome, latency)
    }

    async fn patch(&self, id: &str, n: u32) -> Op {
        const TITLES: [&str; 6] = [
            "Lecturer",
            "Professor",
            "Dean",
            "Researcher",
            "Student",
            "Librarian",
        ];
        let title = TITLES[n as usize % TITLES.len()];
        let spec = scenario::patch_user(id, &format!("Bench Patched {n}"), title);
        let (outcome, latency) = self
            .expect_status(&spec, &[StatusCode::OK, StatusCode::NO_CONTENT])
            .await;
        Op::single(outcome, latency)
    }

    async fn create(&self, name: &str) -> Op {
        let mut match_latency = None;
        if self.inner.config.match_first {
            let (outcome, latency) = self
                .list_expecting(&scenario::filter_user_name(name), 0)
                .await;
            match_latency = Some(latency);
            if !matches!(outcome, Outcome::Ok { .. }) {
                return Op {
                    outcome,
                    latency: None,
                    match_latency,
                };
            }
        }
        let (outcome, latency) = self
            .expect_status(&scenario::create_user(name), &[StatusCode::CREATED])
            .await;
        Op {
            outcome,
            latency: Some(latency),
            match_latency,
        }
    }

    /// One `/Bulk` request; every operation must answer 201 (or 409 when `existing_ok`).
    async fn bulk(&self, names: &[String], existing_ok: bool) -> Op {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct BulkResponse {
            #[serde(default)]
            operations: Vec<BulkOp>,
        }
        #[derive(Deserialize)]
        struct BulkOp {
            status: serde_json::Value,
        }
        let answer = match self.send(&scenario::bulk_create(names)).await {
            Ok(a) => a,
            Err(e) => return Op::single(Outcome::Error(e.kind()), e.latency),
        };
        if answer.status != StatusCode::OK {
            return Op::single(answer.failure(), answer.latency);
        }
        let outcome = match serde_json::from_slice::<BulkResponse>(&answer.body) {
            Err(_) => Outcome::Error("bulk: not a BulkResponse".to_owned()),
            Ok(r) if r.operations.len() != names.len() => Outcome::Error(format!(
                "bulk: {} answers to {} operations",
                r.operations.len(),
                names.len()
            )),
            Ok(r) => {
                let failed = r.operations.iter().find_map(|op| {
                    // RFC 7644 §3.7.3 writes the status as a string; some servers send a number.
                    let status = match &op.status {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let ok = status == "201" || (existing_ok && status == "409");
                    (!ok).then_some(status)
                });
                match failed {
                    None => Outcome::Ok {
                        resources: names.len() as u64,
                    },
                    Some(status) => Outcome::Error(format!("bulk operation {status}")),
                }
            }
        };
        Op::single(outcome, answer.latency)
    }

    /// A list query whose `totalResults` must be `expected`.
    async fn list_expecting(&self, spec: &RequestSpec, expected: u64) -> (Outcome, Duration) {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ListHead {
            total_results: u64,
        }
        match self.send(spec).await {
            Err(e) => (Outcome::Error(e.kind()), e.latency),
            Ok(a) if a.status != StatusCode::OK => (a.failure(), a.latency),
            Ok(a) => {
                let outcome = match serde_json::from_slice::<ListHead>(&a.body) {
                    Ok(h) if h.total_results == expected => Outcome::Ok { resources: 1 },
                    Ok(h) => Outcome::Error(format!("totalResults {}", h.total_results)),
                    Err(_) => Outcome::Error("not a ListResponse".to_owned()),
                };
                (outcome, a.latency)
            }
        }
    }

    async fn expect_status(&self, spec: &RequestSpec, ok: &[StatusCode]) -> (Outcome, Duration) {
        match self.send(spec).await {
            Ok(a) if ok.contains(&a.status) => (Outcome::Ok { resources: 1 }, a.latency),
            Ok(a) => (a.failure(), a.latency),
            Err(e) => (Outcome::Error(e.kind()), e.latency),
        }
    }

    /// Sends one request and reads the whole answer; the latency includes the body.
    pub(crate) async fn send(&self, spec: &RequestSpec) -> Result<Answer, SendError> {
        let inner = &self.inner;
        let mut request = inner
            .client
            .request(spec.method.clone(), format!("{}{}", inner.base, spec.path))
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, SCIM_JSON);
        if let Some(body) = &spec.body {
            request = request
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let started = Instant::now();
        let fail = |error| SendError {
            error,
            latency: started.elapsed(),
        };
        let response = request.send().await.map_err(fail)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = response.bytes().await.map_err(fail)?;
        Ok(Answer {
            status,
            retry_after,
            body: body.into(),
            latency: started.elapsed(),
        })
    }
}

/// When measuring starts and what ends it.
struct Plan {
    measure_start: Instant,
    /// Workers start no operation after this.
    end: Option<Instant>,
    /// Measured operations (or seed items) to claim in all.
    limit: Option<u64>,
    claimed: AtomicU64,
}

/// One answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    retry_after: Option<String>,
    pub(crate) body: Vec<u8>,
    pub(crate) latency: Duration,
}

impl Answer {
    /// The outcome of an unexpected status: throttling (429, 503) or an error.
    fn failure(&self) -> Outcome {
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            Outcome::Throttled(
                self.retry_after
                    .clone()
                    .unwrap_or_else(|| "none".to_owned()),
            )
        } else {
            Outcome::Error(self.status.as_u16().to_string())
        }
    }
}

/// A request that got no answer.
pub(crate) struct SendError {
    pub(crate) error: reqwest::Error,
    latency: Duration,
}

impl SendError {
    fn kind(&self) -> String {
        if self.error.is_timeout() {
            "timeout".to_owned()
        } else if self.error.is_connect() {
            "connect".to_owned()
        } else {
            "transport".to_owned()
        }
    }
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok { resources: u64 },
    Error(String),
    Throttled(String),
}

/// One operation: its outcome, the latency of its main request (none when it stopped at the
/// match), and that of the match GET before a create.
struct Op {
    outcome: Outcome,
    latency: Option<Duration>,
    match_latency: Option<Duration>,
}

impl Op {
    fn single(outcome: Outcome, latency: Duration) -> Op {
        Op {
            outcome,
            latency: Some(latency),
            match_latency: None,
        }
    }
}

/// One worker's counts, merged into the report at the end.
struct Tally {
    latencies: Latencies,
    match_latencies: Latencies,
    requests: u64,
    ok: u64,
    resources: u64,
    errors: BTreeMap<String, u64>,
    throttled: BTreeMap<String, u64>,
    last_done: Option<Instant>,
}

impl Tally {
    fn new() -> Result<Tally, BenchError> {
        Ok(Tally {
            latencies: Latencies::new()?,
            match_latencies: Latencies::new()?,
            requests: 0,
            ok: 0,
            resources: 0,
            errors: BTreeMap::new(),
            throttled: BTreeMap::new(),
            last_done: None,
        })
    }

    fn record(&mut self, op: Op) {
        self.requests += 1;
        if let Some(m) = op.match_latency {
            self.match_latencies.record(m);
        }
        match op.outcome {
            Outcome::Ok { resources } => {
                self.ok += 1;
                self.resources += resources;
                // Latencies of successes only: a fast error would flatter the percentiles.
                if let Some(l) = op.latency {
                    self.latencies.record(l);
                }
            }
            Outcome::Error(kind) => *self.errors.entry(kind).or_default() += 1,
            Outcome::Throttled(retry_after) => *self.throttled.entry(retry_after).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.merge(&other.latencies);
        self.match_latencies.merge(&other.match_latencies);
        self.requests += other.requests;
        self.ok += other.ok;
        self.resources += other.resources;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for (k, n) in other.throttled {
            *self.throttled.entry(k).or_default() += n;
        }
        self.last_done = self.last_done.max(other.last_done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let config = BenchConfig::new("http://x/scim/v2/t", "s3cret-token", Scenario::Get);
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret-token"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn base_url_must_be_http() {
        for bad in ["not a url", "ftp://x/scim"] {
            let config = BenchConfig::new(bad, "t", Scenario::Get);
            assert!(
                matches!(Bench::new(config), Err(BenchError::BaseUrl(_))),
                "{bad}"
            );
        }
        let config = BenchConfig::new("http://127.0.0.1:1/scim/v2/t/", "t", Scenario::Get);
        assert!(Bench::new(config).is_ok());
        let config = BenchConfig::new("http://127.0.0.1:1/", "line\nbreak", Scenario::Get);
        assert!(matches!(Bench::new(config), Err(BenchError::Token)));
    }

    #[test]
    fn throttling_is_told_apart_from_errors() {
        let answer = |status: u16, retry_after: Option<&str>| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: retry_after.map(str::to_owned),
            body: Default::default(),
            latency: Duration::ZERO,
        };
        assert_eq!(
            answer(429, Some("2")).failure(),
            Outcome::Throttled("2".into())
        );
        assert_eq!(
            answer(503, None).failure(),
            Outcome::Throttled("none".into())
        );
        assert_eq!(
            answer(500, Some("2")).failure(),
            Outcome::Error("500".into())
        );
    }

    #[test]
    fn tally_counts_and_merges() {
        let mut a = Tally::new().unwrap();
        a.record(Op::single(
            Outcome::Ok { resources: 3 },
            Duration::from_millis(1),
        ));
        a.record(Op::single(
            Outcome::Error("500".into()),
            Duration::from_millis(1),
        ));
        let mut b = Tally::new().unwrap();
        b.record(Op::single(
            Outcome::Throttled("1".into()),
            Duration::from_millis(1),
        ));
        b.record(Op {
            outcome: Outcome::Ok { resources: 1 },
            latency: Some(Duration::from_millis(2)),
            match_latency: Some(Duration::from_millis(1)),
        });
        b.record(Op::single(
            Outcome::Error("500".into()),
            Duration::from_millis(1),
        ));
        a.merge(b);
        assert_eq!(a.requests, 5);
        assert_eq!(a.ok, 2);
        assert_eq!(a.resources, 4);
        assert_eq!(a.errors.get("500"), Some(&2));
        assert_eq!(a.throttled.get("1"), Some(&1));
        assert_eq!(a.latencies.count(), 2, "only successes are timed");
        assert_eq!(a.match_latencies.count(), 1);
    }
}
