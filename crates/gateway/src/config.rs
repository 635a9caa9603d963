//! Configuration: one TOML file, every value overridable from the environment
//! (`SCIM_BRIDGE_SERVER__LISTEN=0.0.0.0:8080`, `SCIM_BRIDGE_CONNECTORS__HR__KIND=directory`),
//! secrets also readable from files (`…_file` keys). [`Config::problems`] explains every
//! mistake with its key and a fix, for `scim-bridge check-config`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use connector::Registry;
use scim::validate::SizeLimits;

use crate::auth::AuthConfig;

/// Environment variables with this prefix override the file; `__` separates keys.
pub const ENV_PREFIX: &str = "SCIM_BRIDGE_";

/// Variables with the prefix that are not configuration keys (`SCIM_BRIDGE_CONFIG` names the
/// file itself); any other unknown one is reported, so a typo does not pass silently.
const ENV_NOT_CONFIG: &[&str] = &["CONFIG"];

/// The environment variable that overrides the setting at the dotted `key`
/// (`server.listen` → `SCIM_BRIDGE_SERVER__LISTEN`).
pub fn env_variable(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

fn environment() -> Env {
    Env::prefixed(ENV_PREFIX).ignore(ENV_NOT_CONFIG).split("__")
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub scim: ScimConfig,
    /// The response cache.
    #[serde(default)]
    pub cache: CacheConfig,
    /// How queued deliveries are worked (connectors with `delivery = "queued"`).
    #[serde(default)]
    pub queue: crate::queue::QueueConfig,
    /// The admin API under `/admin`, with its own credentials (off without them).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Where `/metrics` is served, and to whom.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The connectors, by name: each is served under `/scim/v2/{name}`.
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorConfig>,
}

/// `[cache]`: the response cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// At most this many answers; 0 turns the cache off.
    pub max_entries: u64,
    /// At most this many bytes of answers.
    pub max_bytes: u64,
    /// How long an answer may be served (writes through this process end it sooner).
    pub ttl_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 10_000,
            max_bytes: 64 << 20,
            ttl_secs: 30,
        }
    }
}

/// The HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The externally visible base URL (for `Location` and `meta.location`), e.g.
    /// `https://bridge.example.edu`; default `http://{listen}`.
    pub public_url: Option<String>,
    /// Largest request body accepted (413 above, up front when `Content-Length` says so).
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, whole (408 after): a client that sends
    /// its headers and then trickles or stalls its body does not hold a connection longer.
    pub body_read_timeout_secs: u64,
    /// actix worker threads (default: one per core).
    pub workers: Option<usize>,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_timeout_secs: u64,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// HTTPS on `listen` (`[server.tls]`); plain HTTP without it, for a proxy in front.
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_body_bytes: 1 << 20,
            body_read_timeout_secs: 10,
            workers: None,
            shutdown_timeout_secs: 30,
            log_format: LogFormat::Text,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Where state is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` (the embedded default) or `postgres://user@host/db`.
    pub url: String,
    /// A file holding the URL instead (it may carry a password), e.g. a mounted secret.
    pub url_file: Option<std::path::PathBuf>,
    /// Days the history of settled writes is kept: committed and failed journal entries and
    /// delivered or dropped deliveries older than this are removed every hour. 0 keeps it all.
    pub retention_days: u32,
    /// Keep the trail of each write (the request, and every vendor call attempt) for the
    /// admin API's history. `false` records none (the history then shows entries only).
    pub trail: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite://scim-bridge.db".into(),
            url_file: None,
            retention_days: 30,
            trail: true,
        }
    }
}

impl StoreConfig {
    /// How long settled history is kept; `None`: forever.
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.retention_days > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.retention_days) * 86_400))
    }

    /// The URL to open: the file's content (trimmed) when `url_file` is set.
    pub fn resolved_url(&self) -> Result<String, Problem> {
        match &self.url_file {
            None => Ok(self.url.clone()),
            Some(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| Problem {
                    key: "store.url_file".into(),
                    problem: format!("cannot read {}: {e}", path.display()),
                    fix: "point it at a readable file holding the database URL".into(),
                }),
        }
    }
}

/// SCIM protocol limits, published in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// Page size when a client sends no `count`.
    pub default_count: usize,
    /// Largest page (`filter.maxResults`).
    pub max_results: usize,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_bytes: usize,
    /// Longest filter accepted, in bytes.
    pub max_filter_bytes: usize,
    /// Values one multi-valued attribute of a resource may hold (Group members aside).
    pub max_values_per_attribute: usize,
    /// Bytes a resource's stored attributes may take (Group members aside).
    pub max_resource_bytes: usize,
}

