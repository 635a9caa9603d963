//! The deployment files stay consistent with the binaries: `Dockerfile`, `docker-compose.yml`,
//! `deploy/compose.toml` and `deploy/nginx.conf`. CI has no Docker engine, so nothing here
//! builds an image: each check reads the files as Docker and nginx would and asks the real
//! binaries (`--help` with the compose file's arguments, `check-config` with its mounts and
//! environment), and the last one runs the compose file's simulators and a replica as local
//! processes to provision through every connector with the mounted secrets and the README's
//! demo token. The Kubernetes manifests of deploy/kubernetes/ are checked the same way in
//! `kubernetes`.

mod files;
mod kubernetes;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use files::{
    Compose, Dockerfile, Replica, authority, env_name, flag, read, repo_file, simulator_of,
    simulators, version, workspace_binaries,
};

/// A built binary of the workspace. `vendor-sim` belongs to another package, so it is found
/// beside `scim-bridge` (`cargo test --workspace` builds both).
fn binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_scim-bridge")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built (or no such binary): `cargo test --workspace` or `cargo build -p vendor-sim` builds it",
        path.display()
    );
    path
}

/// Runs `program` with `args` and exactly the `SCIM_BRIDGE_*` variables in `env`.
fn run(program: &Path, args: &[String], env: &[(String, String)]) -> (i32, String, String) {
    let mut command = Command::new(program);
    command.args(args);
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .starts_with(gateway::config::ENV_PREFIX)
        {
            command.env_remove(key);
        }
    }
    let out = command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_dockerfile_builds_and_copies_the_workspace_binaries() {
    let docker = Dockerfile::read();
    let workspace: toml::Table = toml::from_str(&repo_file("Cargo.toml")).expect("Cargo.toml");
    let wanted = workspace["workspace"]["package"]["rust-version"]
        .as_str()
        .expect("rust-version");
    let builder = docker
        .all("FROM")
        .find_map(|f| f.strip_prefix("rust:"))
        .expect("a rust: builder stage");
    let tag = builder.split(['-', ' ']).next().unwrap_or_default();
    assert!(
        version(tag) >= version(wanted),
        "the builder's Rust {tag} is older than the workspace's rust-version {wanted}"
    );

    let packages = workspace_binaries();
    let build = docker
        .all("RUN")
        .find(|r| r.contains("cargo build"))
        .expect("a RUN with cargo build");
    assert!(build.contains("--locked"), "the build uses Cargo.lock");
    let words: Vec<&str> = build.split_whitespace().collect();
    let cargo: Vec<&str> = build
        .split("&&")
        .find(|c| c.contains("cargo build"))
        .expect("cargo build")
        .split_whitespace()
        .collect();
    let built: BTreeSet<&String> = cargo
        .windows(2)
        .filter(|w| w[0] == "-p" || w[0] == "--package")
        .flat_map(|w| {
            packages
                .get(w[1])
                .unwrap_or_else(|| panic!("the Dockerfile builds {}, no workspace package", w[1]))
        })
        .collect();
    // What leaves the build stage: target/release/NAME, copied into the runtime stage.
    let produced: BTreeSet<&str> = words
        .iter()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .collect();
    let copy = docker
        .all("COPY")
        .find(|c| c.starts_with("--from="))
        .expect("a COPY --from the build stage");
    let sources: Vec<&str> = copy
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let copied: BTreeSet<&str> = sources[..sources.len() - 1]
        .iter()
        .map(|s| s.rsplit('/').next().unwrap_or_default())
        .collect();
    assert!(!copied.is_empty(), "the runtime stage gets binaries");
    for name in &copied {
        assert!(
            produced.contains(name),
            "{name} is copied but not taken from target/release"
        );
        assert!(
            built.iter().any(|b| b == name),
            "{name} is copied, but the packages built ({built:?}) have no such binary"
        );
    }

    let compose = Compose::read();
    let mut entrypoints = vec![("the Dockerfile".to_owned(), docker.json_array("ENTRYPOINT"))];
    for service in compose.ours() {
        entrypoints.push((format!("service {}", service.name), service.argv(&docker)));
    }
    for (whose, argv) in entrypoints {
        let program = argv.first().expect("a command");
        assert!(
            copied.contains(program.as_str()),
            "{whose} runs {program}, which the image does not have ({copied:?})"
        );
    }

    let ignored: Vec<String> = repo_file(".dockerignore")
        .lines()
        .map(|l| l.trim().trim_matches('/').to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "crates",
        "tests",
        "examples",
    ] {
        assert!(
            !ignored.iter().any(|i| i == needed || i == "*"),
            ".dockerignore leaves {needed} out of the build"
        );
    }
}

