//! `scim-bridge serve`, and the start-up every running command shares (`serve`, `demo`).

use std::path::PathBuf;
use std::process::ExitCode;

use gateway::auth::token::DefaultToken;
use gateway::config::{Config, LogFormat};
use gateway::server::RunningServer;

/// The configuration `serve` uses without a file.
const DEFAULT_CONFIG: &str = r#"
[store]
url = "sqlite://scim-bridge.db"

[connectors.directory]
kind = "directory"
"#;

pub fn init_logging(format: LogFormat) {
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

pub fn print_problems(problems: &[gateway::config::Problem]) {
    eprintln!(
        "scim-bridge: the configuration has {} problem(s):",
        problems.len()
    );
    for p in problems {
        eprintln!("  {p}");
    }
}

/// Loads the file at `path` (and the environment), printing what does not parse.
pub fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(Some(path)).map_err(|problems| {
        print_problems(&problems);
        ExitCode::from(2)
    })
}

/// [`load`], then every other problem of the configuration, printed: what a command that
/// works on a configuration (not `check-config`) starts with.
pub fn load_checked(path: &std::path::Path) -> Result<Config, ExitCode> {
    let config = load(path)?;
    let problems = config.problems(&scim_bridge::registry());
    if problems.is_empty() {
        Ok(config)
    } else {
        print_problems(&problems);
        Err(ExitCode::from(2))
    }
}

/// Binds, opens the store, finishes what a previous run left pending, and serves.
pub async fn start(mut config: Config) -> Result<RunningServer, String> {
    let tls = config
        .server
        .tls
        .as_ref()
        .map(gateway::tls::server_config)
        .transpose()
        .map_err(|e| format!("cannot serve HTTPS: {e}"))?;
    let listener = std::net::TcpListener::bind(config.server.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    if config.server.public_url.is_none() {
        // With port 0 the real port is known only now.
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        config.server.public_url = Some(format!("{scheme}://{addr}"));
    }
    let state = gateway::state::AppState::new(&config, &scim_bridge::registry())
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    let report = gateway::recovery::recover(&state)
        .await
        .map_err(|e| format!("cannot recover pending writes: {e}"))?;
    if report.total() > 0 {
        tracing::info!(?report, "finished the writes a previous run left pending");
    }
    let shutdown = std::time::Duration::from_secs(config.server.shutdown_timeout_secs);
    let (tls, reloader) = tls.unzip();
    let metrics = config
        .metrics
        .listen
        .map(|addr| {
            std::net::TcpListener::bind(addr)
                .map_err(|e| format!("cannot listen on {addr} for /metrics: {e}"))
        })
        .transpose()?;
    let mut server =
        gateway::server::start_with_tls(state, listener, config.server.workers, shutdown, tls)
            .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
    if let Some(metrics) = metrics {
        let addr = server
            .serve_metrics(metrics)
            .map_err(|e| format!("cannot serve /metrics: {e}"))?;
        tracing::info!(%addr, "serving /metrics on its own port");
        say!("scim-bridge: metrics at http://{addr}/metrics");
    }
    if let Some(reloader) = reloader {
        reloader.spawn();
    }
    Ok(server)
}

/// Where a configuration-less `serve` keeps its token's hash: beside its SQLite file
/// (`scim-bridge.db.token-hash`), or in the working directory for another store.
fn default_token_path(store_url: &str) -> PathBuf {
    match store_url.strip_prefix("sqlite://") {
        Some(rest) => {
            let file = rest.split('?').next().unwrap_or(rest);
            PathBuf::from(format!("{file}.token-hash"))
        }
        None => PathBuf::from("scim-bridge.token-hash"),
    }
}

pub async fn serve(path: Option<PathBuf>) -> ExitCode {
    let (config, minted) = match &path {
        Some(path) => match load(path) {
            Ok(config) => (config, None),
            Err(code) => return code,
        },
        None => {
            let mut config = match Config::from_default(DEFAULT_CONFIG) {
                Ok(config) => config,
                Err(problems) => {
                    print_problems(&problems);
                    return ExitCode::FAILURE;
                }
            };
            let path = default_token_path(&config.store.url);
            let token = match gateway::auth::token::kept_or_minted(&path) {
                Ok(token) => token,
                Err(e) => {
                    eprintln!("scim-bridge: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Some(directory) = config.connectors.get_mut("directory") {
                directory.auth.bearer_token_hashes = vec![token.hash().to_owned()];
            }
            (config, Some((token, path)))
        }
    };
    init_logging(config.server.log_format);
    let names: Vec<String> = config.connectors.keys().cloned().collect();
    let server = match start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("scim-bridge: {e}");
            return ExitCode::FAILURE;
        }
    };
    for name in names {
        say!(
            "scim-bridge: SCIM endpoint {}/scim/v2/{name}",
            server.state().public_url
        );
    }
    match minted {
        Some((DefaultToken::Minted(token), path)) => say!(
            "scim-bridge: bearer token (shown this once; its hash is kept in {}, so it works after a restart): {}",
            path.display(),
            token.token
        ),
        Some((DefaultToken::Kept { .. }, path)) => say!(
            "scim-bridge: bearer token: the one shown at the first start (its hash is in {}; delete that file to mint a new one)",
            path.display()
        ),
        None => {}
    }
    server.run_until_signal().await;
    ExitCode::SUCCESS
}
