//! `scim-bench`: the command line over the `bench` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::report::{parse_duration, table};
use bench::{Bench, BenchConfig, GroupsReport, Report, Scenario, reference};
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
    /// Scenarios to run in turn, comma-separated: seed, filter, get, create, patch, bulk,
    /// groups.
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
    /// First run filter and get against a bare actix-web server in this process, and give
    /// each rate also as a ratio to that reference's.
    #[arg(long)]
    reference: bool,
    /// Workers of the reference server.
    #[arg(long, default_value_t = reference::DEFAULT_WORKERS)]
    reference_workers: usize,
    /// Members the groups scenario grows its group to (it needs this plus --group-ops users).
    #[arg(long, default_value_t = 100_000)]
    group_size: u64,
    /// Times the groups scenario repeats each operation at full size.
    #[arg(long, default_value_t = 200)]
    group_ops: u64,
    /// The server's SQLite file: groups reports its size (with -wal and -shm) before and after.
    #[arg(long)]
    store_path: Option<PathBuf>,
    /// The server's process id: groups reports its RssAnon and RssFile before and after.
    #[arg(long)]
    pid: Option<u32>,
    /// Leave the groups scenario's group in the server (to inspect the store afterwards).
    #[arg(long)]
    keep_group: bool,
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
    config.group_size = cli.group_size;
    config.group_ops = cli.group_ops;
    config.store_path = cli.store_path;
    config.pid = cli.pid;
    config.keep_group = cli.keep_group;
    let json = cli.json;
    let mut reports: Vec<Report> = Vec::new();
    if cli.reference {
        let measured = reference::measure(
            &config,
            &cli.scenario,
            cli.reference_workers.max(1),
            |report| progress(report, json),
        )
        .await;
        match measured {
            Ok(r) => reports = r,
            Err(e) => {
                eprintln!("scim-bench: reference: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let references = reports.clone();
    let bench = match Bench::new(config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("scim-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut groups: Vec<GroupsReport> = Vec::new();
    for scenario in cli.scenario {
        if !scenario.is_load() {
            match bench.groups().await {
                Ok(report) => {
                    if json {
                        println!("{}", report.to_json());
                    } else {
                        eprintln!(
                            "{scenario}: {} members in {:.1} s, then each operation at size",
                            report.group_size,
                            report.build.as_secs_f64()
                        );
                    }
                    groups.push(report);
                }
                Err(e) => {
                    eprintln!("scim-bench: {scenario}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            continue;
        }
        match bench.run(scenario).await {
            Ok(mut report) => {
                report.compare_to(&references);
                progress(&report, json);
                reports.push(report);
            }
            Err(e) => {
                eprintln!("scim-bench: {scenario}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if !json {
        if !reports.is_empty() {
            print!("{}", table(&reports));
        }
        for report in &groups {
            print!("{}", report.text());
        }
    }
    ExitCode::SUCCESS
}

/// Tells a finished load scenario: its JSON line, or a line on stderr before the table.
fn progress(report: &Report, json: bool) {
    if json {
        println!("{}", report.to_json());
        return;
    }
    let ratio = report
        .ratio_to_reference
        .map_or_else(String::new, |x| format!(", {x:.3} of the reference"));
    eprintln!(
        "{}: {:.0} req/s ({} ok, {} errors{ratio})",
        report.label(),
        report.rate(),
        report.ok,
        report.error_count()
    );
}
