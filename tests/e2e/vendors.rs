//! The vendor simulators behind a test's `test` connector, and that connector's settings.

/// What the `test` connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// A `directory` connector.
    None,
    /// A `mytimetable` connector over a MyTimetable simulator (default type `o365`, unlink mode
    /// `DELETE_FUTURE_EVENTS`).
    MyTimetable,
    /// The same, with `delivery = "queued"`.
    MyTimetableQueued,
    /// A `timeedit` connector over a TimeEdit simulator.
    TimeEdit,
    /// The same, with the mapping and group policy of `examples/timeedit-university.toml`.
    TimeEditUniversity,
    /// The same, keeping unmapped Groups in the store only.
    TimeEditStoreOnly,
    /// A `workspace365` connector over the Provisioning API simulator (environment
    /// `example`).
    Workspace365,
    /// A `workspace365-adsync` connector over the environment API simulator (environment
    /// `example`, AD sync token [`ADSYNC_TOKEN`]).
    AdSync,
    /// The same, with `delivery = "queued"`.
    AdSyncQueued,
    /// `Workspace365` with the mapping docs/setup/entra-id.md gives for administrators.
    Workspace365EntraGuide,
    /// `AdSync` keyed by Entra's object id as docs/setup/entra-id.md sets it up.
    AdSyncEntraGuide,
    /// `None` with a deletion guard of 50 removals in ten minutes.
    GuardedDirectory,
    /// `None` with a deletion guard of a quarter of the connector's users.
    GuardedShare,
    /// `MyTimetableQueued` with a deletion guard of 2 removals in ten minutes (the console's
    /// test shows failed deliveries and held removals of one connector).
    Console,
}

/// The AD sync token of the `AdSync` simulator's environment.
pub const ADSYNC_TOKEN: &str = "adsync-test-token";

/// A running MyTimetable simulator.
pub struct MyTimetableSim {
    pub sim: vendor_sim::mytimetable::MyTimetableSim,
    pub server: vendor_sim::SimServer,
}

/// A running TimeEdit simulator.
pub struct TimeEditSim {
    pub sim: vendor_sim::timeedit::TimeEditSim,
    pub server: vendor_sim::SimServer,
}

/// A running simulator of either Workspace 365 API.
pub struct Workspace365Sims {
    pub provisioning: Option<vendor_sim::workspace365::Workspace365Sim>,
    pub environment: Option<vendor_sim::workspace365_env::Workspace365EnvSim>,
    pub server: vendor_sim::SimServer,
}

/// The simulator a test runs (at most one is set).
#[derive(Default)]
pub struct Simulators {
    pub mytimetable: Option<MyTimetableSim>,
    pub timeedit: Option<TimeEditSim>,
    pub workspace365: Option<Workspace365Sims>,
    /// The `test` connector delivers from the queue.
    pub queued: bool,
    /// Extra keys of the `test` connector's vendor table, in TOML.
    pub vendor_keys: String,
    /// Extra keys of the `test` connector's own table (before its vendor table), in TOML.
    pub connector_keys: String,
}

/// The keys of `examples/timeedit-university.toml`'s TimeEdit table that decide the mapping
/// and the group policy, as dotted TOML keys.
fn university_keys() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/timeedit-university.toml"
    );
    let text = std::fs::read_to_string(path).expect("the example");
    let config: toml::Table = toml::from_str(&text).expect("the example is TOML");
    let table = config["connectors"]["timetable"]["timeedit"]
        .as_table()
        .expect("the TimeEdit table");
    let mut keys = String::new();
    for key in ["organizations", "unmapped_groups", "rename"] {
        keys.push_str(&format!("{key} = {}\n", table[key]));
    }
    for (kind, rules) in table["mapping"].as_table().expect("mapping") {
        for (field, rule) in rules.as_table().expect("rules") {
            keys.push_str(&format!("mapping.{kind}.{field} = {rule}\n"));
        }
    }
    keys
}

