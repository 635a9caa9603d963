//! `vendor-sim`: runs the vendor simulators as a standalone process, e.g.
//!
//! ```text
//! vendor-sim --mytimetable 127.0.0.1:7101 --workspace365 127.0.0.1:7102 \
//!            --timeedit 127.0.0.1:7103 --workspace365-env 127.0.0.1:7104
//! ```
//!
//! Each simulator is enabled by its address flag and prints its base URL and credentials at
//! start-up; Ctrl-C stops them all.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use vendor_sim::mytimetable::{
    ApiProfile, ApiToken, DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim,
};
use vendor_sim::timeedit::{
    DEFAULT_CERTIFICATE, DEFAULT_PASSWORD, DEFAULT_USERNAME, TimeEditConfig, TimeEditSim,
};
use vendor_sim::workspace365::{DEMO_PROVISIONING_KEY, Workspace365Config, Workspace365Sim};
use vendor_sim::workspace365_env::{Workspace365EnvConfig, Workspace365EnvSim};
use vendor_sim::{SimOptions, SimServer};

/// Stateful in-memory simulators of the vendor APIs, with a request log and fault injection.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Serve the MyTimetable provisioning API on this address.
    #[arg(long, value_name = "ADDR")]
    mytimetable: Option<SocketAddr>,
    /// MyTimetable `apiToken` with admin privilege (repeatable).
    #[arg(long = "mytimetable-admin-token", value_name = "TOKEN", default_value = DEMO_ADMIN_TOKEN)]
    mytimetable_admin_tokens: Vec<String>,
    /// MyTimetable `apiToken` without admin privilege, answered 403 (repeatable).
    #[arg(long = "mytimetable-token", value_name = "TOKEN")]
    mytimetable_tokens: Vec<String>,
    /// MyTimetable API version: `v8` (the seed) or `2019.16+` (user profiles, per-user syncs).
    #[arg(
        long = "mytimetable-profile",
        value_name = "PROFILE",
        default_value = "v8"
    )]
    mytimetable_profile: ApiProfile,
    /// Restrict MyTimetable synchronization types to these (repeatable; default: any).
    #[arg(long = "mytimetable-sync-type", value_name = "TYPE")]
    mytimetable_sync_types: Vec<String>,

    /// Serve the Workspace 365 Provisioning API (User) on this address.
    #[arg(long, value_name = "ADDR")]
    workspace365: Option<SocketAddr>,
    /// The Workspace 365 `ProvisioningKey`.
    #[arg(long = "workspace365-key", value_name = "KEY", default_value = DEMO_PROVISIONING_KEY)]
    workspace365_key: String,
    /// A Workspace 365 environment name (repeatable).
    #[arg(
        long = "workspace365-environment",
        value_name = "NAME",
        default_value = "example"
    )]
    workspace365_environments: Vec<String>,
    /// Workspace 365: require trailing slashes and `X-Requested-With: XMLHttpRequest`.
    #[arg(long = "workspace365-strict")]
    workspace365_strict: bool,

    /// Serve the TimeEdit SOAP user web service on this address.
    #[arg(long, value_name = "ADDR")]
    timeedit: Option<SocketAddr>,
    /// TimeEdit customer instance, the `{instance}` in `/soap/3/{instance}`.
    #[arg(long = "timeedit-instance", value_name = "ID", default_value = "sim")]
    timeedit_instance: String,
    /// TimeEdit application-key lifetime in seconds (0: keys never expire).
    #[arg(
        long = "timeedit-key-lifetime",
        value_name = "SECS",
        default_value_t = 3600
    )]
    timeedit_key_lifetime: u64,

    /// Serve the Workspace 365 environment API (ActiveDirectorySync and the rest) on this address.
    #[arg(long = "workspace365-env", value_name = "ADDR")]
    workspace365_env: Option<SocketAddr>,
    /// The environment the environment API serves.
    #[arg(
        long = "workspace365-env-name",
        value_name = "NAME",
        default_value = "example"
    )]
    workspace365_env_name: String,
    /// The ActiveDirectorySync token (`Basic base64(token:)`).
    #[arg(
        long = "workspace365-adsync-token",
        value_name = "TOKEN",
        default_value = "adsync-demo-token"
    )]
    workspace365_adsync_token: String,
    /// The environment API key (`Workspace365 {token}`).
    #[arg(
        long = "workspace365-api-key",
        value_name = "TOKEN",
        default_value = "api-demo-token"
    )]
    workspace365_api_key: String,

    /// actix worker threads per simulator.
    #[arg(long, value_name = "N", default_value_t = 1)]
    workers: usize,
    /// Seed of the fault plans' random draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl Args {
    fn options(&self, addr: SocketAddr) -> SimOptions {
        SimOptions {
            addr,
            workers: self.workers.max(1),
            seed: self.seed,
            ..SimOptions::default()
        }
    }
}