#[test]
fn the_binaries_accept_every_command_line_of_the_image_and_the_compose_file() {
    let docker = Dockerfile::read();
    let compose = Compose::read();
    let mut lines = vec![("the Dockerfile".to_owned(), {
        let mut argv = docker.json_array("ENTRYPOINT");
        argv.extend(docker.json_array("CMD"));
        argv
    })];
    for service in compose.ours() {
        lines.push((format!("service {}", service.name), service.argv(&docker)));
    }
    for (whose, argv) in lines {
        // clap parses (and checks the values of) every argument before `--help`, then prints
        // the help: exit 0 means each flag and value is accepted as written.
        let (program, args) = argv.split_first().expect("a command");
        let mut args = args.to_vec();
        args.push("--help".into());
        let (code, stdout, stderr) = run(&binary(program), &args, &[]);
        assert_eq!(
            code,
            0,
            "{whose}: `{}` is refused: {stderr}",
            argv.join(" ")
        );
        assert!(stdout.contains("Usage:"), "{whose}: {stdout}");
    }
}

#[test]
fn every_replica_configuration_passes_check_config() {
    let docker = Dockerfile::read();
    let compose = Compose::read();
    let replicas = Replica::all(&compose, &docker);
    assert!(
        replicas.len() >= 2,
        "the compose file runs at least two replicas"
    );
    for replica in replicas {
        let config = replica.config_path.display().to_string();
        let args = ["check-config", "--config", &config].map(str::to_owned);
        let (code, stdout, stderr) = run(&binary("scim-bridge"), &args, &replica.env);
        assert_eq!(
            code, 0,
            "service {}: {stdout}{stderr}",
            replica.service.name
        );
        assert!(stdout.contains(": ok ("), "{stdout}");
    }
}