impl Default for ScimConfig {
    fn default() -> Self {
        ScimConfig {
            default_count: 100,
            max_results: 1000,
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 1 << 20,
            max_filter_bytes: scim::filter::MAX_FILTER_LEN,
            max_values_per_attribute: SizeLimits::default().max_values,
            max_resource_bytes: SizeLimits::default().max_bytes,
        }
    }
}

/// One connector.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorConfig {
    /// The connector kind: `directory` (no vendor) or a vendor kind of the binary's registry.
    pub kind: String,
    /// What to do with attributes no schema defines: `reject` (400) or `ignore`.
    #[serde(default)]
    pub unknown_attributes: UnknownAttributesPolicy,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Inbound request quotas (none by default).
    #[serde(default)]
    pub rate_limit: crate::limits::RateLimitConfig,
    /// When a write reaches the vendor: `sync` (before the SCIM answer) or `queued` (after).
    #[serde(default)]
    pub delivery: DeliveryMode,
    /// Holds deletions and deactivations past a count within a window (none by default).
    #[serde(default)]
    pub deletion_guard: Option<crate::guard::GuardConfig>,
    /// Every other key: the kind's settings table (`[connectors.<name>.mytimetable]`), read
    /// by its factory. The gateway knows no vendor, so it cannot name these keys itself;
    /// [`Config::problems`] refuses any that is not the settings table of the kind.
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// `problem`, saying which environment variable gave its value when one did. figment names
/// the source of what it reads into the gateway's own types; a connector's settings table is
/// read by its factory after the merge, so the gateway adds the source here.
fn with_source(mut problem: Problem) -> Problem {
    let variable = env_variable(&problem.key);
    if std::env::var_os(&variable).is_some() {
        problem.problem = format!("{} (from environment variable {variable})", problem.problem);
    }
    problem
}

/// The keys of a connector table besides its settings table.
const CONNECTOR_KEYS: &[&str] = &[
    "kind",
    "unknown_attributes",
    "auth",
    "rate_limit",
    "delivery",
    "deletion_guard",
];

impl ConnectorConfig {
    /// The settings table of this connector's kind (`Value::Null` when there is none).
    pub fn kind_settings(&self, registry: &Registry) -> &serde_json::Value {
        registry
            .get(&self.kind)
            .and_then(|factory| factory.settings_table())
            .and_then(|table| self.settings.get(table))
            .unwrap_or(&serde_json::Value::Null)
    }

    /// The problems of the settings tables of `[connectors.<name>]`: the kind's own table
    /// (missing, or what its factory finds wrong), another kind's table, an unknown key.
    fn settings_problems(&self, name: &str, registry: &Registry) -> Vec<Problem> {
        let mut problems = Vec::new();
        let factory = registry.get(&self.kind);
        let own_table = factory.and_then(|f| f.settings_table());
        for (key, value) in &self.settings {
            let at = format!("connectors.{name}.{key}");
            if Some(key.as_str()) == own_table {
                if let Some(factory) = factory {
                    problems.extend(
                        factory
                            .problems(value)
                            .into_iter()
                            .map(|p| with_source(p.under(&at))),
                    );
                }
            } else if let Some(kind) = registry.kind_of_table(key) {
                problems.push(Problem::new(
                    at,
                    format!("a {key} table on a connector of kind \"{}\"", self.kind),
                    format!("remove the table, or set kind = \"{kind}\""),
                ));
            } else {
                let expected: Vec<&str> = CONNECTOR_KEYS.iter().copied().chain(own_table).collect();
                problems.push(Problem::new(
                    at,
                    format!("unknown key `{key}`"),
                    format!(
                        "remove it or fix its spelling; expected one of: {}",
                        expected.join(", ")
                    ),
                ));
            }
        }
        if let Some(table) = own_table
            && !self.settings.contains_key(table)
        {
            problems.push(Problem::new(
                format!("connectors.{name}.{table}"),
                "the vendor settings are missing",
                format!(
                    "add a [connectors.{name}.{table}] table (see examples/{}.toml)",
                    self.kind
                ),
            ));
        }
        problems
    }
}

/// When a connector's writes reach its vendor (docs/architecture.md "Consistency").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// The SCIM answer waits for the vendor; a vendor failure is the client's error.
    #[default]
    Sync,
    /// The SCIM answer comes once the write is durable; a worker delivers it, with retries.
    Queued,
}

