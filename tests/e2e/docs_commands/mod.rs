//! Every command the README and `docs/` show is run, or named here with the test that covers
//! it instead; every relative link of theirs points at a file that exists.
//!
//! The commands are the lines of each ```sh block (a `\` at the end of a line joins the next;
//! comments and blank lines are skipped), and the indented `#   scim-bridge …` and
//! `#   cargo …` lines that open each file of `examples/`. Each is classified:
//!
//! * `curl` runs against the demo (`scim-bridge demo` on free ports), through a small curl of
//!   ours: the README's host:ports become the demo's, `TOKEN=…` the live token of the
//!   connector the request goes to, `ID=…` the `id` of the last POST's answer. The Docker
//!   Compose section, and any block that uses `$ADMIN`, runs against a replica started from
//!   `deploy/compose.toml` instead (the demo has no admin API). Every answer must be 2xx, and
//!   every operation of a Bulk answer too.
//! * `scim-bridge …` and `cargo run … -- …` run in a scratch directory that holds the
//!   examples, with the simulators where the examples expect them (`vendor-sim` on free ports,
//!   the copies of the examples pointed at them) and the files the docs show (a block after
//!   `<!-- file: NAME -->`). A command must exit 0, or the status its comment names
//!   (`# exit status 3`). `serve` must get ready, and with an example configuration take a
//!   user through each of its connectors with the example token; `vendor-sim` must start
//!   every simulator it is given.
//! * What cannot run here (Docker, cargo itself, fuzzing, a cluster) is in [`ELSEWHERE`], with
//!   the test that covers it instead.
//!
//! A command no rule covers fails `every_command_in_the_docs_has_a_rule`, naming its file and
//! line.

mod curl;
pub(crate) mod markdown;
mod processes;
mod shell;

use std::collections::BTreeMap;
use std::path::Path;

use curl::{Curl, Http, curl_blocks, run_block};
use markdown::{Line, all_lines, anchors, links, markdown_files, read};
use processes::{
    Simulators, clone_dir, run_to_end, scim_bridge, scratch, serve, start_composed, start_demo,
    start_simulators, vendor_sim,
};
use shell::{Kind, Program, classify};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Commands that cannot run here: (how the command starts, what covers it instead).
const ELSEWHERE: &[(&str, &str)] = &[
    (
        "cargo test --workspace",
        "what CI runs (cargo itself): deploy::ci_runs_the_readmes_test_command checks that .ci/run runs the README's command",
    ),
    (
        "docker compose ",
        "needs a Docker engine: the deploy tests check docker-compose.yml, the Dockerfile and deploy/ against the binaries, and deploy::a_replica_as_composed_provisions_through_every_connector runs a replica as composed",
    ),
    (
        "docker ",
        "needs a Docker engine: the deploy tests check the Dockerfile against the binaries",
    ),
    (
        "cd fuzz",
        "enters the fuzz crate for the fuzzing commands after it",
    ),
    (
        "cargo +nightly fuzz run ",
        "needs the nightly toolchain and cargo-fuzz; every_command_in_the_docs_has_a_rule checks that the target and the seed directory it names exist",
    ),
    (
        "kubectl ",
        "needs a Kubernetes cluster: deploy::kubernetes checks the manifests of deploy/kubernetes/ against the binaries (the ConfigMap's configuration with check-config, the Deployment's command line, ports, probes, mounts and secret keys)",
    ),
];

/// `scim-bridge demo`: started by this test, on free ports, for every `curl`.
const DEMO_COVERED_BY: &str = "the demo itself: the_curl_commands_run_against_the_demo starts it (the same binary, on free ports) and runs every curl against it; cli::demo_provisions_into_its_simulated_mytimetable too";

#[test]
fn every_command_in_the_docs_has_a_rule() {
    let (lines, mut problems) = all_lines();
    let mut elsewhere = BTreeMap::<&str, Vec<String>>::new();
    for line in &lines {
        match classify(line) {
            Ok(Kind::Curl(words)) => {
                if let Err(e) = Curl::parse(&words) {
                    problems.push(format!("{}: {e}: {}", line.at(), line.text));
                }
            }
            Ok(Kind::Elsewhere(covered_by)) => {
                elsewhere.entry(covered_by).or_default().push(line.at());
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}: {}", line.at(), line.text)),
        }
    }
    assert!(
        lines.iter().any(|l| l.file == "README.md"),
        "no command found in the README"
    );
    assert!(
        problems.is_empty(),
        "commands no rule covers (run them in tests/e2e/docs_commands/, or name the test that covers them in ELSEWHERE):\n{}",
        problems.join("\n")
    );
    // What is covered elsewhere, for the record (`--nocapture` shows it).
    for (covered_by, at) in elsewhere {
        println!("{}: {covered_by}", at.join(", "));
    }
}

