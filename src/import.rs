//! `scim-bridge import`: users from an HR export through a connector, with a progress bar, a
//! summary, and every failed row with its reason.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gateway::import::{ColumnMap, Format, Outcome, Summary, import, parse};
use gateway::reconcile::Progress;
use gateway::writer::Writer;
use scim::ResourceKind;

use crate::progress::Bar;
use crate::serve::load_checked;

/// Exit status when some rows failed, or deliveries they queued failed for good.
const EXIT_ROWS_FAILED: u8 = 3;
/// Exit status when deliveries the import queued still wait at `--wait-secs` (a worker goes on
/// trying them; the admin API shows them).
const EXIT_DELIVERIES_WAITING: u8 = 4;

/// How often the queue is looked at while waiting for deliveries.
const DELIVERY_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// What `import` takes from the command line.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A CSV file (header row of SCIM attribute paths) or a JSON file (an array of Users, or a
    /// ListResponse).
    file: PathBuf,
    /// The connector the users go to.
    #[arg(long)]
    connector: String,
    #[arg(long, short, env = "SCIM_BRIDGE_CONFIG")]
    config: PathBuf,
    /// `csv` or `json`; default: from the file's extension.
    #[arg(long)]
    format: Option<String>,
    /// Also write the failed rows to this CSV file (line, userName, status, scimType, detail).
    #[arg(long)]
    report: Option<PathBuf>,
    /// A TOML file naming, for each of the CSV's own column headers, the SCIM column path it
    /// stands for (`"First name" = "name.givenName"`); columns it does not name are left out.
    #[arg(long)]
    map: Option<PathBuf>,
    /// For a connector with queued delivery: how long to wait for the vendor to accept what
    /// was queued (this process delivers meanwhile, beside any running gateway). Exit 3 if a
    /// delivery failed for good, 4 if some still wait then.
    #[arg(long, default_value_t = 120)]
    wait_secs: u64,
}

fn column_map(path: &Path) -> Result<ColumnMap, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the column map {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        format!(
            "the column map {} must be a table of \"CSV header\" = \"SCIM path\": {e}",
            path.display()
        )
    })
}

fn format_of(args: &ImportArgs) -> Result<Format, String> {
    match args
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        Some(other) => Err(format!("unknown format \"{other}\": use csv or json")),
        None => Format::of_path(&args.file).ok_or_else(|| {
            format!(
                "cannot tell the format of {} from its name: pass --format csv or --format json",
                args.file.display()
            )
        }),
    }
}

