//! Benchmark (not a test): what the trail of each write costs. Three gateways in this
//! process, each with a SQLite file of its own, one with `[store] trail` on and two with it
//! off, take scim-bench's `create` and `patch` scenarios in turns, every order of the three in
//! rotation, so that the machine's drift falls on all. The figure is the median ratio of the
//! trail's gateway's rate to the mean of the other two. Beside it, the ratio of the two
//! without the trail to each other: what the harness itself makes of two equal gateways (in
//! runs with two gateways alike, one came out 3 to 5 % slower, consistently), the noise floor
//! the first figure is to be read against.
//!
//! The connector is `directory`: its writes cost the store alone, so what the trail adds to
//! the write path (the request's record, kept in the trail's own file by its own thread) is
//! the largest share it can be. A vendor connector adds one record per vendor call, sent to the
//! same channel, beside a network call that costs far more.
//!
//! ```sh
//! cargo run --release --example trail_ratio -- [seconds per run] [rounds] [concurrency]
//! ```

use std::time::Duration;

use gateway::config::Config;
/// One gateway under measure, with its database file.
struct Side {
    gateway: gateway::server::RunningServer,
    base: String,
    db: std::path::PathBuf,
}

async fn side(trail: bool, token: &gateway::auth::token::MintedToken) -> Result<Side, String> {
    let db = std::env::temp_dir().join(format!("scim-bridge-trail-{}.db", uuid::Uuid::new_v4()));
    let config = Config::from_toml(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        url = "sqlite://{db}"
        trail = {trail}
        [connectors.dir]
        kind = "directory"
        auth.bearer_token_hashes = ["{hash}"]
        "#,
        db = db.display(),
        hash = token.hash,
    ))
    .map_err(|p| format!("{p:?}"))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let state = gateway::state::AppState::new(&config, &scim_bridge::registry())
        .await
        .map_err(|e| e.to_string())?;
    let gateway = gateway::server::start(state, listener, None, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let base = format!("{}/scim/v2/dir", gateway.url());
    Ok(Side { gateway, base, db })
}

/// Every order of three sides, one per round in rotation.
const ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [0, 2, 1],
    [2, 1, 0],
    [1, 0, 2],
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |n: usize, default: u64| -> Result<u64, Box<dyn std::error::Error>> {
        Ok(std::env::args()
            .nth(n)
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let seconds = arg(1, 5)?;
    let rounds = arg(2, 6)?;
    let concurrency = usize::try_from(arg(3, 16)?)?;
    let token = gateway::auth::token::mint();
    let users = 5_000;
    println!(
        "trail on / trail off, {rounds} rounds of {seconds} s each at concurrency {concurrency}"
    );
    for scenario in [bench::Scenario::Create, bench::Scenario::Patch] {
        // Fresh gateways for each scenario: one's creates would leave the faster side the
        // larger store for the next.
        let sides = [
            side(true, &token).await?,
            side(false, &token).await?,
            side(false, &token).await?,
        ];
        for s in &sides {
            let mut seed = bench::BenchConfig::new(&s.base, &token.token, bench::Scenario::Seed);
            seed.users = users;
            seed.concurrency = concurrency;
            bench::run_scenario(&seed).await?;
        }
        let mut trail = Vec::new();
        let mut control = Vec::new();
        for round in 0..rounds {
            let mut rates = [0.0; 3];
            let order = ORDERS[usize::try_from(round)? % ORDERS.len()];
            for i in order {
                let mut config = bench::BenchConfig::new(&sides[i].base, &token.token, scenario);
                config.users = users;
                config.concurrency = concurrency;
                config.duration = Duration::from_secs(seconds);
                config.warmup = Duration::from_secs(1);
                config.match_first = false;
                let report = bench::run_scenario(&config).await?;
                let errors: u64 = report.errors.values().sum();
                if errors > 0 {
                    return Err(format!("{scenario}: {errors} errors: {:?}", report.errors).into());
                }
                rates[i] = report.rate();
            }
            let ratio = rates[0] / ((rates[1] + rates[2]) / 2.0);
            println!(
                "{scenario} round {}: trail on {:.0}/s, off {:.0}/s and {:.0}/s; on / off {ratio:.3}, off / off {:.3}",
                round + 1,
                rates[0],
                rates[1],
                rates[2],
                rates[1] / rates[2]
            );
            trail.push(ratio);
            control.push(rates[1] / rates[2]);
        }
        println!(
            "{scenario}: median ratio trail on / off {:.3} (the two without it: {:.3})",
            median(&mut trail),
            median(&mut control)
        );
        for s in sides {
            s.gateway.stop().await;
            // The store's file and the trail's beside it (`….db`, `….trail.db`).
            let trail = s.db.with_extension("trail.db");
            for file in [&s.db, &trail] {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
        }
    }
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
