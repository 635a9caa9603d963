//! Benchmark (not a test): provisions N users through SCIM `/Bulk` into the TimeEdit
//! simulator, once with batching (`importUsers` of many users per call) and once without
//! (`batch_size = 1`), and prints how long each took until every user was in the simulator.
//!
//! ```sh
//! cargo run --release --example timeedit_bulk -- 10000 [latency-ms]
//! ```
//!
//! `latency-ms` (default 0) delays every simulator answer, as a vendor across a network does;
//! batching pays off as soon as a call costs anything.
//!
//! Gateway (SQLite store in a temporary file), simulator and load all run in this process on
//! 127.0.0.1, as on a single machine.

use std::time::{Duration, Instant};

use gateway::config::Config;
use vendor_sim::timeedit::{DEFAULT_CERTIFICATE, DEFAULT_PASSWORD, DEFAULT_USERNAME, TimeEditSim};

/// Operations per Bulk request (the gateway's default `bulk_max_operations`).
const PER_REQUEST: usize = 1000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let latency: u64 = std::env::args()
        .nth(2)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(0);
    for (label, batch_size) in [
        ("batched (batch_size 100)", 100),
        ("unbatched (batch_size 1)", 1),
    ] {
        let elapsed = run(users, batch_size, latency).await?;
        println!(
            "{label}, vendor latency {latency} ms: {users} users in {:.2} s ({:.0} users/s)",
            elapsed.as_secs_f64(),
            users as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

async fn run(
    users: usize,
    batch_size: usize,
    latency_ms: u64,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let sim = TimeEditSim::new(Default::default());
    let server = sim.start(vendor_sim::SimOptions {
        workers: 2,
        ..Default::default()
    })?;
    if latency_ms > 0 {
        server.faults().push(vendor_sim::FaultRule::always(
            vendor_sim::RouteMatch::any(),
            vendor_sim::Fault::Latency(Duration::from_millis(latency_ms)),
        ));
    }
    let db = std::env::temp_dir().join(format!("scim-bridge-bench-{}.db", uuid::Uuid::new_v4()));
    let token = gateway::auth::token::mint();
    let config = Config::from_toml(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        max_body_bytes = 4194304
        [store]
        url = "sqlite://{db}"
        [scim]
        bulk_max_payload_bytes = 4194304
        [connectors.te]
        kind = "timeedit"
        auth.bearer_token_hashes = ["{hash}"]
        [connectors.te.timeedit]
        endpoint = "{base}{path}"
        username = "{DEFAULT_USERNAME}"
        password = "{DEFAULT_PASSWORD}"
        certificate = "{DEFAULT_CERTIFICATE}"
        batch_size = {batch_size}
        "#,
        db = db.display(),
        hash = token.hash,
        base = server.base_url(),
        path = sim.endpoint_path(),
    ))
    .map_err(|p| format!("{p:?}"))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let state = gateway::state::AppState::new(&config, &scim_bridge::registry()).await?;
    let gateway = gateway::server::start(state, listener, Some(2), Duration::from_secs(5))?;
    let url = format!("{}/scim/v2/te/Bulk", gateway.url());
    let client = reqwest::Client::new();

    let started = Instant::now();
    for first in (0..users).step_by(PER_REQUEST) {
        let operations: Vec<serde_json::Value> = (first..(first + PER_REQUEST).min(users))
            .map(|i| {
                serde_json::json!({
                    "method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                    "data": {"userName": format!("user{i:06}"),
                             "name": {"givenName": "Bench", "familyName": format!("User {i}")},
                             "emails": [{"value": format!("user{i:06}@example.edu"), "primary": true}]}
                })
            })
            .collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations
        });
        let reply: serde_json::Value = client
            .post(&url)
            .bearer_auth(&token.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await?
            .json()
            .await?;
        let failed = reply["Operations"]
            .as_array()
            .map_or(0, |ops| ops.iter().filter(|o| o["status"] != "201").count());
        if failed > 0 {
            return Err(format!("{failed} operations failed: {reply}").into());
        }
    }
    let elapsed = started.elapsed();
    let at_vendor = sim.users().len();
    if at_vendor != users {
        return Err(format!("the simulator has {at_vendor} users, not {users}").into());
    }
    gateway.stop().await;
    server.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(elapsed)
}
