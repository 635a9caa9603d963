//! Every scenario against an in-process gateway with a `directory` connector on a temporary
//! SQLite file: zero errors, a positive rate, and the server's state shows the writes.

use std::path::PathBuf;
use std::time::Duration;

use bench::{Bench, BenchConfig, Report, Scenario, run_scenario};

struct Gateway {
    server: gateway::server::RunningServer,
    db: PathBuf,
    base: String,
    token: String,
}

impl Gateway {
    async fn start() -> Gateway {
        let db = std::env::temp_dir().join(format!(
            "scim-bench-it-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let token = gateway::auth::token::mint();
        let config = gateway::config::Config::from_toml(&format!(
            r#"
            [server]
            listen = "127.0.0.1:0"
            [store]
            url = "sqlite://{}"
            [connectors.bench]
            kind = "directory"
            auth.bearer_token_hashes = ["{}"]
            "#,
            db.display(),
            token.hash
        ))
        .expect("config parses");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let state = gateway::state::AppState::new(&config, &Default::default())
            .await
            .expect("state");
        let server = gateway::server::start(state, listener, Some(2), Duration::from_secs(5))
            .expect("server");
        let base = format!("{}/scim/v2/bench", server.url());
        Gateway {
            server,
            db,
            base,
            token: token.token,
        }
    }

    fn config(&self, scenario: Scenario) -> BenchConfig {
        let mut config = BenchConfig::new(&self.base, &self.token, scenario);
        config.concurrency = 4;
        config.duration = Duration::from_millis(1000);
        config.warmup = Duration::from_millis(200);
        config.users = 100;
        config.bulk = true;
        config.bulk_size = 10;
        config
    }

    /// `totalResults` of `GET /Users?filter=…` (or of all users when `filter` is empty).
    async fn count(&self, filter: &str) -> u64 {
        let client = reqwest::Client::new();
        let mut url = reqwest::Url::parse(&format!("{}/Users", self.base)).unwrap();
        url.query_pairs_mut().append_pair("count", "0");
        if !filter.is_empty() {
            url.query_pairs_mut().append_pair("filter", filter);
        }
        let body: serde_json::Value = client
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["totalResults"].as_u64().expect("totalResults")
    }

    async fn stop(self) {
        self.server.stop().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
    }
}

fn assert_clean(report: &Report) {
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        report.scenario,
        report.errors
    );
    assert!(
        report.throttled.is_empty(),
        "{}: {:?}",
        report.scenario,
        report.throttled
    );
    assert!(report.ok > 0, "{}: nothing succeeded", report.scenario);
    assert_eq!(report.ok, report.requests, "{}", report.scenario);
    assert!(report.rate() > 0.0, "{}", report.scenario);
    assert_eq!(report.latency.count, report.ok, "{}", report.scenario);
    assert!(report.latency.p50 > Duration::ZERO && report.latency.p50 <= report.latency.p99);
    assert!(report.latency.p99 <= report.latency.max);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_clean_against_the_gateway() {
    let gw = Gateway::start().await;

    // Seeding through /Bulk: one request of 100 creates.
    let seed = run_scenario(&gw.config(Scenario::Seed))
        .await
        .expect("seed");
    assert_clean(&seed);
    assert_eq!((seed.ok, seed.resources), (1, 100));
    assert_eq!(gw.count("").await, 100);
    assert_eq!(
        gw.count("userName eq \"bench-0000099@example.edu\"").await,
        1
    );
    // Seeding again skips the existing users (409 per operation counts as done).
    let again = run_scenario(&gw.config(Scenario::Seed))
        .await
        .expect("seed again");
    assert_clean(&again);
    assert_eq!(gw.count("").await, 100);
    // And so does seeding one POST /Users at a time.
    let mut single = gw.config(Scenario::Seed);
    single.bulk = false;
    single.users = 110;
    let single = run_scenario(&single).await.expect("seed without bulk");
    assert_clean(&single);
    assert_eq!((single.ok, single.resources), (110, 110));
    assert_eq!(gw.count("").await, 110);

    // One Bench for the rest, so the ids are learnt once.
    let bench = Bench::new(gw.config(Scenario::Filter)).expect("bench");
    assert_eq!(
        bench.ids().await.expect("ids").len(),
        100,
        "capped at --users"
    );

    let filter = bench.run(Scenario::Filter).await.expect("filter");
    assert_clean(&filter);
    assert!(filter.match_latency.is_none());

    let get = bench.run(Scenario::Get).await.expect("get");
    assert_clean(&get);

    let patch = bench.run(Scenario::Patch).await.expect("patch");
    assert_clean(&patch);
    assert!(
        gw.count("title pr").await > 0,
        "the PATCHes replaced titles"
    );

    let create = bench.run(Scenario::Create).await.expect("create");
    assert_clean(&create);
    let matched = create.match_latency.expect("match-first is on by default");
    assert_eq!(matched.count, create.ok, "one match GET per create");
    let bulk = bench.run(Scenario::Bulk).await.expect("bulk");
    assert_clean(&bulk);
    assert_eq!(bulk.resources, bulk.ok * 10);

    // Creates made during the warm-up are not counted, so the store holds at least as many.
    let created = gw.count("userName sw \"bench-new-\"").await;
    assert!(
        created >= create.ok + bulk.resources,
        "{created} stored, {} + {} reported",
        create.ok,
        bulk.resources
    );

    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_counted_by_kind() {
    let gw = Gateway::start().await;
    let mut seed = gw.config(Scenario::Seed);
    seed.users = 10;
    assert_clean(&run_scenario(&seed).await.expect("seed"));

    // Users 10..20 do not exist: their lookups find 0 results, which the filter scenario
    // counts as errors rather than successes.
    let mut filter = gw.config(Scenario::Filter);
    filter.users = 20;
    filter.duration = Duration::from_millis(300);
    filter.warmup = Duration::ZERO;
    let report = run_scenario(&filter).await.expect("filter");
    let misses = report.errors.get("totalResults 0").copied().unwrap_or(0);
    assert!(misses > 0, "{:?}", report.errors);
    assert_eq!(report.ok + misses, report.requests);

    // A wrong token: every request is a 401, counted by status.
    let mut wrong = gw.config(Scenario::Filter);
    wrong.token = "not-the-token".to_owned();
    wrong.requests = Some(20);
    wrong.warmup = Duration::ZERO;
    let report = run_scenario(&wrong).await.expect("runs");
    assert_eq!(report.requests, 20, "a request count replaces the duration");
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.get("401"), Some(&20), "{:?}", report.errors);

    // get needs ids, and a server that refuses to list them stops the run before it starts.
    let mut get = gw.config(Scenario::Get);
    get.token = "not-the-token".to_owned();
    assert!(matches!(
        run_scenario(&get).await,
        Err(bench::BenchError::LearnIds(_))
    ));

    gw.stop().await;
}
