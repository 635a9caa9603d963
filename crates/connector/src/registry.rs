//! The connector kinds one build knows. Each kind comes with a [`ConnectorFactory`]: its
//! name, the settings table it reads, the checks of that table and how to build the
//! connector. The binary assembles the [`Registry`] from the vendor crates it links; the
//! gateway only ever sees the registry, so it names no vendor (docs/architecture.md,
//! "Where to put a new connector").

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Connector, ConnectorError, Context, Directory};

/// One configuration mistake: where it is, what is wrong, and how to fix it. Every check of
/// the configuration (the gateway's, each connector's) speaks in these, so `check-config`
/// prints them all alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `connectors.hr.mytimetable.base_url`.
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The same problem with `prefix.` before its key (a table's problems placed in the
    /// table that holds it).
    pub fn under(mut self, prefix: &str) -> Problem {
        self.key = if self.key.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.key)
        };
        self
    }
}

/// The error a connector's constructor returns for settings with problems (which
/// `check-config` shows one by one): all of them, on one line.
pub fn unusable(kind: &str, problems: &[Problem]) -> ConnectorError {
    let listed: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {} (fix: {})", p.key, p.problem, p.fix))
        .collect();
    ConnectorError::Unsupported(format!("{kind}: {}", listed.join("; ")))
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n    fix: {}", self.key, self.problem, self.fix)
    }
}

/// Builds the connectors of one kind from their settings table.
pub trait ConnectorFactory: Send + Sync {
    /// The configuration's `kind` (`"mytimetable"`, `"workspace365-adsync"`, …).
    fn kind(&self) -> &'static str;

    /// The settings table under `[connectors.<name>]` this kind reads (its kind with `_` for
    /// `-`, so that an environment variable can name it), or `None` for a kind without one.
    fn settings_table(&self) -> Option<&'static str>;

    /// Everything wrong with a settings table, keys relative to the table. Local and cheap:
    /// no vendor is called.
    fn problems(&self, settings: &Value) -> Vec<Problem>;

    /// The connector `context` names for these settings (`Value::Null` for a kind without a
    /// table). Makes no vendor call.
    fn build(
        &self,
        context: &Context,
        settings: &Value,
    ) -> Result<Arc<dyn Connector>, ConnectorError>;
}

/// How a [`SettingsFactory`] builds the connector `name` from its settings.
pub type BuildFn<S> = fn(&Context, S) -> Result<Arc<dyn Connector>, ConnectorError>;

/// A [`ConnectorFactory`] for a kind whose settings table deserializes into `S`: the common
/// case, so that a vendor crate only says how to check and how to build.
pub struct SettingsFactory<S> {
    kind: &'static str,
    table: &'static str,
    check: fn(&S) -> Vec<Problem>,
    build: BuildFn<S>,
}

impl<S> SettingsFactory<S> {
    /// A factory for `kind`, reading `[connectors.<name>.<table>]`.
    pub fn new(
        kind: &'static str,
        table: &'static str,
        check: fn(&S) -> Vec<Problem>,
        build: BuildFn<S>,
    ) -> Self {
        SettingsFactory {
            kind,
            table,
            check,
            build,
        }
    }
}

/// Reads a settings table, naming the key that does not fit (`http.timeout_secs`) the way
/// a configuration error names it.
pub fn parse_settings<S: DeserializeOwned>(settings: &Value) -> Result<S, Problem> {
    serde_path_to_error::deserialize(settings).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        let fix = if let Some(rest) = message.strip_prefix("unknown field") {
            let expected = rest.split_once("expected").map_or("", |(_, e)| e.trim());
            format!("remove it or fix its spelling; expected {expected}")
        } else if let Some(field) = message.strip_prefix("missing field ") {
            format!("add `{} = …`", field.trim_matches('`'))
        } else {
            "see the connector's example in examples/".to_owned()
        };
        Problem::new(key, message, fix)
    })
}

impl<S: DeserializeOwned + Send + Sync> ConnectorFactory for SettingsFactory<S> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn settings_table(&self) -> Option<&'static str> {
        Some(self.table)
    }

    fn problems(&self, settings: &Value) -> Vec<Problem> {
        match parse_settings::<S>(settings) {
            Ok(settings) => (self.check)(&settings),
            Err(problem) => vec![problem],
        }
    }

    fn build(
        &self,
        context: &Context,
        settings: &Value,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        let settings = parse_settings::<S>(settings).map_err(|p| {
            ConnectorError::Unsupported(format!("[{}] {}: {}", self.table, p.key, p.problem))
        })?;
        (self.build)(context, settings)
    }
}

