//! `scim-bench`: the command line over the `bench` library.

use std::process::ExitCode;
use std::time::Duration;

use bench::report::{parse_duration, table};
use bench::{Bench, BenchConfig, Report, Scenario};
use clap::{ArgAction, Parser};

/// Load benchmark for SCIM 2.0 servers: requests per second and latency percentiles.
#[derive(Parser)]
#[command(name = "scim-bench", version)]
struct Cli {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2/test.
    #[arg(long)]
    base_url: String,
    /// Bearer token.
    #[arg(long, env = "SCIM_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// Scenarios to run in turn, comma-separated: seed, filter, get, create, patch, bulk.
    #[arg(long, value_delimiter = ',', required = true)]
    scenario: Vec<Scenario>,
    /// Worker tasks (one request in flight each) and pooled connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured time per scenario: 10s, 1m, 500ms or plain seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Measure this many operations instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured load before each scenario.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Users to seed, and the range random users are drawn from.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed through /Bulk, 1000 users per request.
    #[arg(long)]
    bulk: bool,
    /// Creates per request in the bulk scenario.
    #[arg(long, default_value_t = 100)]
    bulk_size: u64,
    /// In create, look the userName up first as Entra does (`--match-first false` to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    match_first: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print one JSON object per scenario instead of the table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = BenchConfig::new(cli.base_url, cli.token, cli.scenario[0]);
    config.concurrency = cli.concurrency.max(1);
    config.duration = cli.duration;
    config.requests = cli.requests;
    config.warmup = cli.warmup;
    config.users = cli.users;
    config.seed = cli.seed;
    config.bulk = cli.bulk;
    config.bulk_size = cli.bulk_size.max(1);
    config.match_first = cli.match_first;
    config.timeout = cli.timeout;
    let bench = match Bench::new(config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("scim-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut reports: Vec<Report> = Vec::new();
    for scenario in cli.scenario {
        match bench.run(scenario).await {
            Ok(report) => {
                if cli.json {
                    println!("{}", report.to_json());
                } else {
                    eprintln!(
                        "{scenario}: {:.0} req/s ({} ok, {} errors)",
                        report.rate(),
                        report.ok,
                        report.error_count()
                    );
                }
                reports.push(report);
            }
            Err(e) => {
                eprintln!("scim-bench: {scenario}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if !cli.json {
        print!("{}", table(&reports));
    }
    ExitCode::SUCCESS
}
