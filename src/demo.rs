//! `scim-bridge demo`: the gateway on a fresh SQLite file with the vendor simulators built in,
//! one connector per simulator, and a ready token for each, so that a newcomer can provision
//! users with `curl` and watch them arrive at the (simulated) vendor.

use std::net::SocketAddr;
use std::process::ExitCode;

use gateway::config::Config;
use vendor_sim::SimServer;
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::timeedit::TimeEditSim;
use vendor_sim::workspace365::Workspace365Sim;
use vendor_sim::workspace365_env::{Workspace365EnvConfig, Workspace365EnvSim};

use crate::serve::{init_logging, print_problems, start};

/// Where the demo listens and keeps its state.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The gateway's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The first simulator listens on this port, the next on the one after; 0 picks free ports.
    #[arg(long, default_value_t = 8081)]
    sim_port: u16,
    /// The store; default: a new SQLite file in the temporary directory, removed at exit.
    #[arg(long)]
    store: Option<String>,
}

/// A simulator the demo runs, and what to print about it.
struct Simulator {
    server: SimServer,
    title: &'static str,
    hint: String,
}

fn sim_addr(args: &DemoArgs, index: u16) -> SocketAddr {
    let port = if args.sim_port == 0 {
        0
    } else {
        args.sim_port.saturating_add(index)
    };
    SocketAddr::new(args.listen.ip(), port)
}

/// The AD sync token of the demo's simulated Workspace 365 environment.
const ADSYNC_TOKEN: &str = "demo-adsync-token";

/// Starts one simulator at the demo's `index`-th port.
fn start_sim(
    args: &DemoArgs,
    index: u16,
    title: &str,
    start: impl FnOnce(vendor_sim::SimOptions) -> std::io::Result<SimServer>,
) -> Result<SimServer, String> {
    start(vendor_sim::SimOptions {
        addr: sim_addr(args, index),
        ..vendor_sim::SimOptions::default()
    })
    .map_err(|e| format!("cannot start the {title} simulator: {e}"))
}