pub async fn run(args: ImportArgs) -> ExitCode {
    let config = match load_checked(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match import_file(&args, &config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scim-bridge import: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import_file(
    args: &ImportArgs,
    config: &gateway::config::Config,
) -> Result<ExitCode, String> {
    let format = format_of(args)?;
    let columns = args.map.as_deref().map(column_map).transpose()?;
    if columns.is_some() && format != Format::Csv {
        return Err("--map renames CSV columns; a JSON file is read as SCIM already".into());
    }
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    crate::serve::init_logging(config.server.log_format);
    let state = gateway::state::AppState::new(config, &scim_bridge::registry())
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    let state = std::sync::Arc::new(state);
    let runtime = state
        .connectors
        .get(&args.connector)
        .cloned()
        .ok_or_else(|| format!("there is no connector named \"{}\"", args.connector))?;
    let queued = runtime.delivery == gateway::config::DeliveryMode::Queued;
    // One id for this run's writes: its queued deliveries are found by it.
    let request_id = format!(
        "import-{}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
        std::process::id()
    );
    let writer = Writer::new(state.clone(), runtime, Some(request_id.clone()));
    let schema = writer
        .runtime()
        .schema(ResourceKind::User)
        .ok_or("the connector offers no Users")?;
    let rows = parse(&text, format, schema, columns.as_ref()).map_err(|e| e.to_string())?;
    let bar = Bar::new();
    let results = import(&writer, rows, &bar).await;
    bar.done();
    let summary = Summary::of(&results);
    let deliveries = if queued && summary.created + summary.updated > 0 {
        Some(deliver(&state, &args.connector, &request_id, args.wait_secs).await?)
    } else {
        None
    };
    if let Some(trail) = &state.trail {
        trail.flush().await;
    }
    state.store.close().await;

    println!(
        "{}: {} created, {} updated, {} unchanged, {} failed",
        args.file.display(),
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.failed
    );
    let mut report = args.report.as_deref().map(open_report).transpose()?;
    for result in &results {
        let Outcome::Failed {
            status,
            scim_type,
            detail,
        } = &result.outcome
        else {
            continue;
        };
        let name = result.user_name.as_deref().unwrap_or("(no userName)");
        let kind = scim_type
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default();
        println!("  line {} ({name}): {status}{kind}: {detail}", result.line);
        if let Some(writer) = report.as_mut() {
            writer
                .write_record([
                    result.line.to_string().as_str(),
                    name,
                    status.to_string().as_str(),
                    scim_type.as_deref().unwrap_or(""),
                    detail.as_str(),
                ])
                .map_err(|e| format!("cannot write the report: {e}"))?;
        }
    }
    if let Some(mut writer) = report {
        writer
            .flush()
            .map_err(|e| format!("cannot write the report: {e}"))?;
    }
    let mut code = if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ROWS_FAILED)
    };
    if let Some(report) = deliveries {
        code = report_deliveries(&report, &args.connector).unwrap_or(code);
    }
    Ok(code)
}

/// Delivers what the import queued (a worker of its own, sharing the queue with any running
/// gateway through the store's leases) and waits for it, up to `wait_secs`.
async fn deliver(
    state: &std::sync::Arc<gateway::state::AppState>,
    connector: &str,
    request_id: &str,
    wait_secs: u64,
) -> Result<gateway::import::DeliveryReport, String> {
    println!("waiting up to {wait_secs} s for the vendor to accept the queued writes …");
    let worker = gateway::delivery::Worker::spawn(actix_web::web::Data::from(state.clone()));
    let report = gateway::import::wait_for_deliveries(
        state,
        connector,
        request_id,
        std::time::Duration::from_secs(wait_secs),
        DELIVERY_POLL,
    )
    .await;
    worker.stop().await;
    report.map_err(|e| format!("cannot read the delivery queue: {e}"))
}

/// Prints the deliveries that did not reach the vendor; the exit status they call for.
fn report_deliveries(
    report: &gateway::import::DeliveryReport,
    connector: &str,
) -> Option<ExitCode> {
    if report.all_delivered() {
        println!("every queued write reached the vendor");
        return None;
    }
    let reason = |r: &Option<String>| r.clone().unwrap_or_else(|| "not attempted yet".into());
    if !report.failed.is_empty() {
        println!(
            "{} deliveries failed for good (retry them with POST /admin/queue/retry?connector={connector} once the cause is fixed):",
            report.failed.len()
        );
        for d in &report.failed {
            println!("  {}: {}", d.id, reason(&d.reason));
        }
    }
    if !report.waiting.is_empty() {
        println!(
            "{} deliveries still wait for the vendor (a running gateway goes on trying; see GET /admin/queue?connector={connector}):",
            report.waiting.len()
        );
        for d in &report.waiting {
            println!("  {}: {}", d.id, reason(&d.reason));
        }
    }
    Some(ExitCode::from(if report.failed.is_empty() {
        EXIT_DELIVERIES_WAITING
    } else {
        EXIT_ROWS_FAILED
    }))
}

fn open_report(path: &Path) -> Result<csv::Writer<std::fs::File>, String> {
    let mut writer = csv::Writer::from_path(path)
        .map_err(|e| format!("cannot create the report {}: {e}", path.display()))?;
    writer
        .write_record(["line", "userName", "status", "scimType", "detail"])
        .map_err(|e| format!("cannot write the report: {e}"))?;
    Ok(writer)
}
