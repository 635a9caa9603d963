//! Spawning the gateway for a test, on a fresh database, and talking to it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gateway::config::Config;
use gateway::server::RunningServer;
use gateway::state::AppState;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sqlx::Connection;

/// Runs each named scenario `async fn name(app: TestApp)` on both backends; with
/// `mytimetable:` first, the app's `test` connector is a `mytimetable` one over a simulator.
#[macro_export]
macro_rules! on_both_backends {
    (mytimetable: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::MyTimetable; $($name),*);
    };
    (mytimetable_queued: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::MyTimetableQueued; $($name),*);
    };
    (timeedit: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::TimeEdit; $($name),*);
    };
    (timeedit_university: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::TimeEditUniversity; $($name),*);
    };
    (timeedit_store_only: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::TimeEditStoreOnly; $($name),*);
    };
    (workspace365: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::Workspace365; $($name),*);
    };
    (workspace365_adsync: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::AdSync; $($name),*);
    };
    (workspace365_adsync_queued: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::AdSyncQueued; $($name),*);
    };
    (guarded: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::GuardedDirectory; $($name),*);
    };
    (guarded_share: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::GuardedShare; $($name),*);
    };
    (workspace365_entra_guide: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::Workspace365EntraGuide; $($name),*);
    };
    (workspace365_adsync_entra_guide: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::AdSyncEntraGuide; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@ $crate::common::Vendor::None; $($name),*);
    };
    (@ $vendor:expr; $($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, $vendor).await.expect("sqlite always runs");
                super::$name(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, $vendor).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

pub use crate::vendors::{MyTimetableSim, Simulators, TimeEditSim, Vendor, Workspace365Sims};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum Db {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// A running gateway with two connectors: `test` (the one under test) and `other` (to show
/// that credentials do not cross connectors).
pub struct TestApp {
    server: Option<RunningServer>,
    /// The simulator behind the `test` connector, when it has a vendor.
    pub sims: Simulators,
    db: Db,
    store_url: String,
    pub client: reqwest::Client,
    pub root: String,
    pub base: String,
    pub token: String,
    pub other_token: String,
    /// The admin API's token.
    pub admin_token: String,
    token_hash: String,
    other_hash: String,
    admin_hash: String,
}

/// An HTTP answer: status, headers, and the body as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Resources[*].id` of a ListResponse.
    pub fn ids(&self) -> Vec<String> {
        self.body["Resources"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|x| x["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a SCIM error body with this status (and `scimType`, when given).
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{:?}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string(), "{:?}", self.body);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a detail a human can act on: {:?}",
            self.body
        );
        if let Some(t) = scim_type {
            assert_eq!(self.body["scimType"], t, "{:?}", self.body);
        }
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/scim+json"))
        );
    }
}

fn config_toml(
    store_url: &str,
    token_hash: &str,
    other_hash: &str,
    admin_hash: &str,
    vendor: &str,
) -> String {
    format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        max_body_bytes = 65536
        body_read_timeout_secs = 2
        [store]
        url = "{store_url}"
        [scim]
        bulk_max_operations = 50
        bulk_max_payload_bytes = 65536
        [queue]
        poll_interval_ms = 50
        retry_initial_ms = 20
        retry_max_ms = 200
        lease_secs = 4
        [admin]
        auth.bearer_token_hashes = ["{admin_hash}"]
        [connectors.test]
        auth.bearer_token_hashes = ["{token_hash}"]
        {vendor}
        [connectors.other]
        kind = "directory"
        auth.bearer_token_hashes = ["{other_hash}"]
        "#
    )
}