pub async fn run(args: DemoArgs) -> ExitCode {
    match demo(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scim-bridge demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(args: DemoArgs) -> Result<(), String> {
    let mytimetable = MyTimetableSim::new(MyTimetableConfig::default());
    let mtt_server = start_sim(&args, 0, "MyTimetable", |o| mytimetable.start(o))?;
    let timeedit = TimeEditSim::new(Default::default());
    let te_server = start_sim(&args, 1, "TimeEdit", |o| timeedit.start(o))?;
    let workspace365 = Workspace365Sim::new(Default::default());
    let w365_server = start_sim(&args, 2, "Workspace 365", |o| workspace365.start(o))?;
    let environment = Workspace365EnvSim::new(Workspace365EnvConfig::single(
        "example",
        ADSYNC_TOKEN,
        "demo-api-token",
    ));
    let env_server = start_sim(&args, 3, "Workspace 365 environment", |o| {
        environment.start(o)
    })?;

    let mtt_url = format!("{}/api/v0", mtt_server.base_url());
    let te_endpoint = format!("{}{}", te_server.base_url(), timeedit.endpoint_path());
    let w365_url = workspace365.api_base(&w365_server);
    let env_url = env_server.base_url();
    let simulators = vec![
        Simulator {
            hint: format!(
                "curl -s -H 'apiToken: {DEMO_ADMIN_TOKEN}' {mtt_url}/users {mtt_url}/synchronizations"
            ),
            server: mtt_server,
            title: "MyTimetable",
        },
        Simulator {
            hint: format!("SOAP endpoint {te_endpoint} (WSDL at {te_endpoint}/wsdl)"),
            server: te_server,
            title: "TimeEdit",
        },
        Simulator {
            hint: format!("Provisioning API {w365_url}/example/User/ (write-only: no reads)"),
            server: w365_server,
            title: "Workspace 365 Provisioning",
        },
        Simulator {
            hint: format!(
                "AD sync API {env_url}/example/ActiveDirectorySyncAPI (write-only: no reads)"
            ),
            server: env_server,
            title: "Workspace 365 environment",
        },
    ];

    let temp_db = std::env::temp_dir().join(format!("scim-bridge-demo-{}.db", std::process::id()));
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", temp_db.display()));
    let connectors = [
        (
            "directory",
            "no vendor: resources live in the store only",
            "kind = \"directory\"".to_owned(),
        ),
        (
            "mytimetable",
            "users and calendar synchronizations",
            format!(
                "kind = \"mytimetable\"\n[connectors.mytimetable.mytimetable]\nbase_url = \"{mtt_url}\"\napi_token = \"{DEMO_ADMIN_TOKEN}\"\ndefault_sync_types = [\"o365\"]"
            ),
        ),
        (
            "timeedit",
            "users, and groups as organizations, over SOAP",
            format!(
                "kind = \"timeedit\"\n[connectors.timeedit.timeedit]\nendpoint = \"{te_endpoint}\"\nusername = \"{}\"\npassword = \"{}\"\ncertificate = \"{}\"",
                vendor_sim::timeedit::DEFAULT_USERNAME,
                vendor_sim::timeedit::DEFAULT_PASSWORD,
                vendor_sim::timeedit::DEFAULT_CERTIFICATE
            ),
        ),
        (
            "workspace365",
            "users through the Provisioning API",
            format!(
                "kind = \"workspace365\"\n[connectors.workspace365.workspace365]\nbase_url = \"{w365_url}\"\nenvironment = \"example\"\nprovisioning_key = \"{}\"",
                vendor_sim::workspace365::DEMO_PROVISIONING_KEY
            ),
        ),
        (
            "workspace365-adsync",
            "users (with first and last name, userName a UPN) and groups through AD sync",
            format!(
                "kind = \"workspace365-adsync\"\n[connectors.workspace365-adsync.workspace365_adsync]\nbase_url = \"{env_url}\"\nenvironment = \"example\"\ntoken = \"{ADSYNC_TOKEN}\""
            ),
        ),
    ];
    let tokens: Vec<_> = connectors
        .iter()
        .map(|_| gateway::auth::token::mint())
        .collect();
    // The admin API and its console, with a token of their own.
    let admin = gateway::auth::token::mint();
    let mut text = format!(
        "[server]\nlisten = \"{}\"\n[store]\nurl = \"{store}\"\n[admin]\nauth.bearer_token_hashes = [\"{}\"]\n",
        args.listen, admin.hash
    );
    for ((name, _, settings), token) in connectors.iter().zip(&tokens) {
        text.push_str(&format!(
            "[connectors.{name}]\nauth.bearer_token_hashes = [\"{}\"]\n{settings}\n",
            token.hash
        ));
    }
    let config = Config::from_default(&text).map_err(|problems| {
        print_problems(&problems);
        "the demo configuration is broken".to_owned()
    })?;
    init_logging(config.server.log_format);
    let server = start(config).await?;
    let base = server.state().public_url.clone();
    say!("scim-bridge demo: running (Ctrl-C stops it); store {store}");
    for ((name, what, _), token) in connectors.iter().zip(&tokens) {
        say!("connector {name} ({what})");
        say!("  SCIM base URL: {base}/scim/v2/{name}");
        say!("  bearer token:  {}", token.token);
    }
    say!("console and admin API: {base}/admin/");
    say!("  admin token:   {}", admin.token);
    for sim in &simulators {
        say!("simulated {} at {}", sim.title, sim.server.base_url());
        say!("  look inside:   {}", sim.hint);
    }
    say!(
        "try: curl -s -H 'Authorization: Bearer {}' -H 'Content-Type: application/scim+json' -d '{{\"userName\":\"alice@example.edu\",\"emails\":[{{\"value\":\"alice@example.edu\",\"primary\":true}}]}}' {base}/scim/v2/mytimetable/Users",
        tokens[1].token
    );
    server.run_until_signal().await;
    for sim in simulators {
        sim.server.stop().await;
    }
    if args.store.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", temp_db.display()));
        }
    }
    Ok(())
}