/// One started simulator and what to print about it.
struct Running {
    name: &'static str,
    url: String,
    credentials: String,
    server: SimServer,
}

fn start_all(args: &Args) -> std::io::Result<Vec<Running>> {
    let mut running = Vec::new();

    if let Some(addr) = args.mytimetable {
        let tokens = (args.mytimetable_admin_tokens.iter().map(ApiToken::admin))
            .chain(args.mytimetable_tokens.iter().map(ApiToken::non_admin))
            .collect();
        let sync_types =
            (!args.mytimetable_sync_types.is_empty()).then(|| args.mytimetable_sync_types.clone());
        let sim = MyTimetableSim::new(MyTimetableConfig {
            tokens,
            sync_types,
            profile: args.mytimetable_profile,
        });
        let server = sim.start(args.options(addr))?;
        running.push(Running {
            name: "mytimetable",
            url: format!("{}/api/v0", server.base_url()),
            credentials: if args.mytimetable_tokens.is_empty() {
                format!(
                    "apiToken (admin): {}",
                    args.mytimetable_admin_tokens.join(", ")
                )
            } else {
                format!(
                    "apiToken (admin): {}; without admin: {}",
                    args.mytimetable_admin_tokens.join(", "),
                    args.mytimetable_tokens.join(", ")
                )
            },
            server,
        });
    }

    if let Some(addr) = args.workspace365 {
        let sim = Workspace365Sim::new(Workspace365Config {
            provisioning_key: Some(args.workspace365_key.clone()),
            environments: args.workspace365_environments.clone(),
            strict_trailing_slash: args.workspace365_strict,
            require_x_requested_with: args.workspace365_strict,
            ..Workspace365Config::default()
        });
        let server = sim.start(args.options(addr))?;
        running.push(Running {
            name: "workspace365",
            url: sim.api_base(&server),
            credentials: format!(
                "ProvisioningKey: {}; environments: {}",
                args.workspace365_key,
                args.workspace365_environments.join(", ")
            ),
            server,
        });
    }

    if let Some(addr) = args.timeedit {
        let sim = TimeEditSim::new(TimeEditConfig {
            instance: args.timeedit_instance.clone(),
            key_lifetime: (args.timeedit_key_lifetime > 0)
                .then(|| std::time::Duration::from_secs(args.timeedit_key_lifetime)),
            ..TimeEditConfig::default()
        });
        let server = sim.start(args.options(addr))?;
        running.push(Running {
            name: "timeedit",
            url: format!("{}{}", server.base_url(), sim.endpoint_path()),
            credentials: format!(
                "certificate: {DEFAULT_CERTIFICATE}; login: {DEFAULT_USERNAME} / {DEFAULT_PASSWORD}; WSDL at {}{}",
                server.base_url(),
                sim.wsdl_path()
            ),
            server,
        });
    }

    if let Some(addr) = args.workspace365_env {
        let sim = Workspace365EnvSim::new(Workspace365EnvConfig::single(
            args.workspace365_env_name.clone(),
            args.workspace365_adsync_token.clone(),
            args.workspace365_api_key.clone(),
        ));
        let server = sim.start(args.options(addr))?;
        running.push(Running {
            name: "workspace365-env",
            url: format!("{}/{}", server.base_url(), args.workspace365_env_name),
            credentials: format!(
                "AD sync: Basic base64({}:); API: Workspace365 {}",
                args.workspace365_adsync_token, args.workspace365_api_key
            ),
            server,
        });
    }

    Ok(running)
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let running = match start_all(&args) {
        Ok(running) if running.is_empty() => {
            eprintln!("vendor-sim: no simulator selected; try --mytimetable 127.0.0.1:7101");
            return ExitCode::from(2);
        }
        Ok(running) => running,
        Err(e) => {
            eprintln!("vendor-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    for sim in &running {
        println!("{:<17} {}  ({})", sim.name, sim.url, sim.credentials);
    }
    println!(
        "vendor-sim: {} simulator(s) running; Ctrl-C to stop",
        running.len()
    );

    let signal = tokio::signal::ctrl_c().await;
    futures_util::future::join_all(running.into_iter().map(|sim| sim.server.stop())).await;
    match signal {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vendor-sim: cannot wait for Ctrl-C: {e}");
            ExitCode::FAILURE
        }
    }
}