/// The `[admin]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Who may use `/admin` (the same forms as a connector's `auth`). Without any credential
    /// the admin API answers 404.
    #[serde(default)]
    pub auth: AuthConfig,
}

impl AdminConfig {
    /// Whether any credential is configured.
    pub fn enabled(&self) -> bool {
        self.auth.any()
    }
}

/// The `[metrics]` table: `/metrics` is served on the SCIM port to anyone who reaches it,
/// unless it has a port of its own (`listen`), credentials (`auth`), or both.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` (plain HTTP, with `/healthz` and `/readyz`) on this address instead
    /// of the SCIM port, e.g. one only the cluster's Prometheus reaches.
    pub listen: Option<SocketAddr>,
    /// Who may read `/metrics` (the same forms as a connector's `auth`; Prometheus sends a
    /// bearer token with `authorization.credentials_file`). Without any, anyone may.
    #[serde(default)]
    pub auth: AuthConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownAttributesPolicy {
    #[default]
    Reject,
    Ignore,
}

/// One configuration mistake: the project's one type for them (see [`connector::Problem`]).
pub use connector::Problem;

impl Config {
    /// Reads `path` (when given) and the environment. Every error becomes a [`Problem`].
    pub fn load(path: Option<&Path>) -> Result<Config, Vec<Problem>> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.exists() {
                return Err(vec![Problem {
                    key: path.display().to_string(),
                    problem: "the configuration file does not exist".into(),
                    fix: "pass the path of a TOML file (see examples/ for complete ones)".into(),
                }]);
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::extract(figment.merge(environment()))
    }

    /// Parses a TOML string, without the environment (tests).
    pub fn from_toml(text: &str) -> Result<Config, Vec<Problem>> {
        Self::extract(Figment::new().merge(Toml::string(text)))
    }

    /// A built-in configuration, overridable from the environment like a file.
    pub fn from_default(text: &str) -> Result<Config, Vec<Problem>> {
        Self::extract(
            Figment::new()
                .merge(Toml::string(text))
                .merge(environment()),
        )
    }

    fn extract(figment: Figment) -> Result<Config, Vec<Problem>> {
        figment
            .extract::<Config>()
            .map_err(|errors| errors.into_iter().map(problem_from_figment).collect())
    }