#[test]
fn the_curl_commands_run_against_the_demo() {
    let blocks = curl_blocks(false);
    assert!(!blocks.is_empty(), "no curl commands for the demo");
    let (_demo, target) = start_demo();
    let http = Http::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in &blocks {
        let lines: Vec<&Line> = block.iter().collect();
        match run_block(&http, &target, &lines) {
            Ok(n) => ran += n,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} curl command(s) ran; these failed:\n{}",
        ran,
        failures.join("\n")
    );
}

#[test]
fn the_compose_sections_curl_commands_run_against_a_replica_as_composed() {
    let blocks = curl_blocks(true);
    assert!(
        !blocks.is_empty(),
        "no curl commands for the compose deployment"
    );
    let dir = scratch("compose");
    let sims = Simulators::start();
    let (_replica, target) = start_composed(&sims, &dir);
    let http = Http::new();
    let mut failures = Vec::new();
    for block in &blocks {
        let lines: Vec<&Line> = block.iter().collect();
        if let Err(e) = run_block(&http, &target, &lines) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_scim_bridge_commands_run_in_a_clone_with_the_simulators() {
    let (lines, _) = all_lines();
    let sims = Simulators::start();
    let dir = clone_dir(&sims);
    // `mapping preview --name` reads a user from the store: the one of user.json.
    let user = read(&dir.join("user.json"));
    std::fs::write(dir.join("seed.json"), format!("[{user}]")).expect("write");
    let seed: Vec<String> = [
        "import",
        "seed.json",
        "--connector",
        "timetable",
        "--config",
        "examples/timeedit-university.toml",
    ]
    .map(str::to_owned)
    .to_vec();
    let (status, stdout, stderr) =
        run_to_end(&scim_bridge(), &dir, &[], &seed, None).expect("the seed import runs");
    assert_eq!(status, 0, "the seed import: {stdout}{stderr}");

    let http = Http::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (serial, line) in lines.iter().enumerate() {
        let outcome = match classify(line) {
            Ok(Kind::Run {
                program,
                env,
                args,
                stdin,
                status,
            }) => {
                let path = match program {
                    Program::ScimBridge => scim_bridge(),
                    Program::VendorSim => vendor_sim(),
                };
                run_to_end(&path, &dir, &env, &args, stdin.as_deref()).and_then(
                    |(code, stdout, stderr)| {
                        if code == status {
                            Ok(())
                        } else {
                            Err(format!(
                                "exit status {code}, not {status}:\n{stdout}{stderr}"
                            ))
                        }
                    },
                )
            }
            Ok(Kind::Serve { env, args }) => serve(&http, &dir, &env, &args, serial),
            Ok(Kind::Simulators { args }) => {
                // Each address the docs give becomes a free port; the rest stays.
                let wanted = args
                    .iter()
                    .filter(|a| a.parse::<std::net::SocketAddr>().is_ok())
                    .count();
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match a.parse::<std::net::SocketAddr>() {
                        Ok(_) => "127.0.0.1:0".to_owned(),
                        Err(_) => a.clone(),
                    })
                    .collect();
                start_simulators(&args).and_then(|(_child, started)| {
                    if started.len() == wanted && wanted > 0 {
                        Ok(())
                    } else {
                        Err(format!(
                            "{wanted} simulator(s) asked for, started: {started:?}"
                        ))
                    }
                })
            }
            _ => continue,
        };
        ran += 1;
        match outcome {
            Ok(()) => println!("ran {}: {}", line.at(), line.text),
            Err(e) => failures.push(format!("{}: {}\n    {e}", line.at(), line.text)),
        }
    }
    assert!(ran > 0, "no scim-bridge command found");
    assert!(
        failures.is_empty(),
        "{ran} command(s) ran in {}; these failed:\n{}",
        dir.display(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_relative_link_points_at_a_file() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let path = Path::new(ROOT).join(&file);
        let text = read(&path);
        for (line, target) in links(&text) {
            let target = target.split_whitespace().next().unwrap_or_default();
            if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            checked += 1;
            let (file_part, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target, None),
            };
            let linked = if file_part.is_empty() {
                path.clone()
            } else {
                path.parent().expect("dir").join(file_part)
            };
            if !linked.exists() {
                problems.push(format!("{file}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor
                && linked.extension().is_some_and(|e| e == "md")
                && !anchors(&read(&linked)).contains(anchor)
            {
                problems.push(format!(
                    "{file}:{line}: {target}: no heading with the anchor #{anchor}"
                ));
            }
        }
    }
    assert!(checked > 0, "no relative link found");
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}
