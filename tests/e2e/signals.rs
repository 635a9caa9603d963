//! What an operator is told when a vendor refuses our credentials, through the `scim-bridge`
//! binary as it runs in production: `/metrics` on its own port behind a token, the vendor-call
//! series and the credentials gauge for sync and queued connectors alike, one ERROR line per
//! refusal (not per call), and `import` failing when what it queued never reaches the vendor.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use vendor_sim::SimOptions;
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};

/// A child process, killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Three MyTimetable connectors on one simulator: `mtt-sync` and `mtt-queued` with a token
/// the vendor refuses, `mtt-good` (queued) with the right one.
fn config(dir: &Path, vendor: &str, tokens: &Tokens) -> PathBuf {
    let connector = |name: &str, token: &str, delivery: &str| {
        format!(
            "[connectors.{name}]\nkind = \"mytimetable\"\ndelivery = \"{delivery}\"\n\
             auth.bearer_token_hashes = [\"{}\"]\n[connectors.{name}.mytimetable]\n\
             base_url = \"{vendor}/api/v0\"\napi_token = \"{token}\"\n\
             default_sync_types = [\"o365\"]\nhttp.max_retries = 0\n",
            tokens.scim.hash
        )
    };
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"sqlite://{}\"\n\
         [queue]\npoll_interval_ms = 50\nretry_initial_ms = 50\nretry_max_ms = 100\nmax_attempts = 3\n\
         [admin]\nauth.bearer_token_hashes = [\"{}\"]\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\nauth.bearer_token_hashes = [\"{}\"]\n{}{}{}",
        dir.join("bridge.db").display(),
        tokens.admin.hash,
        tokens.metrics.hash,
        connector("mtt-sync", "refused-token", "sync"),
        connector("mtt-queued", "refused-token", "queued"),
        connector("mtt-good", DEMO_ADMIN_TOKEN, "queued"),
    );
    let path = dir.join("bridge.toml");
    std::fs::write(&path, text).expect("config");
    path
}

struct Tokens {
    scim: gateway::auth::token::MintedToken,
    admin: gateway::auth::token::MintedToken,
    metrics: gateway::auth::token::MintedToken,
}

/// `serve`: the process, its root URL and its metrics URL (both printed at start).
fn serve(config: &Path, log: &Path) -> (Child, String, String) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("SCIM_BRIDGE_CONFIG")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (mut root, mut metrics) = (String::new(), String::new());
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(url) = line.strip_prefix("scim-bridge: metrics at ") {
            metrics = url.trim().to_owned();
        }
        if let Some(url) = line.strip_prefix("scim-bridge: SCIM endpoint ") {
            root = url.split("/scim/v2/").next().unwrap_or_default().to_owned();
        }
        if !root.is_empty() && !metrics.is_empty() {
            break;
        }
    }
    assert!(
        !root.is_empty() && !metrics.is_empty(),
        "serve did not start"
    );
    (child, root, metrics)
}