#[test]
fn the_load_balancer_and_the_health_checks_reach_every_replica() {
    let docker = Dockerfile::read();
    let compose = Compose::read();
    let replicas = Replica::all(&compose, &docker);

    // The load balancer: the service that mounts an nginx configuration.
    let (lb, conf) = compose
        .services()
        .into_iter()
        .find_map(|s| {
            let conf = s
                .mounts(&compose)
                .into_iter()
                .find(|(target, _)| target.starts_with("/etc/nginx/"))?;
            Some((s, conf.1))
        })
        .expect("a service mounts an nginx configuration");
    let conf = read(&conf);
    let directives: Vec<Vec<&str>> = conf
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .map(|l| l.trim().trim_end_matches(';').split_whitespace().collect())
        .filter(|w: &Vec<&str>| !w.is_empty())
        .collect();
    let upstream = directives
        .iter()
        .find(|w| w[0] == "upstream")
        .map(|w| w[1])
        .expect("an upstream block");
    assert!(
        directives
            .iter()
            .any(|w| w[0] == "proxy_pass" && w[1] == format!("http://{upstream}")),
        "nginx proxies to the upstream {upstream}"
    );
    // The upstream block's servers (it holds no nested block, so its first `}` ends it).
    let targets: BTreeSet<(String, u16)> = directives
        .iter()
        .skip_while(|w| w[0] != "upstream")
        .take_while(|w| w[0] != "}")
        .filter(|w| w[0] == "server")
        .map(|w| {
            let (host, port) = w[1].rsplit_once(':').expect("host:port");
            (host.to_owned(), port.parse().expect("port"))
        })
        .collect();
    // The plain port, and the TLS one (`listen 8443 ssl`) the identity providers are given.
    let port_of = |w: &Vec<&str>| -> u16 {
        w[1].rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a listen port")
    };
    let listens: Vec<&Vec<&str>> = directives.iter().filter(|w| w[0] == "listen").collect();
    let listen = listens
        .iter()
        .find(|w| !w.contains(&"ssl"))
        .map(|w| port_of(w))
        .expect("nginx listens on a plain port");
    let tls_listen = listens
        .iter()
        .find(|w| w.contains(&"ssl"))
        .map(|w| port_of(w))
        .expect("nginx listens on a TLS port: identity providers take only https:// URLs");
    // The certificate and key nginx names are mounted from the repository and load as a pair.
    let lb_mounts = lb.mounts(&compose);
    let host_file = |directive: &str| -> std::path::PathBuf {
        let path = directives
            .iter()
            .find(|w| w[0] == directive)
            .map(|w| w[1])
            .unwrap_or_else(|| panic!("nginx names its {directive}"));
        lb_mounts
            .iter()
            .find_map(|(target, host)| {
                let rest = std::path::Path::new(path).strip_prefix(target).ok()?;
                Some(host.join(rest))
            })
            .unwrap_or_else(|| panic!("{path} ({directive}) is not mounted into the load balancer"))
    };
    let tls: gateway::tls::TlsConfig = serde_json::from_value(serde_json::json!({
        "cert_file": host_file("ssl_certificate"),
        "key_file": host_file("ssl_certificate_key"),
    }))
    .expect("a TLS pair");
    if let Err(e) = gateway::tls::server_config(&tls) {
        panic!("the load balancer's certificate and key do not load as a pair: {e}");
    }
    let body_limit = directives
        .iter()
        .find(|w| w[0] == "client_max_body_size")
        .map(|w| {
            let (digits, unit) = w[1].split_at(w[1].trim_end_matches(char::is_alphabetic).len());
            let n: u64 = digits.parse().expect("size");
            n * match unit.to_ascii_lowercase().as_str() {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                other => panic!("size unit {other}"),
            }
        })
        .unwrap_or(1 << 20);
    let published = lb.ports();
    let host_port_of = |listen: u16| {
        published
            .iter()
            .find(|(_, container)| *container == listen)
            .map(|(host, _)| *host)
            .unwrap_or_else(|| panic!("the load balancer's port {listen} is not published"))
    };
    host_port_of(listen);
    let host_port = host_port_of(tls_listen);

    let expected: BTreeSet<(String, u16)> = replicas
        .iter()
        .map(|r| (r.service.name.clone(), r.listen().port()))
        .collect();
    assert_eq!(
        targets, expected,
        "nginx's upstream servers are exactly the replicas, on the port each listens on"
    );
    let exposed: Vec<u16> = docker
        .all("EXPOSE")
        .flat_map(|e| e.split_whitespace())
        .filter_map(|p| p.split('/').next()?.parse().ok())
        .collect();
    for replica in &replicas {
        let name = &replica.service.name;
        let addr = replica.listen();
        assert!(
            addr.ip().is_unspecified(),
            "{name} listens on {addr}: only an unspecified address (0.0.0.0) is reachable from the load balancer"
        );
        assert!(
            exposed.contains(&addr.port()),
            "the Dockerfile EXPOSEs {exposed:?}, not {name}'s port {}",
            addr.port()
        );
        for (_, container) in replica.service.ports() {
            assert_eq!(
                container,
                addr.port(),
                "{name} publishes a port it does not listen on"
            );
        }
        let health = replica.service.healthcheck();
        assert!(
            health.contains(&format!("/dev/tcp/127.0.0.1/{} ", addr.port()))
                && health.contains("/readyz"),
            "{name}'s healthcheck asks /readyz on port {}: {health}",
            addr.port()
        );
        assert_eq!(
            lb.depends_on(name).as_deref(),
            Some("service_healthy"),
            "the load balancer waits for {name}"
        );
        let public = replica
            .setting(&["server", "public_url"])
            .expect("server.public_url: clients reach the load balancer, not the replica");
        assert!(
            public.starts_with("https://")
                && authority(&public).rsplit(':').next() == Some(host_port.to_string().as_str()),
            "{name}'s public_url {public} is the load balancer's published TLS port {host_port}, over https"
        );
        let max_body: u64 = replica
            .setting(&["server", "max_body_bytes"])
            .map_or(1 << 20, |v| v.parse().expect("max_body_bytes"));
        assert!(
            body_limit >= max_body,
            "nginx's client_max_body_size ({body_limit}) is below {name}'s server.max_body_bytes ({max_body})"
        );
        let shutdown: u64 = replica
            .setting(&["server", "shutdown_timeout_secs"])
            .map_or(30, |v| v.parse().expect("shutdown_timeout_secs"));
        let grace = replica.service.node["stop_grace_period"]
            .as_str()
            .and_then(|g| g.strip_suffix('s')?.parse::<u64>().ok())
            .unwrap_or(10);
        assert!(
            grace > shutdown,
            "{name}'s stop_grace_period ({grace}s) must exceed server.shutdown_timeout_secs ({shutdown}s)"
        );
    }
}

