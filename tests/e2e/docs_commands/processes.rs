//! The processes the tests run: the binaries, the simulators, the demo, a replica as composed,
//! and the scratch directories they run in.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ROOT;
use super::curl::{Http, Target};
use super::markdown::{doc_files, read, readme_compose_value};

/// The token whose hash every example configuration holds (their comments say so).
const EXAMPLE_TOKEN: &str = "example-token-do-not-use";

/// The ports the demo, the examples and the compose file give the simulators, in this order.
const SIMULATOR_PORTS: [(u16, &str); 4] = [
    (8081, "mytimetable"),
    (8082, "timeedit"),
    (8083, "workspace365"),
    (8084, "workspace365-env"),
];

// ---------------------------------------------------------------------------------------------
// Processes

/// A child process, stopped when dropped: SIGTERM (the gateway closes its store), or SIGKILL.
pub(super) struct Child {
    child: std::process::Child,
    terminate: bool,
}

impl Child {
    fn spawn(command: &mut Command, terminate: bool) -> Child {
        Child {
            child: command.spawn().expect("starts"),
            terminate,
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.terminate {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command without the `SCIM_BRIDGE_*` variables of this process.
fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .starts_with(gateway::config::ENV_PREFIX)
        {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

pub(super) fn scim_bridge() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scim-bridge"))
}

/// `vendor-sim`, beside `scim-bridge`; built once when it is not (`cargo test --workspace`
/// builds it, `cargo test --test e2e` does not).
pub(super) fn vendor_sim() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = scim_bridge().with_file_name("vendor-sim");
            if !path.exists() {
                let mut cargo = Command::new(option_env!("CARGO").unwrap_or("cargo"));
                cargo.current_dir(ROOT).args([
                    "build",
                    "-q",
                    "-p",
                    "vendor-sim",
                    "--bin",
                    "vendor-sim",
                ]);
                if scim_bridge()
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|d| d == "release")
                {
                    cargo.arg("--release");
                }
                let status = cargo.status().expect("cargo runs");
                assert!(
                    status.success() && path.exists(),
                    "`cargo build -p vendor-sim` did not build {}",
                    path.display()
                );
            }
            path
        })
        .clone()
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `http://host:port/…` → `host:port`.
pub(super) fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `vendor-sim` with every simulator, on free ports, and the host:port each listens on by
/// its documented port (8081 MyTimetable … 8084 the environment API).
pub(super) struct Simulators {
    _child: Child,
    hosts: BTreeMap<u16, String>,
}

impl Simulators {
    pub(super) fn start() -> Simulators {
        let mut args = Vec::new();
        for (_, name) in SIMULATOR_PORTS {
            args.push(format!("--{name}"));
            args.push("127.0.0.1:0".to_owned());
        }
        let (child, started) = start_simulators(&args).unwrap_or_else(|e| panic!("{e}"));
        let hosts = SIMULATOR_PORTS
            .iter()
            .map(|(port, name)| {
                let url = started
                    .get(*name)
                    .unwrap_or_else(|| panic!("vendor-sim did not start {name}"));
                (*port, authority(url).to_owned())
            })
            .collect();
        Simulators {
            _child: child,
            hosts,
        }
    }
}

/// Runs vendor-sim with `args` and reads the `NAME URL (credentials)` line of each simulator.
pub(super) fn start_simulators(
    args: &[String],
) -> Result<(Child, BTreeMap<String, String>), String> {
    let mut child = Child::spawn(
        command(&vendor_sim())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        false,
    );
    let stdout = child.child.stdout.take().expect("stdout");
    let mut started = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("vendor-sim:") {
            return Ok((child, started));
        }
        let mut words = line.split_whitespace();
        if let (Some(name), Some(url)) = (words.next(), words.next()) {
            started.insert(name.to_owned(), url.to_owned());
        }
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    Err(format!("vendor-sim {} stopped: {stderr}", args.join(" ")))
}

/// Waits for `{base}/readyz` to answer 200 while `child` runs.
fn wait_ready(http: &Http, base: &str, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http.send("GET", &format!("{base}/readyz"), &[], None) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut err) = child.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            }
            return Err(format!("it stopped ({status}): {stderr}"));
        }
        if Instant::now() > deadline {
            return Err("not ready within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `scim-bridge demo` on free ports, and what it printed.
pub(super) fn start_demo() -> (Child, Target) {
    let mut child = Child::spawn(
        command(&scim_bridge())
            .args(["demo", "--listen", "127.0.0.1:0", "--sim-port", "0"])
            .stdout(Stdio::piped()),
        true,
    );
    let stdout = child.child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).expect("the demo's output");
        assert!(read > 0, "the demo stopped: {lines:#?}");
        let last = line.starts_with("try:");
        lines.push(line.trim_end().to_owned());
        if last {
            break;
        }
    }
    // Keep reading, so that the demo never writes into a closed pipe.
    std::thread::spawn(move || for _ in reader.lines() {});

    let mut target = Target {
        name: "demo",
        hosts: BTreeMap::new(),
        tokens: BTreeMap::new(),
        admin: None,
    };
    let mut connector = None;
    let mut simulators = 0;
    for line in &lines {
        if let Some(rest) = line.strip_prefix("connector ") {
            connector = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(url) = line.trim().strip_prefix("SCIM base URL:") {
            let here = authority(url.trim()).to_owned();
            target.hosts.insert("127.0.0.1:8080".into(), here.clone());
            target.hosts.insert("localhost:8080".into(), here);
        } else if let Some(token) = line.trim().strip_prefix("bearer token:") {
            let name = connector.clone().expect("a token under its connector");
            target.tokens.insert(name, token.trim().to_owned());
        } else if let Some(token) = line.trim().strip_prefix("admin token:") {
            target.admin = Some(token.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("simulated ") {
            // In the order of their default ports: 8081, 8082, …
            let url = rest.rsplit(" at ").next().expect("an address");
            let (port, _) = SIMULATOR_PORTS[simulators];
            target
                .hosts
                .insert(format!("127.0.0.1:{port}"), authority(url).to_owned());
            target
                .hosts
                .insert(format!("localhost:{port}"), authority(url).to_owned());
            simulators += 1;
        }
    }
    assert_eq!(simulators, SIMULATOR_PORTS.len(), "{lines:#?}");
    assert!(!target.tokens.is_empty(), "{lines:#?}");
    (child, target)
}

/// Every `(dotted key, string value)` of a TOML table.
fn strings(table: &toml::Table, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => strings(inner, &path, out),
            toml::Value::String(text) => out.push((path, text.clone())),
            _ => {}
        }
    }
}

/// A replica as `deploy/compose.toml` configures it, on a SQLite file, with its secrets from
/// `deploy/secrets/` and the simulators here.
pub(super) fn start_composed(sims: &Simulators, dir: &Path) -> (Child, Target) {
    let config_path = Path::new(ROOT).join("deploy/compose.toml");
    let config: toml::Table = toml::from_str(&read(&config_path)).expect("deploy/compose.toml");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let store_url = dir.join("store-url");
    std::fs::write(
        &store_url,
        format!("sqlite://{}", dir.join("compose.db").display()),
    )
    .expect("write");
    let mut env = vec![
        (
            gateway::config::env_variable("server.listen"),
            format!("127.0.0.1:{port}"),
        ),
        (
            gateway::config::env_variable("server.public_url"),
            base.clone(),
        ),
    ];
    let mut values = Vec::new();
    strings(&config, "", &mut values);
    for (key, value) in values {
        if key == "store.url_file" {
            env.push((
                gateway::config::env_variable(&key),
                store_url.display().to_string(),
            ));
        } else if let Some(secret) = value.strip_prefix("/run/secrets/") {
            let file = Path::new(ROOT).join("deploy/secrets").join(secret);
            assert!(file.exists(), "{key}: no {}", file.display());
            env.push((
                gateway::config::env_variable(&key),
                file.display().to_string(),
            ));
        } else if let Some(rest) = value.split_once("://simulators:").map(|(_, r)| r) {
            let port: u16 = rest
                .split(['/', '?'])
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{key}: {value}"));
            let here = sims
                .hosts
                .get(&port)
                .unwrap_or_else(|| panic!("{key}: no simulator at port {port}"));
            env.push((
                gateway::config::env_variable(&key),
                value.replacen(&format!("simulators:{port}"), here, 1),
            ));
        }
    }
    let mut child = Child::spawn(
        command(&scim_bridge())
            .args(["serve", "--config", &config_path.display().to_string()])
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
        true,
    );
    let http = Http::new();
    wait_ready(&http, &base, &mut child).unwrap_or_else(|e| panic!("the composed replica: {e}"));

    let token = readme_compose_value("TOKEN");
    let mut target = Target {
        name: "replica as composed",
        hosts: BTreeMap::new(),
        tokens: BTreeMap::new(),
        admin: Some(readme_compose_value("ADMIN")),
    };
    for host in ["127.0.0.1:8080", "localhost:8080"] {
        target
            .hosts
            .insert(host.into(), authority(&base).to_owned());
    }
    for (port, here) in &sims.hosts {
        target
            .hosts
            .insert(format!("127.0.0.1:{port}"), here.clone());
        target
            .hosts
            .insert(format!("localhost:{port}"), here.clone());
    }
    if let Some(connectors) = config.get("connectors").and_then(toml::Value::as_table) {
        for name in connectors.keys() {
            target.tokens.insert(name.clone(), token.clone());
        }
    }
    (child, target)
}

// ---------------------------------------------------------------------------------------------
// scim-bridge and vendor-sim commands

/// A new empty directory under the system's temporary one.
pub(super) fn scratch(what: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("scim-bridge-docs-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A directory laid out as a clone: the examples, pointed at `sims`, and the files the docs
/// show; `bridge.toml` (the setup guides' configuration) is the university's TimeEdit.
pub(super) fn clone_dir(sims: &Simulators) -> PathBuf {
    let dir = scratch("clone");
    let examples = dir.join("examples");
    std::fs::create_dir_all(&examples).expect("dir");
    for entry in std::fs::read_dir(Path::new(ROOT).join("examples")).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut text = read(&path);
        for (port, here) in &sims.hosts {
            text = text.replace(&format!("127.0.0.1:{port}"), here);
        }
        std::fs::write(examples.join(path.file_name().expect("name")), text).expect("write");
    }
    std::fs::copy(
        examples.join("timeedit-university.toml"),
        dir.join("bridge.toml"),
    )
    .expect("bridge.toml");
    for (name, (_, content)) in doc_files() {
        std::fs::write(dir.join(&name), content).expect("write");
    }
    dir
}

/// Runs `program` to its end in `dir`: (status, stdout, stderr).
pub(super) fn run_to_end(
    program: &Path,
    dir: &Path,
    env: &[(String, String)],
    args: &[String],
    stdin: Option<&str>,
) -> Result<(i32, String, String), String> {
    let mut child = command(program)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("still running after 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Serves `args` in `dir` on a free port until ready; with an example configuration whose
/// connectors take the example token, creates a user through each.
pub(super) fn serve(
    http: &Http,
    dir: &Path,
    env: &[(String, String)],
    args: &[String],
    serial: usize,
) -> Result<(), String> {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Child::spawn(
        command(&scim_bridge())
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env(
                gateway::config::env_variable("server.listen"),
                format!("127.0.0.1:{port}"),
            )
            .env(gateway::config::env_variable("server.public_url"), &base)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
        true,
    );
    wait_ready(http, &base, &mut child)?;
    let config = args
        .iter()
        .position(|a| a == "--config" || a == "-c")
        .and_then(|i| args.get(i + 1));
    let Some(config) = config else {
        return Ok(());
    };
    let text = read(&dir.join(config));
    if !text.contains(&gateway::auth::token::hash(EXAMPLE_TOKEN)) {
        return Ok(());
    }
    let table: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
    let connectors = table
        .get("connectors")
        .and_then(toml::Value::as_table)
        .ok_or("no connectors")?;
    for name in connectors.keys() {
        let user_name = format!("try.it.{serial}@uni.example.edu");
        let user = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Try", "familyName": "It"},
            "emails": [{"value": user_name, "primary": true}],
        });
        let (status, body) = http.send(
            "POST",
            &format!("{base}/scim/v2/{name}/Users"),
            &[
                ("Authorization".into(), format!("Bearer {EXAMPLE_TOKEN}")),
                ("Content-Type".into(), "application/scim+json".into()),
            ],
            Some(&user.to_string()),
        )?;
        if status != 201 {
            return Err(format!(
                "a user through {name} with the example token: {status} {body}"
            ));
        }
    }
    Ok(())
}