/// The `directory` kind: no vendor, no settings.
struct DirectoryFactory;

impl ConnectorFactory for DirectoryFactory {
    fn kind(&self) -> &'static str {
        "directory"
    }

    fn settings_table(&self) -> Option<&'static str> {
        None
    }

    fn problems(&self, _: &Value) -> Vec<Problem> {
        Vec::new()
    }

    fn build(&self, _: &Context, _: &Value) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(Directory))
    }
}

/// The connector kinds a build offers, by kind name. [`Registry::default`] knows
/// `directory` only; the binary adds each vendor crate's factories.
#[derive(Clone)]
pub struct Registry {
    factories: BTreeMap<&'static str, Arc<dyn ConnectorFactory>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            factories: BTreeMap::new(),
        }
        .with(DirectoryFactory)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.kinds()).finish()
    }
}

impl Registry {
    /// This registry and `factory`'s kind (replacing one of the same name).
    pub fn with(mut self, factory: impl ConnectorFactory + 'static) -> Registry {
        self.factories.insert(factory.kind(), Arc::new(factory));
        self
    }

    /// The factory of `kind`.
    pub fn get(&self, kind: &str) -> Option<&dyn ConnectorFactory> {
        self.factories.get(kind).map(|f| f.as_ref())
    }

    /// Every kind, in name order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// The kind whose settings table is called `table`.
    pub fn kind_of_table(&self, table: &str) -> Option<&'static str> {
        self.factories
            .values()
            .find(|f| f.settings_table() == Some(table))
            .map(|f| f.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        base_url: String,
        #[serde(default)]
        http: Http,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Http {
        #[serde(default)]
        timeout_secs: u64,
    }

    fn factory() -> SettingsFactory<Settings> {
        SettingsFactory::new(
            "example-vendor",
            "example_vendor",
            |s| {
                let mut problems = Vec::new();
                if s.base_url.is_empty() {
                    problems.push(Problem::new(
                        "base_url",
                        "is empty",
                        "give the vendor's URL",
                    ));
                }
                if s.http.timeout_secs > 3600 {
                    problems.push(Problem::new(
                        "http.timeout_secs",
                        "is over an hour",
                        "lower it",
                    ));
                }
                problems
            },
            |_, _| Ok(Arc::new(Directory)),
        )
    }

    #[test]
    fn the_default_registry_knows_the_directory() {
        let registry = Registry::default();
        assert_eq!(registry.kinds().collect::<Vec<_>>(), ["directory"]);
        let directory = registry.get("directory").expect("directory");
        assert_eq!(directory.settings_table(), None);
        assert!(
            directory
                .build(&Context::named("directory"), &Value::Null)
                .is_ok()
        );
        let registry = registry.with(factory());
        assert_eq!(
            registry.kinds().collect::<Vec<_>>(),
            ["directory", "example-vendor"]
        );
        assert_eq!(
            registry.kind_of_table("example_vendor"),
            Some("example-vendor")
        );
        assert_eq!(registry.kind_of_table("directory"), None);
    }

    #[test]
    fn settings_problems_name_the_key_and_a_fix() {
        let f = factory();
        assert!(f.problems(&json!({"base_url": "https://x"})).is_empty());
        let checked = f.problems(&json!({"base_url": ""}));
        assert_eq!(checked[0].key, "base_url");
        let missing = f.problems(&json!({}));
        assert_eq!(missing[0].key, "");
        assert!(missing[0].fix.contains("base_url"), "{}", missing[0]);
        let wrong = f.problems(&json!({"base_url": "x", "http": {"timeout_secs": "soon"}}));
        assert_eq!(wrong[0].key, "http.timeout_secs");
        assert!(wrong[0].problem.contains("invalid type"), "{}", wrong[0]);
        let unknown = f.problems(&json!({"base_url": "x", "http": {"timeout": 5}}));
        assert_eq!(unknown[0].key, "http.timeout");
        assert!(unknown[0].fix.contains("timeout_secs"), "{}", unknown[0]);
        assert!(f.build(&Context::named("example"), &json!({})).is_err());
        assert!(
            f.build(&Context::named("example"), &json!({"base_url": "x"}))
                .is_ok()
        );
        assert_eq!(
            Problem::new("base_url", "p", "f")
                .under("connectors.x.v")
                .key,
            "connectors.x.v.base_url"
        );
    }
}