/// The keys of the TOML block that follows `marker` in docs/setup/entra-id.md, from its
/// `[connectors.<name>.<table>…]` tables, as dotted keys relative to `<table>`: the test runs
/// the configuration the guide gives, word for word.
fn guide_keys(marker: &str, table: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/setup/entra-id.md");
    let text = std::fs::read_to_string(path).expect("the guide");
    let block: String = text
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once("```toml\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .unwrap_or_else(|| panic!("docs/setup/entra-id.md has a toml block after {marker}"));
    let config: toml::Table = toml::from_str(&block).expect("the guide's block is TOML");
    let (_, connector) = config["connectors"]
        .as_table()
        .and_then(|c| c.iter().next())
        .expect("the block names a connector");
    let mut keys = String::new();
    flatten(&connector[table], "", &mut keys);
    keys
}

/// `value`'s leaves as `a.b.c = value` lines.
fn flatten(value: &toml::Value, prefix: &str, out: &mut String) {
    match value {
        toml::Value::Table(table)
            if table.values().any(toml::Value::is_table) || prefix.is_empty() =>
        {
            for (key, value) in table {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(value, &key, out);
            }
        }
        leaf => out.push_str(&format!("{prefix} = {leaf}\n")),
    }
}

fn options() -> vendor_sim::SimOptions {
    vendor_sim::SimOptions {
        workers: 2,
        ..Default::default()
    }
}

impl Simulators {
    /// Starts the simulator `vendor` needs, on 127.0.0.1:0.
    pub fn start(vendor: Vendor) -> Simulators {
        let mut sims = Simulators::default();
        match vendor {
            Vendor::None => {}
            Vendor::GuardedShare => {
                sims.vendor_keys = "deletion_guard.max_share = 0.25\n".to_owned();
            }
            Vendor::GuardedDirectory => {
                sims.vendor_keys = "deletion_guard.max = 50\n\
                                    deletion_guard.window_secs = 600\n\
                                    deletion_guard.retry_after_secs = 30\n"
                    .to_owned();
            }
            Vendor::MyTimetable | Vendor::MyTimetableQueued | Vendor::Console => {
                sims.queued = vendor != Vendor::MyTimetable;
                if vendor == Vendor::Console {
                    sims.connector_keys = "deletion_guard.max = 2\n\
                                           deletion_guard.window_secs = 600\n"
                        .to_owned();
                }
                let sim = vendor_sim::mytimetable::MyTimetableSim::new(Default::default());
                let server = sim.start(options()).expect("simulator");
                sims.mytimetable = Some(MyTimetableSim { sim, server });
            }
            Vendor::TimeEdit | Vendor::TimeEditUniversity | Vendor::TimeEditStoreOnly => {
                let sim = vendor_sim::timeedit::TimeEditSim::new(Default::default());
                let server = sim.start(options()).expect("simulator");
                sims.timeedit = Some(TimeEditSim { sim, server });
                match vendor {
                    Vendor::TimeEditUniversity => sims.vendor_keys = university_keys(),
                    Vendor::TimeEditStoreOnly => {
                        sims.vendor_keys = university_keys().replace(
                            "unmapped_groups = \"refuse\"",
                            "unmapped_groups = \"store_only\"",
                        );
                    }
                    _ => {}
                }
            }
            Vendor::Workspace365 | Vendor::Workspace365EntraGuide => {
                if vendor == Vendor::Workspace365EntraGuide {
                    sims.vendor_keys = guide_keys("**Administrators.**", "workspace365");
                }
                let sim = vendor_sim::workspace365::Workspace365Sim::new(Default::default());
                let server = sim.start(options()).expect("simulator");
                sims.workspace365 = Some(Workspace365Sims {
                    provisioning: Some(sim),
                    environment: None,
                    server,
                });
            }
            Vendor::AdSync | Vendor::AdSyncQueued | Vendor::AdSyncEntraGuide => {
                if vendor == Vendor::AdSyncEntraGuide {
                    sims.vendor_keys = guide_keys("to `objectId`", "workspace365_adsync");
                }
                sims.queued = vendor == Vendor::AdSyncQueued;
                let sim = vendor_sim::workspace365_env::Workspace365EnvSim::new(
                    vendor_sim::workspace365_env::Workspace365EnvConfig::single(
                        "example",
                        ADSYNC_TOKEN,
                        "env-api-token",
                    ),
                );
                let server = sim.start(options()).expect("simulator");
                sims.workspace365 = Some(Workspace365Sims {
                    provisioning: None,
                    environment: Some(sim),
                    server,
                });
            }
        }
        sims
    }

    /// The `test` connector's `kind` and vendor table, in TOML.
    pub fn connector_toml(&self) -> String {
        if let Some(mtt) = &self.mytimetable {
            let delivery = if self.queued { "queued" } else { "sync" };
            return format!(
                r#"kind = "mytimetable"
                delivery = "{delivery}"
                {}
                [connectors.test.mytimetable]
                base_url = "{}/api/v0"
                api_token = "{}"
                default_sync_types = ["o365"]
                unlink_mode = "DELETE_FUTURE_EVENTS"
                http.initial_backoff_ms = 10
                http.max_backoff_ms = 50
                http.timeout_secs = 5"#,
                self.connector_keys,
                mtt.server.base_url(),
                vendor_sim::mytimetable::DEMO_ADMIN_TOKEN
            );
        }
        if let Some(te) = &self.timeedit {
            return format!(
                r#"kind = "timeedit"
                [connectors.test.timeedit]
                endpoint = "{}{}"
                username = "{}"
                password = "{}"
                certificate = "{}"
                batch_linger_ms = 50
                {}"#,
                te.server.base_url(),
                te.sim.endpoint_path(),
                vendor_sim::timeedit::DEFAULT_USERNAME,
                vendor_sim::timeedit::DEFAULT_PASSWORD,
                vendor_sim::timeedit::DEFAULT_CERTIFICATE,
                self.vendor_keys,
            );
        }
        match &self.workspace365 {
            Some(Workspace365Sims {
                provisioning: Some(sim),
                server,
                ..
            }) => format!(
                r#"kind = "workspace365"
                [connectors.test.workspace365]
                base_url = "{}"
                environment = "example"
                provisioning_key = "{}"
                http.initial_backoff_ms = 10
                {}"#,
                sim.api_base(server).trim_end_matches('/'),
                vendor_sim::workspace365::DEMO_PROVISIONING_KEY,
                self.vendor_keys,
            ),
            Some(w) => format!(
                r#"kind = "workspace365-adsync"
                delivery = "{}"
                [connectors.test.workspace365_adsync]
                base_url = "{}"
                environment = "example"
                token = "{ADSYNC_TOKEN}"
                http.initial_backoff_ms = 10
                {}"#,
                if self.queued { "queued" } else { "sync" },
                w.server.base_url(),
                self.vendor_keys,
            ),
            None => format!("kind = \"directory\"\n{}", self.vendor_keys),
        }
    }

    pub async fn stop(self) {
        if let Some(s) = self.mytimetable {
            s.server.stop().await;
        }
        if let Some(s) = self.timeedit {
            s.server.stop().await;
        }
        if let Some(s) = self.workspace365 {
            s.server.stop().await;
        }
    }
}