#[test]
fn the_replicas_reach_the_simulators_and_the_database_by_service_name() {
    let docker = Dockerfile::read();
    let compose = Compose::read();
    let (sims, flags) = simulators(&compose, &docker);
    let health = sims.healthcheck();
    for replica in Replica::all(&compose, &docker) {
        let name = &replica.service.name;
        let mut vendors = 0;
        for (connector, kind) in replica.connectors() {
            let Some((table, url_key, flag_name)) = simulator_of(&kind) else {
                continue;
            };
            vendors += 1;
            let url = replica
                .setting(&["connectors", &connector, table, url_key])
                .unwrap_or_else(|| panic!("connectors.{connector}.{table}.{url_key}"));
            let (host, port) = authority(&url).rsplit_once(':').expect("host:port");
            let served: SocketAddr = flag(&flags, flag_name)
                .unwrap_or_else(|| panic!("vendor-sim runs no {flag_name} for {connector}"))
                .parse()
                .expect("an address");
            assert_eq!(host, sims.name, "{connector} calls the simulators service");
            assert_eq!(
                port,
                served.port().to_string(),
                "{connector} calls {url}, vendor-sim serves {flag_name} {served}"
            );
            assert!(
                served.ip().is_unspecified(),
                "{flag_name} {served}: other containers cannot reach a loopback address"
            );
            assert!(
                health.contains(&served.port().to_string()),
                "the simulators' healthcheck waits for port {}",
                served.port()
            );
        }
        assert!(vendors >= 2, "{name} has vendor connectors");
        assert_eq!(
            replica.service.depends_on(&sims.name).as_deref(),
            Some("service_healthy"),
            "{name} starts after the simulators"
        );

        // The store: the compose file's PostgreSQL, with its user, database and password.
        let url = replica.secret(&compose, &["store", "url"]);
        let rest = url
            .strip_prefix("postgres://")
            .expect("the replicas share PostgreSQL");
        let (credentials, location) = rest.split_once('@').expect("user@host");
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (host, database) = location.split_once('/').expect("host/database");
        let (host, port) = host.split_once(':').unwrap_or((host, "5432"));
        let postgres = compose.service(host);
        let env = postgres.environment();
        assert_eq!(port, "5432");
        assert_eq!(env.get("POSTGRES_USER").map(String::as_str), Some(user));
        assert_eq!(env.get("POSTGRES_DB").map(String::as_str), Some(database));
        let expected = match env.get("POSTGRES_PASSWORD_FILE") {
            Some(file) => read(&postgres.host_path(&compose, file).expect("mounted"))
                .trim_end()
                .to_owned(),
            None => env.get("POSTGRES_PASSWORD").cloned().unwrap_or_default(),
        };
        assert_eq!(
            password, expected,
            "the store URL's password is {host}'s password"
        );
        assert_eq!(
            replica.service.depends_on(host).as_deref(),
            Some("service_healthy"),
            "{name} starts after {host} is ready"
        );
    }
}

/// CI runs the README's test command (with `--locked` added), so what a newcomer runs is what
/// CI runs: `--no-fail-fast` included, so a red run shows every failing test binary.
#[test]
fn ci_runs_the_readmes_test_command() {
    let readme = repo_file("README.md");
    let command = readme
        .split("Run the tests.")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.lines().next())
        .expect("the README has a \"Run the tests\" paragraph with a sh block")
        .to_owned();
    assert!(command.contains("--no-fail-fast"), "{command}");
    let ci = repo_file(".ci/run");
    let expected: Vec<&str> = command.split_whitespace().collect();
    let found = ci.lines().any(|line| {
        let words: Vec<&str> = line
            .split_whitespace()
            .take_while(|w| !w.starts_with("2>") && *w != "|")
            .filter(|w| *w != "--locked")
            .collect();
        words == expected
    });
    assert!(found, ".ci/run does not run the README's `{command}`");
}

