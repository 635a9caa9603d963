//! Throughput of one simulator request: starts a simulator in-process (2 workers) and drives
//! one request with N concurrent keep-alive clients for T seconds over loopback, then prints
//! requests per second and p50/p99 latency.
//!
//! ```text
//! cargo run -p vendor-sim --example throughput -- mtt-users --clients 16 --seconds 5
//! cargo run -p vendor-sim --example throughput -- w365-validate
//! ```
//!
//! Numbers only mean something in release mode on otherwise idle cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, ValueEnum};
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::timeedit::{
    DEFAULT_NAMESPACE, DEFAULT_PASSWORD, DEFAULT_USERNAME, TimeEditConfig, TimeEditSim,
};
use vendor_sim::workspace365::{DEMO_PROVISIONING_KEY, Workspace365Config, Workspace365Sim};
use vendor_sim::workspace365_env::{Workspace365EnvConfig, Workspace365EnvSim};
use vendor_sim::{SimOptions, SimServer};

/// The request to measure. To add one: a variant here and an arm in [`start`].
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// MyTimetable `GET /api/v0/users` against 100 users.
    MttUsers,
    /// Workspace 365 `POST /{Env}/User/Validate/` of a valid new user, against 100 users.
    W365Validate,
    /// TimeEdit `getAuthServers` SOAP call with a valid application key.
    TimeeditAuthServers,
    /// Workspace 365 ActiveDirectorySync `PUT /Users/{ObjectId}` upsert of one user.
    W365AdsyncUser,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(value_enum, default_value = "mtt-users")]
    scenario: Scenario,
    /// Concurrent keep-alive clients (1–256).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    clients: u16,
    /// How long to drive the load, in seconds (1–60).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
}

/// Builds the measured request on a client.
type MakeRequest = Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

fn start(scenario: Scenario) -> std::io::Result<(SimServer, MakeRequest)> {
    let options = SimOptions {
        workers: 2,
        ..SimOptions::default()
    };
    Ok(match scenario {
        Scenario::MttUsers => {
            let sim = MyTimetableSim::new(MyTimetableConfig::default());
            for i in 0..100 {
                sim.seed_user(&format!("user{i}"));
            }
            let server = sim.start(options)?;
            let url = format!("{}/api/v0/users", server.base_url());
            let make: MakeRequest =
                Arc::new(move |c| c.get(&url).header("apiToken", DEMO_ADMIN_TOKEN));
            (server, make)
        }
        Scenario::W365Validate => {
            let sim = Workspace365Sim::new(Workspace365Config::default());
            for i in 0..100 {
                sim.seed_user("example", &format!("user{i}@example.com"), "User", "Seed");
            }
            let server = sim.start(options)?;
            let url = format!("{}/example/User/Validate/", sim.api_base(&server));
            let body = r#"{"EmailAddress":"new@example.com","Password":"qwerty","FirstName":"New","LastName":"User","IsAdministrator":false,"CreateInOffice365":false}"#;
            let make: MakeRequest = Arc::new(move |c| {
                c.post(&url)
                    .header("ProvisioningKey", DEMO_PROVISIONING_KEY)
                    .header("X-Requested-With", "XMLHttpRequest")
                    .header("Content-Type", "application/json")
                    .body(body)
            });
            (server, make)
        }
        Scenario::TimeeditAuthServers => {
            let sim = TimeEditSim::new(TimeEditConfig {
                xml_hostile_keys: false,
                ..TimeEditConfig::default()
            });
            let key = sim.issue_key();
            let server = sim.start(options)?;
            let url = format!("{}{}", server.base_url(), sim.endpoint_path());
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soapenv:Envelope \
                 xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:tns=\"{DEFAULT_NAMESPACE}\">\
                 <soapenv:Body><tns:getAuthServers><tns:login><username>{DEFAULT_USERNAME}</username>\
                 <password>{DEFAULT_PASSWORD}</password><applicationkey>{key}</applicationkey></tns:login>\
                 </tns:getAuthServers></soapenv:Body></soapenv:Envelope>"
            );
            let make: MakeRequest = Arc::new(move |c| {
                c.post(&url)
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .header("SOAPAction", "\"\"")
                    .body(body.clone())
            });
            (server, make)
        }
        Scenario::W365AdsyncUser => {
            let sim =
                Workspace365EnvSim::new(Workspace365EnvConfig::single("example", "adsync", "api"));
            let server = sim.start(options)?;
            let url = format!(
                "{}/example/ActiveDirectorySyncAPI/Users/0f8fad5b-d9cb-469f-a165-70867728950e",
                server.base_url()
            );
            let auth = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("adsync:")
            );
            let body = r#"{"FirstName":"Ada","LastName":"Lovelace","UserPrincipalName":"ada@example.com","Email":"ada@example.com","IsActive":true}"#;
            let make: MakeRequest = Arc::new(move |c| {
                c.put(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .body(body)
            });
            (server, make)
        }
    })
}

/// One client: sends the request back to back on one keep-alive connection until `deadline`.
async fn drive(make: MakeRequest, deadline: Instant) -> (Vec<Duration>, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while Instant::now() < deadline {
        let sent = Instant::now();
        let ok = match make(&client).send().await {
            Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
            Err(_) => false,
        };
        if ok {
            latencies.push(sent.elapsed());
        } else {
            errors += 1;
        }
    }
    (latencies, errors)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let (server, make) = start(args.scenario)?;

    // The request log keeps every request; empty it every second so memory stays bounded.
    let log = server.log().clone();
    let trimmer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            log.clear();
        }
    });

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let clients: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(drive(make.clone(), deadline)))
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for client in clients {
        let (l, e) = client.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    trimmer.abort();
    server.stop().await;

    latencies.sort_unstable();
    println!(
        "{:?}: {} clients, {:.1} s: {} ok, {} failed, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        args.scenario,
        args.clients,
        elapsed.as_secs_f64(),
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
