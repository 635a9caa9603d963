//! `scim-bridge reconcile`: prints the drift between the store and a vendor, with a progress
//! bar on a terminal.

use std::path::Path;
use std::process::ExitCode;

use gateway::reconcile::{Drift, Progress, reconcile};

use crate::progress::Bar;

use crate::serve::load_checked;

/// Exit status when drift remains, so that a scheduled run can alert on it.
const EXIT_DRIFT: u8 = 3;

pub async fn run(connector: &str, config: &Path, import: bool) -> ExitCode {
    let config = match load_checked(config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    crate::serve::init_logging(config.server.log_format);
    let state = match gateway::state::AppState::new(&config, &scim_bridge::registry()).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("scim-bridge: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bar = Bar::new();
    let outcome = reconcile(&state, connector, import, &bar).await;
    bar.done();
    state.store.close().await;
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            eprintln!("scim-bridge: reconcile {connector}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{connector}: {} in the store, {} at the vendor, {} in sync",
        report.stored, report.at_vendor, report.in_sync
    );
    for drift in &report.drift {
        println!("  {drift}");
    }
    let only_at_vendor = report
        .drift
        .iter()
        .filter(|d| {
            matches!(
                d,
                Drift::OnlyAtVendor {
                    imported_as: None,
                    ..
                }
            )
        })
        .count();
    let unresolved = report.unresolved();
    if unresolved == 0 {
        println!("no drift");
        ExitCode::SUCCESS
    } else {
        println!("drift: {unresolved}");
        if only_at_vendor > 0 {
            println!(
                "run again with --import to import the {only_at_vendor} account(s) only at the vendor"
            );
        }
        ExitCode::from(EXIT_DRIFT)
    }
}