/// A child process, killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_as_composed_provisions_through_every_connector() {
    let docker = Dockerfile::read();
    let compose = Compose::read();
    // The demo token the README gives for the compose deployment.
    let token = crate::docs_commands::markdown::readme_compose_value("TOKEN");
    let replica = Replica::all(&compose, &docker)
        .into_iter()
        .next()
        .expect("a replica");
    let (sims, flags) = simulators(&compose, &docker);

    // The simulators with the compose file's arguments, each address made a free loopback port.
    let args: Vec<String> = sims.argv(&docker)[1..]
        .iter()
        .map(|a| match a.parse::<SocketAddr>() {
            Ok(_) => "127.0.0.1:0".to_owned(),
            Err(_) => a.clone(),
        })
        .collect();
    let mut child = Child(
        Command::new(binary("vendor-sim"))
            .args(&args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("vendor-sim starts"),
    );
    // vendor-sim prints `NAME URL (credentials)` for each simulator, then a summary.
    let mut started = BTreeMap::new();
    let stdout = child.0.stdout.take().expect("stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if line.starts_with("vendor-sim:") {
            break;
        }
        let mut words = line.split_whitespace();
        if let (Some(name), Some(url)) = (words.next(), words.next()) {
            started.insert(format!("--{name}"), authority(url).to_owned());
        }
    }
    // Compose port → where that simulator listens here.
    let mut moved = BTreeMap::new();
    for (flag_name, value) in &flags {
        if let Ok(addr) = value.parse::<SocketAddr>() {
            let here = started
                .get(flag_name)
                .unwrap_or_else(|| panic!("vendor-sim did not start {flag_name} (started: {started:?}; its error is above)"));
            moved.insert(format!("{}:{}", sims.name, addr.port()), here.clone());
        }
    }

    // The replica: its configuration, mounts and environment as composed; only the addresses
    // (its own, the simulators') and the store (a SQLite file) differ.
    let dir = std::env::temp_dir().join(format!("scim-bridge-deploy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store_url = dir.join("store-url");
    std::fs::write(
        &store_url,
        format!("sqlite://{}", dir.join("state.db").display()),
    )
    .expect("write");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env = replica.env.clone();
    env.push((env_name(&["server", "listen"]), format!("127.0.0.1:{port}")));
    env.push((env_name(&["server", "public_url"]), base.clone()));
    env.push((
        env_name(&["store", "url_file"]),
        store_url.display().to_string(),
    ));
    let connectors = replica.connectors();
    for (connector, kind) in &connectors {
        if let Some((table, url_key, _)) = simulator_of(kind) {
            let path = ["connectors", connector, table, url_key];
            let url = replica.setting(&path).expect("url");
            let here = moved
                .get(authority(&url))
                .unwrap_or_else(|| panic!("{connector} calls {url}, where no simulator runs"));
            env.push((env_name(&path), url.replacen(authority(&url), here, 1)));
        }
    }
    let config = replica.config_path.display().to_string();
    let log = dir.join("gateway.log");
    let mut command = Command::new(binary("scim-bridge"));
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .starts_with(gateway::config::ENV_PREFIX)
        {
            command.env_remove(key);
        }
    }
    let mut gateway = Child(
        command
            .args(["serve", "--config", &config])
            .envs(env)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("scim-bridge starts"),
    );

    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if let Ok(Some(status)) = gateway.0.try_wait() {
            panic!("the replica stopped ({status}): {}", read(&log));
        }
        assert!(Instant::now() < deadline, "the replica did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "deploy.check@example.edu",
        "name": {"givenName": "Deploy", "familyName": "Check"},
        "emails": [{"value": "deploy.check@example.edu", "primary": true}],
        "active": true
    });
    for (connector, _) in &connectors {
        let created = http
            .post(format!("{base}/scim/v2/{connector}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(user.to_string())
            .send()
            .await
            .expect("the replica answers");
        let status = created.status().as_u16();
        let body = created.text().await.unwrap_or_default();
        assert_eq!(
            status, 201,
            "{connector} with the README's demo token: {body}"
        );
    }
    drop(gateway);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