    /// The base URL resources are addressed under, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// Everything wrong with a configuration that parsed, the connectors' settings checked
    /// by the factories of `registry`.
    /// What only the vendors can tell (`check-config --online`): each connector is built and
    /// asked, once and without a write, whether its vendor answers, takes the credentials and
    /// has what the settings name. Run it on a configuration [`Config::problems`] accepts.
    pub async fn online_problems(&self, registry: &Registry) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (name, connector) in &self.connectors {
            let Some(factory) = registry.get(&connector.kind) else {
                continue;
            };
            let at = match factory.settings_table() {
                Some(table) => format!("connectors.{name}.{table}"),
                None => format!("connectors.{name}"),
            };
            match factory.build(
                &connector::Context::named(name),
                connector.kind_settings(registry),
            ) {
                Ok(built) => {
                    problems.extend(built.check_online().await.into_iter().map(|p| p.under(&at)))
                }
                Err(e) => problems.push(Problem::new(
                    at,
                    e.to_string(),
                    "fix the settings check-config reports",
                )),
            }
        }
        problems
    }

    pub fn problems(&self, registry: &Registry) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(tls) = &self.server.tls {
            problems.extend(crate::tls::problems(tls));
        }
        let push = |problems: &mut Vec<Problem>, key: String, problem: String, fix: &str| {
            problems.push(Problem {
                key,
                problem,
                fix: fix.into(),
            })
        };
        if self.connectors.is_empty() {
            push(
                &mut problems,
                "connectors".into(),
                "no connector is configured".into(),
                "add a [connectors.<name>] table with kind = \"directory\"",
            );
        }
        for (name, connector) in &self.connectors {
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                push(
                    &mut problems,
                    format!("connectors.{name}"),
                    "the connector name must be usable in a URL".into(),
                    "use letters, digits, '-' and '_' only",
                );
            }
            if registry.get(&connector.kind).is_none() {
                push(
                    &mut problems,
                    format!("connectors.{name}.kind"),
                    format!("unknown connector kind \"{}\"", connector.kind),
                    &format!(
                        "use one of: {}",
                        registry.kinds().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            if connector.delivery == DeliveryMode::Queued && connector.kind == "directory" {
                push(
                    &mut problems,
                    format!("connectors.{name}.delivery"),
                    "a directory connector has no vendor to deliver to".into(),
                    "remove delivery, or set delivery = \"sync\"",
                );
            }
            if let Some(guard) = &connector.deletion_guard {
                let at = format!("connectors.{name}");
                problems.extend(guard.problems().into_iter().map(|p| p.under(&at)));
            }
            let at = format!("connectors.{name}.rate_limit");
            problems.extend(
                connector
                    .rate_limit
                    .problems()
                    .into_iter()
                    .map(|p| p.under(&at)),
            );
            problems.extend(connector.settings_problems(name, registry));
            let auth = &connector.auth;
            if auth.bearer_token_hashes.is_empty() && auth.jwt.is_none() && auth.basic.is_empty() {
                push(
                    &mut problems,
                    format!("connectors.{name}.auth"),
                    "no credential is configured, so no client could use this connector".into(),
                    "run `scim-bridge token` and put the printed hash in bearer_token_hashes, or configure jwt or basic",
                );
            }
            let at = format!("connectors.{name}.auth");
            problems.extend(crate::auth::check(auth).into_iter().map(|p| p.under(&at)));
        }
        problems.extend(self.queue.problems().into_iter().map(|p| p.under("queue")));
        // No credential at all is fine: the admin API is off.
        let admin_checks = if self.admin.enabled() {
            crate::auth::check(&self.admin.auth)
        } else {
            Vec::new()
        };
        problems.extend(admin_checks.into_iter().map(|p| p.under("admin.auth")));
        if self.metrics.auth.any() {
            let checks = crate::auth::check(&self.metrics.auth);
            problems.extend(checks.into_iter().map(|p| p.under("metrics.auth")));
        }
        if self.metrics.listen == Some(self.server.listen) && self.server.listen.port() != 0 {
            problems.push(Problem {
                key: "metrics.listen".into(),
                problem: format!("is server.listen's address, {}", self.server.listen),
                fix: "give /metrics another port, or remove the key to serve it on the SCIM port"
                    .into(),
            });
        }
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push(Problem {
                key: "server.public_url".into(),
                problem: format!("\"{url}\" is not an http(s) URL"),
                fix: "write the URL clients use, e.g. https://bridge.example.edu".into(),
            });
        }
        match self.store.resolved_url() {
            Err(problem) => problems.push(problem),
            Ok(url) => {
                if !["sqlite:", "postgres://", "postgresql://"]
                    .iter()
                    .any(|s| url.starts_with(s))
                {
                    // The URL itself is not echoed: it may hold a password.
                    let scheme = url.split(':').next().unwrap_or_default();
                    let key = if self.store.url_file.is_some() {
                        "store.url_file"
                    } else {
                        "store.url"
                    };
                    problems.push(Problem {
                        key: key.into(),
                        problem: format!("a \"{scheme}:\" URL is neither SQLite nor PostgreSQL"),
                        fix: "use sqlite://scim-bridge.db or postgres://user@host:5432/db".into(),
                    });
                }
            }
        }
        let limits = &self.scim;
        for (key, value) in [
            ("scim.default_count", limits.default_count),
            ("scim.max_results", limits.max_results),
            ("scim.bulk_max_operations", limits.bulk_max_operations),
            ("scim.bulk_max_payload_bytes", limits.bulk_max_payload_bytes),
            ("scim.max_filter_bytes", limits.max_filter_bytes),
            (
                "scim.max_values_per_attribute",
                limits.max_values_per_attribute,
            ),
            ("scim.max_resource_bytes", limits.max_resource_bytes),
            ("server.max_body_bytes", self.server.max_body_bytes),
            (
                "server.body_read_timeout_secs",
                usize::try_from(self.server.body_read_timeout_secs).unwrap_or(usize::MAX),
            ),
        ] {
            if value == 0 {
                problems.push(Problem {
                    key: key.into(),
                    problem: "must be greater than 0".into(),
                    fix: "remove the key to use the default".into(),
                });
            }
        }
        if limits.default_count > limits.max_results {
            problems.push(Problem {
                key: "scim.default_count".into(),
                problem: format!(
                    "{} is larger than scim.max_results ({})",
                    limits.default_count, limits.max_results
                ),
                fix: "make default_count at most max_results".into(),
            });
        }
        problems
    }
}