impl TestApp {
    /// A gateway on a fresh database, its `test` connector in front of `vendor`; `None`
    /// (after saying so) when PostgreSQL is not configured for this run.
    pub async fn spawn_with(backend: Backend, vendor: Vendor) -> Option<TestApp> {
        let (db, store_url) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir()
                    .join(format!("scim-bridge-e2e-{}.db", uuid::Uuid::new_v4()));
                let url = format!("sqlite://{}", path.display());
                (Db::Sqlite(path), url)
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!(
                        "skipped: TEST_DATABASE_URL is not set, so the PostgreSQL variant does not run here"
                    );
                    return None;
                };
                let name = format!("scim_e2e_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("TEST_DATABASE_URL must be reachable");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                let _ = admin.close().await;
                let url = database_url(&admin_url, &name);
                (Db::Postgres { admin_url, name }, url)
            }
        };
        let token = gateway::auth::token::mint();
        let other = gateway::auth::token::mint();
        let admin = gateway::auth::token::mint();
        let mut app = TestApp {
            server: None,
            sims: Simulators::start(vendor),
            db,
            store_url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            root: String::new(),
            base: String::new(),
            token: token.token,
            other_token: other.token,
            admin_token: admin.token,
            token_hash: token.hash,
            other_hash: other.hash,
            admin_hash: admin.hash,
        };
        app.start().await;
        Some(app)
    }

    fn config(&self) -> Config {
        let vendor = self.sims.connector_toml();
        Config::from_toml(&config_toml(
            &self.store_url,
            &self.token_hash,
            &self.other_hash,
            &self.admin_hash,
            &vendor,
        ))
        .expect("test config parses")
    }

    /// The Workspace 365 simulator behind the `test` connector.
    pub fn workspace365(&self) -> &Workspace365Sims {
        self.sims
            .workspace365
            .as_ref()
            .expect("a Workspace 365 connector")
    }

    /// The TimeEdit simulator behind the `test` connector.
    pub fn timeedit(&self) -> &TimeEditSim {
        self.sims.timeedit.as_ref().expect("a TimeEdit connector")
    }

    /// The running simulator behind the `test` connector.
    pub fn vendor(&self) -> &MyTimetableSim {
        self.sims
            .mytimetable
            .as_ref()
            .expect("a MyTimetable connector")
    }

    /// The running gateway's state.
    pub fn state(&self) -> &AppState {
        self.server.as_ref().expect("running").state()
    }

    async fn start(&mut self) {
        let config = self.config();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = config;
        config.server.public_url = Some(format!("http://{addr}"));
        let state = AppState::new(&config, &scim_bridge::registry())
            .await
            .expect("state");
        // The only gateway on this database now, as a single node's start-up knows it is;
        // `recovery::recover` waits for `stale_after_secs` on PostgreSQL, where another replica
        // could own a young entry (tests/e2e/replicas.rs).
        gateway::recovery::recover_older_than(&state, Duration::ZERO)
            .await
            .expect("recovery");
        let server = gateway::server::start(state, listener, Some(2), Duration::from_secs(5))
            .expect("server");
        self.root = server.url();
        self.base = format!("{}/scim/v2/test", server.url());
        self.server = Some(server);
    }

    /// Another replica on the same database and simulators, with its own store connections,
    /// cache and delivery worker; its URL is `server.url()`.
    pub async fn replica(&self) -> RunningServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut config = self.config();
        config.server.public_url = Some(format!("http://{}", listener.local_addr().expect("addr")));
        let state = AppState::new(&config, &scim_bridge::registry())
            .await
            .expect("state");
        gateway::server::start(state, listener, Some(2), Duration::from_secs(5)).expect("server")
    }

    /// The database URL the gateway was configured with.
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// Whether the app runs on PostgreSQL (replicas need it).
    pub fn on_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres { .. })
    }

    /// The store the running gateway uses.
    pub fn store(&self) -> Arc<dyn store::Store> {
        self.server.as_ref().expect("running").state().store.clone()
    }

    /// Stops the gateway (gracefully) and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.start().await;
    }

    /// Hands the running server to the test (to stop it while a request is in flight).
    pub fn take_server(&mut self) -> RunningServer {
        self.server.take().expect("running")
    }

    /// Stops the gateway and drops the test database.
    pub async fn finish(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        std::mem::take(&mut self.sims).stop().await;
        match &self.db {
            Db::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Db::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            }
        }
    }

    /// A request with our token; `path` is relative to the connector's base URL.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_at(&self.root, method, path, body).await
    }

    /// [`TestApp::call`] to the `test` connector of the gateway (replica) at `root`.
    pub async fn call_at(
        &self,
        root: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let request = self
            .client
            .request(method, format!("{root}/scim/v2/test{path}"))
            .bearer_auth(&self.token);
        let request = match body {
            Some(body) => request
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
            None => request,
        };
        send(request).await
    }

    /// The text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.root))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// An admin API request with the admin token; `path` starts with `/admin`.
    pub async fn admin(&self, method: Method, path: &str) -> Reply {
        self.admin_at(&self.root, method, path).await
    }

    /// [`TestApp::admin`] to the gateway (replica) at `root`.
    pub async fn admin_at(&self, root: &str, method: Method, path: &str) -> Reply {
        send(
            self.client
                .request(method, format!("{root}{path}"))
                .bearer_auth(&self.admin_token),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, operations: Value) -> Reply {
        let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `{base}{path}` with these query parameters, percent-encoded.
    pub fn url_with(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Url {
        reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params).expect("valid URL")
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a user and returns its id. Against AD sync, whose user names must be user
    /// principal names, `user_name` gets `@example.edu`.
    pub async fn create_user(&self, user_name: &str) -> String {
        let adsync = self
            .sims
            .workspace365
            .as_ref()
            .is_some_and(|w| w.environment.is_some());
        let user_name = if adsync {
            format!("{user_name}@example.edu")
        } else {
            user_name.to_owned()
        };
        let email = if user_name.contains('@') {
            user_name.clone()
        } else {
            format!("{user_name}@example.edu")
        };
        let reply = self
            .post(
                "/Users",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name,
                    "name": {"givenName": "Test", "familyName": user_name},
                    "emails": [{"value": email, "type": "work", "primary": true}],
                    "active": true
                }),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }
}

/// The member ids a Group answer lists, sorted (the order of a multi-valued attribute carries
/// no meaning, RFC 7643 §2.4).
pub fn member_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Sends a prepared request and collects the reply (recording it for the OpenAPI check when
/// `E2E_RECORD_RESPONSES` names a directory).
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let (method, path) = (
        request.method().to_string(),
        request.url().path().to_owned(),
    );
    let response = client.execute(request).await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    let reply = Reply {
        status,
        headers,
        body,
    };
    record(&method, &path, &reply);
    reply
}

/// Appends one exchange to `$E2E_RECORD_RESPONSES/responses.jsonl`, which
/// `openapi/check.py` validates against `openapi/scim-bridge.yaml`.
fn record(method: &str, path: &str, reply: &Reply) {
    static FILE: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> =
        std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = std::env::var_os("E2E_RECORD_RESPONSES")?;
        std::fs::create_dir_all(&dir).ok()?;
        let path = std::path::Path::new(&dir).join("responses.jsonl");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(std::sync::Mutex::new)
    });
    if let Some(file) = file {
        use std::io::Write;
        let line = serde_json::json!({
            "method": method, "path": path, "status": reply.status,
            "content_type": reply.header("content-type"), "body": reply.body,
        });
        if let Ok(mut file) = file.lock() {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// `admin_url` with its database name replaced.
fn database_url(admin_url: &str, name: &str) -> String {
    let (head, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(h, q)| (h, Some(q)));
    let base = match head.rfind('/') {
        Some(i) if head[..i].contains("//") && i > head.find("//").unwrap_or(0) + 1 => &head[..i],
        _ => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}
