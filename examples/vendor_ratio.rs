//! Benchmark (not a test): `POST /Users` through the `mytimetable` connector, next to what the
//! MyTimetable simulator serves when the same calls are made to it directly, as a ratio.
//!
//! ```sh
//! cargo run --release --example vendor_ratio -- [creates] [concurrency]
//! ```
//!
//! "The same calls": one user is created through the gateway first, and the calls the
//! connector made for it (from the simulator's request log) are the template every direct
//! create repeats with a fresh username. Each side runs against a simulator of its own,
//! starting empty, for the same number of creates at the same concurrency: MyTimetable lists
//! every synchronization on each create, so a side that had made more creates would pay for
//! longer lists. Simulators, gateway (SQLite in a temporary file, sync delivery) and load all
//! run in this process on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway::config::Config;
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableSim};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let creates: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2000);
    let concurrency: usize = std::env::args()
        .nth(2)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(32);
    let options = || vendor_sim::SimOptions {
        workers: 2,
        ..Default::default()
    };
    let sim = MyTimetableSim::new(Default::default());
    let server = sim.start(options())?;
    let direct_sim = MyTimetableSim::new(Default::default());
    let direct_server = direct_sim.start(options())?;
    let db = std::env::temp_dir().join(format!("scim-bridge-ratio-{}.db", uuid::Uuid::new_v4()));
    let token = gateway::auth::token::mint();
    let config = Config::from_toml(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        url = "sqlite://{db}"
        [connectors.mtt]
        kind = "mytimetable"
        auth.bearer_token_hashes = ["{hash}"]
        [connectors.mtt.mytimetable]
        base_url = "{base}/api/v0"
        api_token = "{DEMO_ADMIN_TOKEN}"
        default_sync_types = ["o365"]
        "#,
        db = db.display(),
        hash = token.hash,
        base = server.base_url(),
    ))
    .map_err(|p| format!("{p:?}"))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let state = gateway::state::AppState::new(&config, &scim_bridge::registry()).await?;
    let gateway = gateway::server::start(state, listener, None, Duration::from_secs(5))?;
    let base = format!("{}/scim/v2/mtt", gateway.url());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;

    // The template: what the connector sends for one create.
    server.log().clear();
    let first = client
        .post(format!("{base}/Users"))
        .bearer_auth(&token.token)
        .header("content-type", "application/scim+json")
        .body(
            serde_json::json!({"userName": "template@example.edu",
                "emails": [{"value": "template@example.edu", "primary": true}]})
            .to_string(),
        )
        .send()
        .await?;
    if first.status() != 201 {
        return Err(format!("the template create answered {}", first.status()).into());
    }
    let template = server.log().all();
    println!(
        "one create is {} vendor calls: {}",
        template.len(),
        template
            .iter()
            .map(|r| format!(
                "{} {}",
                r.method,
                r.path.split('?').next().unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Direct: every worker repeats the template with fresh usernames.
    let next = Arc::new(AtomicU64::new(0));
    let direct = measure(concurrency, creates, {
        let client = client.clone();
        let template = Arc::new(template);
        let root = direct_server.base_url().to_owned();
        move || {
            let client = client.clone();
            let template = template.clone();
            let root = root.clone();
            let name = format!("direct{}@example.edu", next.fetch_add(1, Ordering::Relaxed));
            async move {
                for call in template.iter() {
                    let path = call
                        .path
                        .replace("template@example.edu", &name)
                        .replace("template%40example.edu", &name.replace('@', "%40"));
                    let method = reqwest::Method::from_bytes(call.method.as_bytes()).ok()?;
                    let mut request = client
                        .request(method, format!("{root}{path}"))
                        .header("apiToken", DEMO_ADMIN_TOKEN);
                    if let Some(kind) = call.header("content-type") {
                        request = request.header("content-type", kind);
                    }
                    let body = call
                        .body
                        .replace("template@example.edu", &name)
                        .replace("template%40example.edu", &name.replace('@', "%40"));
                    let answer = request.body(body).send().await.ok()?;
                    if !answer.status().is_success() {
                        return None;
                    }
                }
                Some(())
            }
        }
    })
    .await;

    // Through the gateway: scim-bench's create scenario (POST only).
    let mut bench = bench::BenchConfig::new(&base, &token.token, bench::Scenario::Create);
    bench.concurrency = concurrency;
    bench.requests = Some(creates);
    bench.warmup = Duration::ZERO;
    bench.match_first = false;
    let report = bench::run_scenario(&bench).await?;
    let errors: u64 = report.errors.values().sum();
    println!(
        "direct to the simulator: {:.0} creates/s ({} failed)",
        direct.0, direct.1
    );
    println!(
        "POST /Users through the gateway: {:.0} creates/s (p50 {:.1} ms, p99 {:.1} ms, {errors} failed)",
        report.rate(),
        report.latency.p50.as_secs_f64() * 1e3,
        report.latency.p99.as_secs_f64() * 1e3,
    );
    println!("ratio gateway / direct: {:.2}", report.rate() / direct.0);
    gateway.stop().await;
    server.stop().await;
    direct_server.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(())
}

/// Runs `concurrency` workers calling `op` back to back until `total` calls were made;
/// successes per second, and failures.
async fn measure<F, Fut>(concurrency: usize, total: u64, op: F) -> (f64, u64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<()>> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let taken = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, ok, failed, taken) = (op.clone(), ok.clone(), failed.clone(), taken.clone());
            tokio::spawn(async move {
                while taken.fetch_add(1, Ordering::Relaxed) < total {
                    match op().await {
                        Some(()) => ok.fetch_add(1, Ordering::Relaxed),
                        None => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    )
}
