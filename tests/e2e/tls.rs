//! HTTPS served by the gateway itself: the `serve` binary with `[server.tls]`, a CA and
//! certificates made here. A certificate swapped on disk is picked up by new connections while
//! a client keeps its open connection; with `client_ca_file`, only clients holding a
//! certificate from that CA get in.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};

const TOKEN: &str = "example-token-do-not-use";
const TOKEN_HASH: &str = "sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd";

/// A CA that signs certificates for the test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { cert, key }
    }

    /// A certificate and key (PEM) for these names.
    fn issue(&self, names: Vec<SanType>) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = names;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("certificate");
        (cert.pem(), key.serialize_pem())
    }

    fn root(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.cert.pem().as_bytes()).expect("root")
    }
}

fn dns(name: &str) -> SanType {
    SanType::DnsName(name.try_into().expect("a DNS name"))
}

/// Writes `text` to `path` through a rename, as a certificate manager replaces a file.
fn replace(path: &Path, text: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).expect("write");
    std::fs::rename(&partial, path).expect("rename");
}

/// A `serve` process, stopped with SIGTERM when dropped.
struct Gateway {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, tls: &str) -> Gateway {
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\n{tls}\n[store]\nurl = \"sqlite://{}\"\n\
             [connectors.d]\nkind = \"directory\"\nauth.bearer_token_hashes = [\"{TOKEN_HASH}\"]\n",
            dir.join("state.db").display()
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("SCIM_BRIDGE_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let endpoint = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("scim-bridge: SCIM endpoint ")
                .map(str::to_owned)
        })
        .expect("the endpoint is printed");
    Gateway { child, endpoint }
}

fn port(endpoint: &str) -> u16 {
    endpoint
        .trim_start_matches("https://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

async fn users(client: &reqwest::Client, url: &str) -> Result<u16, String> {
    client
        .get(format!("{url}/Users"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scim-bridge-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_certificate_serves_new_connections_and_drops_none() {
    let dir = temp_dir("tls");
    let ca = Ca::new();
    let (cert, key) = ca.issue(vec![dns("localhost")]);
    std::fs::write(dir.join("cert.pem"), cert).expect("cert");
    std::fs::write(dir.join("key.pem"), key).expect("key");
    let gateway = serve(
        &dir,
        &format!(
            "cert_file = \"{}\"\nkey_file = \"{}\"\nreload_interval_secs = 1",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        ),
    );
    assert!(
        gateway.endpoint.starts_with("https://"),
        "{}",
        gateway.endpoint
    );
    let port = port(&gateway.endpoint);
    let by_name = format!("https://localhost:{port}/scim/v2/d");
    let by_address = format!("https://127.0.0.1:{port}/scim/v2/d");
    let client = || {
        reqwest::Client::builder()
            .add_root_certificate(ca.root())
            .resolve("localhost", ([127, 0, 0, 1], port).into())
            .build()
            .expect("client")
    };
    let kept = client();
    assert_eq!(users(&kept, &by_name).await, Ok(200));
    assert!(
        users(&client(), &by_address).await.is_err(),
        "the first certificate names localhost only"
    );
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/scim/v2/d/Users")).await;
    assert!(plain.is_err(), "plain HTTP is not served on a TLS listener");

    // One client keeps using its connection through the swap: any new handshake it had to
    // make would fail, since the new certificate no longer names localhost.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let traffic = {
        let (stop, failures, kept, by_name) = (
            stop.clone(),
            failures.clone(),
            kept.clone(),
            by_name.clone(),
        );
        tokio::spawn(async move {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                if users(&kept, &by_name).await != Ok(200) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };
    let (cert, key) = ca.issue(vec![SanType::IpAddress([127, 0, 0, 1].into())]);
    replace(&dir.join("key.pem"), &key);
    replace(&dir.join("cert.pem"), &cert);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if users(&client(), &by_address).await == Ok(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        users(&client(), &by_name).await.is_err(),
        "new connections get the new certificate"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = traffic.await.expect("traffic");
    assert!(sent >= 3, "{sent}");
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "the open connection was kept"
    );
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_when_a_client_ca_is_set() {
    let dir = temp_dir("mtls");
    let ca = Ca::new();
    let (cert, key) = ca.issue(vec![SanType::IpAddress([127, 0, 0, 1].into())]);
    std::fs::write(dir.join("cert.pem"), cert).expect("cert");
    std::fs::write(dir.join("key.pem"), key).expect("key");
    let clients = Ca::new();
    std::fs::write(dir.join("clients.pem"), clients.cert.pem()).expect("client CA");
    let gateway = serve(
        &dir,
        &format!(
            "cert_file = \"{}\"\nkey_file = \"{}\"\nclient_ca_file = \"{}\"",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display(),
            dir.join("clients.pem").display()
        ),
    );
    let url = gateway.endpoint.clone();
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(ca.root())
        .build()
        .expect("client");
    assert!(
        users(&anonymous, &url).await.is_err(),
        "no client certificate"
    );
    let (client_cert, client_key) = clients.issue(vec![dns("idp.example")]);
    let identity = reqwest::Identity::from_pem(format!("{client_cert}{client_key}").as_bytes())
        .expect("identity");
    let known = reqwest::Client::builder()
        .add_root_certificate(ca.root())
        .identity(identity)
        .build()
        .expect("client");
    assert_eq!(users(&known, &url).await, Ok(200));
    let (stranger_cert, stranger_key) = Ca::new().issue(vec![dns("idp.example")]);
    let stranger = reqwest::Client::builder()
        .add_root_certificate(ca.root())
        .identity(
            reqwest::Identity::from_pem(format!("{stranger_cert}{stranger_key}").as_bytes())
                .expect("identity"),
        )
        .build()
        .expect("client");
    assert!(
        users(&stranger, &url).await.is_err(),
        "a certificate from another CA"
    );
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_names_tls_files_that_do_not_load() {
    let dir = temp_dir("tls-check");
    let (cert, _) = Ca::new().issue(vec![dns("localhost")]);
    std::fs::write(dir.join("cert.pem"), cert).expect("cert");
    std::fs::write(
        dir.join("other-key.pem"),
        KeyPair::generate().expect("key").serialize_pem(),
    )
    .expect("key");
    let check = |tls: &str| {
        let config = dir.join("check.toml");
        std::fs::write(
            &config,
            format!(
                "[server.tls]\n{tls}\n[connectors.d]\nkind = \"directory\"\n\
                 auth.bearer_token_hashes = [\"{TOKEN_HASH}\"]\n"
            ),
        )
        .expect("config");
        let out = Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .args(["check-config", "--config"])
            .arg(&config)
            .env_remove("SCIM_BRIDGE_CONFIG")
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = check(&format!(
        "cert_file = \"{}\"\nkey_file = \"{}\"",
        dir.join("missing.pem").display(),
        dir.join("other-key.pem").display()
    ));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("server.tls.cert_file: cannot read"),
        "{stderr}"
    );
    let (code, stderr) = check(&format!(
        "cert_file = \"{}\"\nkey_file = \"{}\"",
        dir.join("cert.pem").display(),
        dir.join("other-key.pem").display()
    ));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("server.tls.key_file") && stderr.contains("does not match the certificate"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
