//! `scim-bridge`: the command line over the gateway library (see `--help`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gateway::config::{Config, LogFormat};

/// A SCIM 2.0 gateway for applications without SCIM: Entra ID, Okta and HR systems provision
/// through standard SCIM, and each connector turns that into a vendor's API.
#[derive(Debug, Parser)]
#[command(name = "scim-bridge", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway. Without --config: one `directory` connector (no vendor) on the SQLite
    /// file ./scim-bridge.db, listening on 127.0.0.1:8080, with a fresh bearer token printed
    /// at start.
    Serve {
        /// The TOML configuration (see examples/). Every key can be overridden from the
        /// environment: SCIM_BRIDGE_SERVER__LISTEN=0.0.0.0:8080.
        #[arg(long, short, env = "SCIM_BRIDGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a configuration and explain every mistake, with its key and a fix.
    CheckConfig {
        #[arg(long, short, env = "SCIM_BRIDGE_CONFIG")]
        config: PathBuf,
    },
    /// Mint a bearer token: prints the token (give it to the identity provider) and its hash
    /// (put it in the connector's auth.bearer_token_hashes). With --password, reads a Basic
    /// password from standard input and prints its hash instead.
    Token {
        #[arg(long)]
        password: bool,
    },
}

/// The configuration `serve` uses without a file.
const DEFAULT_CONFIG: &str = r#"
[store]
url = "sqlite://scim-bridge.db"

[connectors.directory]
kind = "directory"
"#;

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Logs go to stderr (stdout carries what the commands print), coloured only on a terminal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn print_problems(problems: &[gateway::config::Problem]) {
    eprintln!(
        "scim-bridge: the configuration has {} problem(s):",
        problems.len()
    );
    for p in problems {
        eprintln!("  {p}");
    }
}

async fn serve(path: Option<PathBuf>) -> ExitCode {
    let (config, minted) = match &path {
        Some(path) => match Config::load(Some(path)) {
            Ok(config) => (config, None),
            Err(problems) => {
                print_problems(&problems);
                return ExitCode::from(2);
            }
        },
        None => {
            let token = gateway::auth::token::mint();
            let mut config = match Config::from_default(DEFAULT_CONFIG) {
                Ok(config) => config,
                Err(problems) => {
                    print_problems(&problems);
                    return ExitCode::FAILURE;
                }
            };
            if let Some(directory) = config.connectors.get_mut("directory") {
                directory.auth.bearer_token_hashes = vec![token.hash.clone()];
            }
            (config, Some(token))
        }
    };
    init_logging(config.server.log_format);
    let listener = match std::net::TcpListener::bind(config.server.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "scim-bridge: cannot listen on {}: {e}",
                config.server.listen
            );
            return ExitCode::FAILURE;
        }
    };
    let state = match gateway::state::AppState::new(&config).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("scim-bridge: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match state.recover().await {
        Ok(report) if report.total() > 0 => {
            tracing::info!(?report, "finished the writes a previous run left pending")
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("scim-bridge: cannot recover pending writes: {e}");
            return ExitCode::FAILURE;
        }
    }
    let shutdown = std::time::Duration::from_secs(config.server.shutdown_timeout_secs);
    let server = match gateway::server::start(state, listener, config.server.workers, shutdown) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("scim-bridge: cannot start the HTTP server: {e}");
            return ExitCode::FAILURE;
        }
    };
    for name in config.connectors.keys() {
        println!(
            "scim-bridge: SCIM endpoint {}/scim/v2/{name}",
            config.public_url()
        );
    }
    if let Some(token) = minted {
        println!(
            "scim-bridge: bearer token for this run (shown once, stored only as a hash): {}",
            token.token
        );
    }
    server.run_until_signal().await;
    ExitCode::SUCCESS
}

fn check_config(path: PathBuf) -> ExitCode {
    match Config::load(Some(&path)) {
        Err(problems) => {
            print_problems(&problems);
            ExitCode::from(2)
        }
        Ok(config) => {
            let problems = config.problems();
            if problems.is_empty() {
                println!(
                    "{}: ok ({} connector(s): {})",
                    path.display(),
                    config.connectors.len(),
                    config
                        .connectors
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                ExitCode::SUCCESS
            } else {
                print_problems(&problems);
                ExitCode::from(2)
            }
        }
    }
}

fn token(password: bool) -> ExitCode {
    if password {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("scim-bridge: cannot read the password: {e}");
            return ExitCode::FAILURE;
        }
        match gateway::auth::token::hash_password(line.trim_end_matches(['\r', '\n'])) {
            Ok(hash) => {
                println!("password_hash = \"{hash}\"");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("scim-bridge: cannot hash the password: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        let minted = gateway::auth::token::mint();
        println!("token: {}", minted.token);
        println!("bearer_token_hashes = [\"{}\"]", minted.hash);
        ExitCode::SUCCESS
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config).await,
        Command::CheckConfig { config } => check_config(config),
        Command::Token { password } => token(password),
    }
}