/// The value of every sample of the Prometheus text, by `name{labels}` as written.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The sample of `name` whose labels include each of `labels` (`key="value"`).
fn sample(all: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> Option<f64> {
    all.iter()
        .find(|(series, _)| {
            series.split('{').next() == Some(name) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, value)| *value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_vendor_credentials_are_signalled_for_sync_and_queued_connectors() {
    let sim = MyTimetableSim::new(MyTimetableConfig::default());
    let server = sim.start(SimOptions::default()).expect("simulator");
    let dir = std::env::temp_dir().join(format!("scim-bridge-signals-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let tokens = Tokens {
        scim: gateway::auth::token::mint(),
        admin: gateway::auth::token::mint(),
        metrics: gateway::auth::token::mint(),
    };
    let config = config(&dir, &server.base_url(), &tokens);
    let log = dir.join("serve.log");
    let (child, root, metrics_url) = {
        let (config, log) = (config.clone(), log.clone());
        tokio::task::spawn_blocking(move || serve(&config, &log))
            .await
            .expect("started")
    };
    let client = reqwest::Client::new();
    let user = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});

    // /metrics: not on the SCIM port, and only with its own token on its port.
    let on_scim_port = client
        .get(format!("{root}/metrics"))
        .send()
        .await
        .expect("gateway");
    assert_eq!(on_scim_port.status(), 404);
    let anonymous = client.get(&metrics_url).send().await.expect("metrics");
    assert_eq!(anonymous.status(), 401);
    let with_scim_token = client
        .get(&metrics_url)
        .bearer_auth(&tokens.scim.token)
        .send()
        .await
        .expect("metrics");
    assert_eq!(with_scim_token.status(), 401);
    let scrape = || async {
        let reply = client
            .get(&metrics_url)
            .bearer_auth(&tokens.metrics.token)
            .send()
            .await
            .expect("metrics");
        assert_eq!(reply.status(), 200);
        reply.text().await.expect("text")
    };
    // Every connector's gauge is there before anything happened, at 0: an alert has a series.
    let before = samples(&scrape().await);
    for connector in ["mtt-sync", "mtt-queued", "mtt-good"] {
        let label = format!("connector=\"{connector}\"");
        assert_eq!(
            sample(&before, "vendor_credentials_refused", &[&label]),
            Some(0.0),
            "{before:?}"
        );
    }

    // A sync connector answers the refusal at once; a queued one accepts, then fails to deliver.
    let sync = client
        .post(format!("{root}/scim/v2/mtt-sync/Users"))
        .bearer_auth(&tokens.scim.token)
        .json(&user("ann@example.edu"))
        .send()
        .await
        .expect("gateway");
    assert_eq!(sync.status(), 502, "{:?}", sync.text().await);
    for name in ["bob@example.edu", "cy@example.edu"] {
        let queued = client
            .post(format!("{root}/scim/v2/mtt-queued/Users"))
            .bearer_auth(&tokens.scim.token)
            .json(&user(name))
            .send()
            .await
            .expect("gateway");
        assert_eq!(queued.status(), 201);
    }
    let good = client
        .post(format!("{root}/scim/v2/mtt-good/Users"))
        .bearer_auth(&tokens.scim.token)
        .json(&user("dee@example.edu"))
        .send()
        .await
        .expect("gateway");
    assert_eq!(good.status(), 201);

    // Wait until both queued deliveries failed for good (three attempts each).
    let started = Instant::now();
    let failed_queue = loop {
        let failed: serde_json::Value = client
            .get(format!(
                "{root}/admin/queue?connector=mtt-queued&state=failed"
            ))
            .bearer_auth(&tokens.admin.token)
            .send()
            .await
            .expect("admin")
            .json()
            .await
            .expect("json");
        if failed["entries"].as_array().map_or(0, Vec::len) == 2 {
            break failed;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{failed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        failed_queue
            .to_string()
            .contains("refused scim-bridge's credentials"),
        "{failed_queue}"
    );
    let text = scrape().await;
    let after = samples(&text);
    for connector in ["mtt-sync", "mtt-queued"] {
        let label = format!("connector=\"{connector}\"");
        assert_eq!(
            sample(
                &after,
                "vendor_credentials_refused",
                &[&label, "endpoint=\"mytimetable\""]
            ),
            Some(1.0),
            "{text}"
        );
        assert!(
            sample(
                &after,
                "vendor_calls_total",
                &[&label, "outcome=\"unauthorized\""]
            )
            .is_some_and(|n| n >= 1.0),
            "{text}"
        );
    }
    assert_eq!(
        sample(
            &after,
            "vendor_credentials_refused",
            &["connector=\"mtt-good\""]
        ),
        Some(0.0)
    );
    assert!(
        sample(
            &after,
            "vendor_calls_total",
            &[
                "connector=\"mtt-good\"",
                "call=\"ensure user\"",
                "outcome=\"ok\""
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(
            &after,
            "vendor_call_duration_seconds_count",
            &["connector=\"mtt-good\""]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Every series says what it is.
    let names: std::collections::BTreeSet<&str> = after
        .keys()
        .filter_map(|s| s.split('{').next())
        .map(|n| {
            n.trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count")
        })
        .collect();
    for name in names {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no HELP for {name}"
        );
    }
    drop(child);

    // One ERROR per connector and endpoint, at the first refusal, however many calls failed.
    let log_text = std::fs::read_to_string(&log).expect("log");
    let refusals: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("the vendor refuses our credentials"))
        .collect();
    assert_eq!(refusals.len(), 2, "{log_text}");
    for connector in ["mtt-sync", "mtt-queued"] {
        assert!(
            refusals.iter().any(|l| l.contains(connector)),
            "the ERROR names {connector}: {refusals:?}"
        );
    }
    assert!(
        !log_text.contains("refused-token") && !log_text.contains(DEMO_ADMIN_TOKEN),
        "no vendor credential in the log"
    );

    // `import` through the refused queued connector says the deliveries failed, and exits 3;
    // through the good one it waits for the vendor and exits 0.
    let csv = dir.join("hr.csv");
    std::fs::write(&csv, "userName,name.givenName\neve@example.edu,Eve\n").expect("csv");
    let import = |connector: &'static str| {
        let (config, csv) = (config.clone(), csv.clone());
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
                .arg("import")
                .arg(&csv)
                .args(["--connector", connector, "--wait-secs", "20", "--config"])
                .arg(&config)
                .env_remove("SCIM_BRIDGE_CONFIG")
                .output()
                .expect("runs");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
    };
    let (code, stdout) = import("mtt-queued").await.expect("ran");
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("1 created")
            && stdout.contains("1 deliveries failed for good")
            && stdout.contains("refused scim-bridge's credentials"),
        "{stdout}"
    );
    let (code, stdout) = import("mtt-good").await.expect("ran");
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("every queued write reached the vendor"),
        "{stdout}"
    );
    assert!(sim.has_user("eve@example.edu"));
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