fn problem_from_figment(e: figment::Error) -> Problem {
    use figment::error::Kind;
    let key = if e.path.is_empty() {
        "(top level)".to_owned()
    } else {
        e.path.join(".")
    };
    let fix = match &e.kind {
        Kind::UnknownField(_, expected) => format!(
            "remove it or fix its spelling; expected one of: {}",
            expected.join(", ")
        ),
        Kind::MissingField(field) => format!("add `{field} = …`"),
        Kind::InvalidType(_, expected) => format!("give it {expected}"),
        Kind::InvalidValue(_, expected) => format!("give it {expected}"),
        _ => "see examples/ for a complete configuration".to_owned(),
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    Problem {
        key,
        problem: format!("{}{source}", e.kind),
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [server]
        listen = "127.0.0.1:9000"
        public_url = "https://bridge.example.edu/"
        [store]
        url = "sqlite://state.db"
        [connectors.hr]
        kind = "directory"
        auth.bearer_token_hashes = ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]
    "#;

    #[test]
    fn a_good_file_has_no_problems() {
        let config = Config::from_toml(GOOD).expect("parses");
        assert!(
            config.problems(&Registry::default()).is_empty(),
            "{:?}",
            config.problems(&Registry::default())
        );
        assert_eq!(config.public_url(), "https://bridge.example.edu");
        assert_eq!(
            config.connectors["hr"].unknown_attributes,
            UnknownAttributesPolicy::Reject
        );
    }

    #[test]
    fn delivery_queue_and_admin_settings_are_checked() {
        let config = Config::from_toml(GOOD).expect("parses");
        assert!(!config.admin.enabled() && config.problems(&Registry::default()).is_empty());
        assert_eq!(config.connectors["hr"].delivery, DeliveryMode::Sync);
        let config = Config::from_toml(&format!(
            "{GOOD}\ndelivery = \"queued\"\n[queue]\nconcurrency = 0\n[admin]\nauth.bearer_token_hashes = [\"plain\"]\n"
        ))
        .expect("parses");
        let keys: Vec<String> = config
            .problems(&Registry::default())
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            [
                "connectors.hr.delivery",
                "queue.concurrency",
                "admin.auth.bearer_token_hashes[0]"
            ],
            "{:?}",
            config.problems(&Registry::default())
        );
    }

    #[test]
    fn history_is_kept_thirty_days_unless_configured() {
        let days = |d: u64| Some(std::time::Duration::from_secs(d * 86_400));
        assert_eq!(StoreConfig::default().retention(), days(30));
        let kept = Config::from_toml("[store]\nretention_days = 0\n").expect("parses");
        assert_eq!(kept.store.retention(), None, "0 keeps everything");
        let week = Config::from_toml("[store]\nretention_days = 7\n").expect("parses");
        assert_eq!(week.store.retention(), days(7));
        Config::from_toml("[store]\nretention_days = -1\n").expect_err("not negative");
    }

    #[test]
    fn the_trail_is_kept_unless_turned_off() {
        assert!(StoreConfig::default().trail);
        let off = Config::from_toml("[store]\ntrail = false\n").expect("parses");
        assert!(!off.store.trail);
        Config::from_toml("[store]\ntrail = \"no\"\n").expect_err("a boolean");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let problems = Config::from_toml("[server]\nlisten = \"127.0.0.1:9000\"\nlistne = 1\n")
            .expect_err("unknown key");
        assert_eq!(problems[0].key, "server.listne");
        assert!(problems[0].fix.contains("listen"), "{}", problems[0]);
        let problems =
            Config::from_toml("[scim]\nmax_results = \"many\"\n").expect_err("wrong type");
        assert_eq!(problems[0].key, "scim.max_results");
    }

    #[test]
    fn semantic_problems_have_keys_and_fixes() {
        let config = Config::from_toml(
            r#"
            [store]
            url = "mysql://x"
            [scim]
            default_count = 5000
            [connectors."bad name"]
            kind = "ldap"
            "#,
        )
        .expect("parses");
        let keys: Vec<String> = config
            .problems(&Registry::default())
            .into_iter()
            .map(|p| p.key)
            .collect();
        for expected in [
            "connectors.bad name",
            "connectors.bad name.kind",
            "connectors.bad name.auth",
            "store.url",
            "scim.default_count",
        ] {
            assert!(
                keys.iter().any(|k| k == expected),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn the_store_url_can_come_from_a_file() {
        let path = std::env::temp_dir().join(format!("scim-bridge-url-{}", std::process::id()));
        std::fs::write(&path, "postgres://scim:s3cret@db/scim\n").expect("write");
        let text = GOOD.replace(
            "url = \"sqlite://state.db\"",
            &format!("url_file = \"{}\"", path.display()),
        );
        let config = Config::from_toml(&text).expect("parses");
        assert_eq!(
            config.store.resolved_url().expect("reads"),
            "postgres://scim:s3cret@db/scim"
        );
        assert!(
            config.problems(&Registry::default()).is_empty(),
            "{:?}",
            config.problems(&Registry::default())
        );
        std::fs::write(&path, "mysql://root:hunter2@db/x").expect("write");
        let problems = config.problems(&Registry::default());
        assert_eq!(problems[0].key, "store.url_file");
        assert!(
            !problems[0].to_string().contains("hunter2"),
            "the URL is not echoed: {}",
            problems[0]
        );
        std::fs::remove_file(&path).expect("remove");
        assert!(
            config.problems(&Registry::default())[0]
                .problem
                .contains("cannot read")
        );
    }

    /// A settings table of a kind the gateway does not know, for the checks below.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct VendorSettings {
        timeout_secs: u64,
    }

    fn vendor_registry() -> Registry {
        Registry::default().with(connector::SettingsFactory::new(
            "vendor",
            "vendor",
            |s: &VendorSettings| {
                if s.timeout_secs == 0 {
                    vec![Problem::new(
                        "timeout_secs",
                        "must be greater than 0",
                        "remove it",
                    )]
                } else {
                    Vec::new()
                }
            },
            |_, _| Ok(std::sync::Arc::new(connector::Directory)),
        ))
    }

    #[test]
    fn a_connectors_settings_table_is_checked_by_its_kind() {
        let registry = vendor_registry();
        let base = format!(
            "{GOOD}\n[connectors.v]\nkind = \"vendor\"\nauth.bearer_token_hashes = [\"sha256:{}\"]\n",
            "0".repeat(64)
        );
        let problems = |text: &str| -> Vec<String> {
            Config::from_toml(text)
                .expect("parses")
                .problems(&registry)
                .into_iter()
                .map(|p| p.key)
                .collect()
        };
        assert_eq!(problems(&base), ["connectors.v.vendor"], "missing table");
        assert!(problems(&format!("{base}vendor.timeout_secs = 5\n")).is_empty());
        assert_eq!(
            problems(&format!("{base}vendor.timeout_secs = 0\n")),
            ["connectors.v.vendor.timeout_secs"]
        );
        assert_eq!(
            problems(&format!("{base}vendor.timeout_secs = 5\nvendr = 1\n")),
            ["connectors.v.vendr"],
            "unknown key"
        );
        let other = GOOD.replace(
            "kind = \"directory\"",
            "kind = \"directory\"\nvendor.timeout_secs = 5",
        );
        assert_eq!(
            problems(&other),
            ["connectors.hr.vendor"],
            "another kind's table"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment::Error.
    fn a_settings_problem_names_the_environment_variable_that_gave_the_value() {
        figment::Jail::expect_with(|jail| {
            let file = format!(
                "{GOOD}\n[connectors.v]\nkind = \"vendor\"\nauth.bearer_token_hashes = [\"sha256:{}\"]\n[connectors.v.vendor]\ntimeout_secs = 5\n",
                "0".repeat(64)
            );
            jail.create_file("bridge.toml", &file)?;
            jail.set_env("SCIM_BRIDGE_CONNECTORS__V__VENDOR__TIMEOUT_SECS", "0");
            let config =
                Config::load(Some(Path::new("bridge.toml"))).map_err(|p| format!("{p:?}"))?;
            let problems = config.problems(&vendor_registry());
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].key, "connectors.v.vendor.timeout_secs");
            assert!(
                problems[0].problem.ends_with(
                    "(from environment variable SCIM_BRIDGE_CONNECTORS__V__VENDOR__TIMEOUT_SECS)"
                ),
                "{}",
                problems[0]
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment::Error.
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bridge.toml", GOOD)?;
            jail.set_env("SCIM_BRIDGE_SERVER__LISTEN", "0.0.0.0:7000");
            jail.set_env("SCIM_BRIDGE_CONNECTORS__HR__UNKNOWN_ATTRIBUTES", "ignore");
            jail.set_env("SCIM_BRIDGE_CONFIG", "bridge.toml");
            let config =
                Config::load(Some(Path::new("bridge.toml"))).map_err(|p| format!("{p:?}"))?;
            assert_eq!(config.server.listen.port(), 7000);
            assert_eq!(
                config.connectors["hr"].unknown_attributes,
                UnknownAttributesPolicy::Ignore
            );
            Ok(())
        });
    }
}
