//! Benchmark (not a test): what the trail of each write costs. Two gateways in this process,
//! alike but for `[store] trail`, each with a SQLite file of its own, take scim-bench's
//! `create` and `patch` scenarios in turns (with, without, without, with, …) so that the
//! machine's drift falls on both; the figure is the ratio of their rates.
//!
//! The connector is `directory`: its writes cost the store alone, so what the trail adds to
//! the write path (the request's record, appended in the store's own group commit) is the
//! largest share it can be. A vendor connector adds one record per vendor call, sent to the
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
    let rounds = arg(2, 3)?;
    let concurrency = usize::try_from(arg(3, 16)?)?;
    let token = gateway::auth::token::mint();
    let with = side(true, &token).await?;
    let without = side(false, &token).await?;
    let users = 5_000;
    for s in [&with, &without] {
        let mut seed = bench::BenchConfig::new(&s.base, &token.token, bench::Scenario::Seed);
        seed.users = users;
        seed.concurrency = concurrency;
        bench::run_scenario(&seed).await?;
    }
    println!(
        "trail on / trail off, {rounds} rounds of {seconds} s each at concurrency {concurrency}"
    );
    for scenario in [bench::Scenario::Create, bench::Scenario::Patch] {
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let mut rates = [0.0; 2];
            // Alternate which side goes first, so neither always runs on a warmer machine.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let s = if i == 0 { &with } else { &without };
                let mut config = bench::BenchConfig::new(&s.base, &token.token, scenario);
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
            println!(
                "{scenario} round {}: with {:.0}/s, without {:.0}/s, ratio {:.3}",
                round + 1,
                rates[0],
                rates[1],
                rates[0] / rates[1]
            );
            ratios.push(rates[0] / rates[1]);
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{scenario}: median ratio trail on / off {:.3}",
            ratios[ratios.len() / 2]
        );
    }
    for s in [with, without] {
        s.gateway.stop().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", s.db.display()));
        }
    }
    Ok(())
}
