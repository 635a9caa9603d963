//! `scim-bridge demo`: the gateway on a fresh SQLite file with the vendor simulators built in,
//! one connector per simulator, and a ready token for each, so that a newcomer can provision
//! users with `curl` and watch them arrive at the (simulated) vendor.

use std::net::SocketAddr;
use std::process::ExitCode;

use gateway::config::Config;
use vendor_sim::SimServer;
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};

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

pub async fn run(args: DemoArgs) -> ExitCode {
    let mytimetable = MyTimetableSim::new(MyTimetableConfig::default());
    let mtt_server = match mytimetable.start(vendor_sim::SimOptions {
        addr: sim_addr(&args, 0),
        ..vendor_sim::SimOptions::default()
    }) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("scim-bridge demo: cannot start the MyTimetable simulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mtt_url = format!("{}/api/v0", mtt_server.base_url());
    let simulators = vec![Simulator {
        hint: format!(
            "curl -s -H 'apiToken: {DEMO_ADMIN_TOKEN}' {mtt_url}/users {mtt_url}/synchronizations"
        ),
        server: mtt_server,
        title: "MyTimetable",
    }];

    let temp_db = std::env::temp_dir().join(format!("scim-bridge-demo-{}.db", std::process::id()));
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", temp_db.display()));
    let connectors = [
        ("directory", "no vendor: resources live in the store only"),
        ("mytimetable", "users and calendar synchronizations"),
    ];
    let tokens: Vec<_> = connectors
        .iter()
        .map(|_| gateway::auth::token::mint())
        .collect();
    let text = format!(
        r#"
        [server]
        listen = "{listen}"
        [store]
        url = "{store}"
        [connectors.directory]
        kind = "directory"
        auth.bearer_token_hashes = ["{directory_hash}"]
        [connectors.mytimetable]
        kind = "mytimetable"
        auth.bearer_token_hashes = ["{mtt_hash}"]
        [connectors.mytimetable.mytimetable]
        base_url = "{mtt_url}"
        api_token = "{DEMO_ADMIN_TOKEN}"
        default_sync_types = ["o365"]
        "#,
        listen = args.listen,
        directory_hash = tokens[0].hash,
        mtt_hash = tokens[1].hash,
    );
    let config = match Config::from_default(&text) {
        Ok(config) => config,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::FAILURE;
        }
    };
    init_logging(config.server.log_format);
    let server = match start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("scim-bridge demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = server.state().public_url.clone();
    println!("scim-bridge demo: running (Ctrl-C stops it); store {store}");
    for ((name, what), token) in connectors.iter().zip(&tokens) {
        println!("connector {name} ({what})");
        println!("  SCIM base URL: {base}/scim/v2/{name}");
        println!("  bearer token:  {}", token.token);
    }
    for sim in &simulators {
        println!("simulated {} at {}", sim.title, sim.server.base_url());
        println!("  look inside:   {}", sim.hint);
    }
    println!(
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
    ExitCode::SUCCESS
}
