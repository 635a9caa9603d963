//! `scim-bridge mapping preview`: what each vendor call would carry for one resource, through
//! a connector's mapping, without calling the vendor.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway::preview::{Preview, Subject, preview};
use scim::ResourceKind;
use serde_json::{Value, json};

use crate::serve::load_checked;

/// Exit status when a write of the resource would be refused.
const EXIT_REFUSED: u8 = 3;

#[derive(Debug, clap::Subcommand)]
pub enum MappingCommand {
    /// Print each vendor field with its rule and value, and each vendor call a write of one
    /// resource would make with what it carries. No vendor is called. Exit status 3 when the
    /// write would be refused.
    Preview(PreviewArgs),
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// A SCIM resource (JSON), as an identity provider would POST it.
    #[arg(conflicts_with_all = ["id", "name"], required_unless_present_any = ["id", "name"])]
    file: Option<PathBuf>,
    /// A resource in the store, by SCIM id.
    #[arg(long, conflicts_with = "name")]
    id: Option<String>,
    /// A resource in the store, by userName (a Group: displayName).
    #[arg(long)]
    name: Option<String>,
    /// The connector, by its name in the configuration.
    #[arg(long)]
    connector: String,
    /// `user` or `group`.
    #[arg(long, default_value = "user")]
    kind: String,
    #[arg(long, short, env = "SCIM_BRIDGE_CONFIG")]
    config: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: MappingCommand) -> ExitCode {
    let MappingCommand::Preview(args) = command;
    let Some(kind) = ResourceKind::from_name(&args.kind) else {
        eprintln!(
            "scim-bridge: unknown kind \"{}\": use user or group",
            args.kind
        );
        return ExitCode::from(2);
    };
    let subject = match (&args.file, args.id.clone(), args.name.clone()) {
        (Some(file), _, _) => {
            let read = std::fs::read_to_string(file).map_err(|e| e.to_string());
            match read
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()))
            {
                Ok(body) => Subject::Resource(body),
                Err(e) => {
                    eprintln!("scim-bridge: cannot read {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            }
        }
        (None, Some(id), _) => Subject::Id(id),
        (None, None, Some(name)) => Subject::Name(name),
        (None, None, None) => unreachable!("clap requires one of them"),
    };
    let config = match load_checked(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let state = match gateway::state::AppState::new(&config, &scim_bridge::registry()).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("scim-bridge: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = preview(&state, &args.connector, kind, subject).await;
    state.store.close().await;
    let shown = match outcome {
        Ok(shown) => shown,
        Err(e) => {
            eprintln!("scim-bridge: {}", e.error);
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&as_json(&shown)).unwrap_or_default()
        );
    } else {
        print_text(&args.connector, kind, &shown);
    }
    if shown.calls.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    }
}

fn as_json(shown: &Preview) -> Value {
    let mut out = json!({"id": shown.id, "fields": shown.fields});
    match &shown.calls {
        Ok(calls) => out["calls"] = json!(calls),
        Err(e) => out["refused"] = e.error.to_json(),
    }
    out
}

fn print_text(connector: &str, kind: ResourceKind, shown: &Preview) {
    println!("{connector}: {kind} {}", shown.id);
    if !shown.fields.is_empty() {
        println!("\nfields:");
        for field in &shown.fields {
            let values = match field.values.as_slice() {
                [] => "(none)".to_owned(),
                [one] => format!("{one:?}"),
                many => format!("{many:?}"),
            };
            println!("  {} = {}\n      -> {values}", field.key, field.rule);
        }
    }
    match &shown.calls {
        Ok(calls) if calls.is_empty() => println!("\nno vendor call"),
        Ok(calls) => {
            println!("\ncalls:");
            for (i, call) in calls.iter().enumerate() {
                println!("  {}. {}", i + 1, call.call);
                if !call.body.is_empty() {
                    println!("     {}", call.body);
                }
            }
        }
        Err(e) => println!("\nrefused: {}", e.error),
    }
}
