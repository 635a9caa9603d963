//! Attribute mapping: where each vendor field a connector writes takes its value from.
//!
//! Every vendor crate lists the fields it writes ([`Field`], one enum per resource kind) and
//! a default rule for each, which is exactly its behaviour before mappings existed. An
//! operator overrides any of them under `[connectors.<name>.<kind>.mapping.user]` (or
//! `.group`), without a code change:
//!
//! ```toml
//! loginname = { from = "userName", transform = [{ before = "@" }, "lower"] }
//! standardorganization = { from = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", transform = [{ map = { Physics = "fys" } }] }
//! phone = false   # leave it out
//! ```
//!
//! A rule ([`rule::Rule`]) reads SCIM paths in order (the first that gives a value wins), or a
//! constant; applies its transforms ([`transform::Transform`]) to each value; and falls back
//! to its default. Paths are checked against the connector's schemas when the settings are
//! read, so `check-config` names every unknown path, field or bad expression with its key.
//! Why by hand: no published crate maps SCIM paths with SCIM's filters and case rules.

pub mod rule;
pub mod transform;

use std::collections::BTreeMap;
use std::marker::PhantomData;

use scim::schema::Schema;
use scim::{ResourceKind, ResourceSchema, SchemaRegistry};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{ConnectorError, Problem};
pub use rule::Rule;

/// What kind of value a vendor field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One string: the first value.
    Text,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, any case).
    Flag,
    /// Every value.
    List,
}

/// One vendor field a connector writes.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The vendor's name for it: the key under `mapping.user` / `mapping.group`.
    pub name: &'static str,
    pub kind: FieldKind,
    /// Whether the vendor needs it: it cannot be left out (`false`).
    pub required: bool,
    /// A line for the documentation and `mapping preview`.
    pub about: &'static str,
}

/// The fields of one resource kind at one vendor: an enum whose variants index [`Field::ALL`].
pub trait Field: Copy + std::fmt::Debug + 'static {
    /// Every field, in the order the documentation lists them.
    const ALL: &'static [Self];
    /// `"user"` or `"group"`: the table under `mapping` that configures them.
    const TABLE: &'static str;
    fn spec(self) -> FieldSpec;
    /// The position of this field in [`Field::ALL`].
    fn index(self) -> usize;
}

/// `[connectors.<name>.<kind>.mapping]`: the operator's rules, by resource kind and field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSettings {
    #[serde(default)]
    pub user: BTreeMap<String, Value>,
    #[serde(default)]
    pub group: BTreeMap<String, Value>,
}

impl MappingSettings {
    /// The rules of the table `F` reads.
    pub fn table<F: Field>(&self) -> &BTreeMap<String, Value> {
        if F::TABLE == "group" {
            &self.group
        } else {
            &self.user
        }
    }
}

/// One field as a resource maps it: what `mapping preview` prints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MappedField {
    /// `mapping.user.loginname`.
    pub key: String,
    /// The rule, as TOML (`false` when the field is left out).
    pub rule: String,
    /// What the resource gives it (none: the field is not sent, or cleared on an update).
    pub values: Vec<String>,
}

/// Why a resource cannot be mapped; the SCIM client's 400, naming the rule to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "{vendor} needs {field}, and this resource gives none through {key} = {rule}; set the attribute, or change the mapping"
    )]
    Missing {
        vendor: &'static str,
        field: &'static str,
        key: String,
        rule: String,
    },
    #[error(
        "{key} gave \"{value}\" for {field}, which is not true or false; map it to true or false"
    )]
    NotAFlag {
        field: &'static str,
        key: String,
        value: String,
    },
}

impl From<MappingError> for ConnectorError {
    fn from(e: MappingError) -> Self {
        ConnectorError::Rejected {
            reason: e.to_string(),
        }
    }
}

/// Both mappings, or every problem of either.
pub fn both<A, B>(
    a: Result<A, Vec<Problem>>,
    b: Result<B, Vec<Problem>>,
) -> Result<(A, B), Vec<Problem>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
    }
}

/// Refuses `mapping.group` rules for a connector without Groups (`why` says so).
pub fn no_group_rules(settings: &MappingSettings, why: &str) -> Result<(), Vec<Problem>> {
    if settings.group.is_empty() {
        Ok(())
    } else {
        Err(vec![Problem::new("mapping.group", why, "remove the table")])
    }
}

/// Reads a flag as the vendor fields take it.
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The schemas of `kind` a connector's resources carry: the standard ones and its extensions.
pub fn resource_schema(
    kind: ResourceKind,
    extensions: &[(ResourceKind, Schema)],
) -> ResourceSchema {
    let mut registry = SchemaRegistry::standard();
    for (of, schema) in extensions {
        if *of == kind {
            // A connector's extension URNs are its own and distinct: registering cannot fail.
            let _ = registry.register_extension(kind.as_str(), schema.clone(), false);
        }
    }
    registry
        .resource_schema(kind.as_str())
        .unwrap_or_else(|| unreachable!("the standard registry has {kind}"))
}

/// The rules of every field of `F`, checked against the connector's schemas.
#[derive(Debug, Clone)]
pub struct Mapping<F> {
    vendor: &'static str,
    schema: ResourceSchema,
    rules: Vec<Option<Rule>>,
    field: PhantomData<fn() -> F>,
}

impl<F: Field> Mapping<F> {
    /// The defaults with the operator's `settings` over them. `defaults` gives a rule, in the
    /// configuration's form, for the fields written without one; a field with neither is
    /// left out. Problems are keyed `mapping.<table>.<field>…`.
    pub fn build(
        vendor: &'static str,
        settings: &MappingSettings,
        defaults: &[(F, Value)],
        schema: ResourceSchema,
    ) -> Result<Mapping<F>, Vec<Problem>> {
        let table = settings.table::<F>();
        let prefix = format!("mapping.{}", F::TABLE);
        let mut problems = Vec::new();
        for name in table.keys() {
            if !F::ALL.iter().any(|f| f.spec().name == name) {
                let names: Vec<&str> = F::ALL.iter().map(|f| f.spec().name).collect();
                let fix = match F::ALL
                    .iter()
                    .find(|f| f.spec().name.eq_ignore_ascii_case(name))
                {
                    Some(f) => format!("write it as {}", f.spec().name),
                    None => format!("map one of: {}", names.join(", ")),
                };
                problems.push(Problem::new(
                    format!("{prefix}.{name}"),
                    format!("{vendor} has no {} field \"{name}\"", F::TABLE),
                    fix,
                ));
            }
        }
        let mut rules = Vec::with_capacity(F::ALL.len());
        for &field in F::ALL {
            let spec = field.spec();
            let key = format!("{prefix}.{}", spec.name);
            let written = table.get(spec.name).or_else(|| {
                defaults
                    .iter()
                    .find(|(f, _)| f.index() == field.index())
                    .map(|(_, v)| v)
            });
            let rule = match written.map(|v| Rule::parse(v, &key, &schema)) {
                None | Some(Ok(None)) => None,
                Some(Ok(Some(rule))) => Some(rule),
                Some(Err(found)) => {
                    problems.extend(found);
                    None
                }
            };
            if spec.required && rule.is_none() && !problems.iter().any(|p| p.key.starts_with(&key))
            {
                problems.push(Problem::new(
                    &key,
                    format!("{vendor} needs {}, so it cannot be left out", spec.name),
                    "map it, or remove the key to use the default",
                ));
            }
            if spec.kind == FieldKind::Flag
                && let Some(rule) = &rule
            {
                let constants = rule
                    .sources
                    .iter()
                    .filter_map(|s| match s {
                        rule::Source::Value(v) => Some(v),
                        rule::Source::Path(_) => None,
                    })
                    .chain(rule.default.as_ref());
                for constant in constants {
                    if parse_flag(constant).is_none() {
                        problems.push(Problem::new(
                            &key,
                            format!("\"{constant}\" is not true or false"),
                            "write true or false",
                        ));
                    }
                }
            }
            rules.push(rule);
        }
        if problems.is_empty() {
            Ok(Mapping {
                vendor,
                schema,
                rules,
                field: PhantomData,
            })
        } else {
            Err(problems)
        }
    }

    fn rule(&self, field: F) -> Option<&Rule> {
        self.rules.get(field.index()).and_then(Option::as_ref)
    }

    /// Whether the field is written at all.
    pub fn is_mapped(&self, field: F) -> bool {
        self.rule(field).is_some()
    }

    /// Every value the resource gives the field (none when it is left out).
    pub fn values(&self, field: F, resource: &Map<String, Value>) -> Vec<String> {
        self.rule(field)
            .map(|r| r.values(resource, &self.schema))
            .unwrap_or_default()
    }

    /// The field's value: the first one the resource gives.
    pub fn text(&self, field: F, resource: &Map<String, Value>) -> Option<String> {
        self.values(field, resource).into_iter().next()
    }

    /// The field's value, which the vendor cannot do without.
    pub fn required(
        &self,
        field: F,
        resource: &Map<String, Value>,
    ) -> Result<String, MappingError> {
        self.text(field, resource)
            .ok_or_else(|| MappingError::Missing {
                vendor: self.vendor,
                field: field.spec().name,
                key: self.key(field),
                rule: self.describe(field),
            })
    }

    /// The field as a flag; `None` when the resource gives nothing.
    pub fn flag(
        &self,
        field: F,
        resource: &Map<String, Value>,
    ) -> Result<Option<bool>, MappingError> {
        match self.text(field, resource) {
            None => Ok(None),
            Some(value) => parse_flag(&value).map(Some).ok_or(MappingError::NotAFlag {
                field: field.spec().name,
                key: self.key(field),
                value,
            }),
        }
    }

    /// Every value, or `None` when the resource gives none (so a merge can tell "cleared"
    /// from "never set").
    pub fn list(&self, field: F, resource: &Map<String, Value>) -> Option<Vec<String>> {
        let values = self.values(field, resource);
        (!values.is_empty()).then_some(values)
    }

    /// Every field with its rule and what `resource` gives it.
    pub fn explain(&self, resource: &Map<String, Value>) -> Vec<MappedField> {
        F::ALL
            .iter()
            .map(|&field| MappedField {
                key: self.key(field),
                rule: self.describe(field),
                values: self.values(field, resource),
            })
            .collect()
    }

    /// The fields and their rules as a Markdown table: what each connector's page in
    /// `docs/connectors/` shows as its default mapping (a test keeps the two equal).
    pub fn markdown(&self) -> String {
        let mut out = String::from("| key | value | rule |\n| --- | --- | --- |\n");
        for &field in F::ALL {
            let spec = field.spec();
            let kind = match spec.kind {
                FieldKind::Text => "text",
                FieldKind::Flag => "true/false",
                FieldKind::List => "list",
            };
            let required = if spec.required { ", required" } else { "" };
            out.push_str(&format!(
                "| `{}` | {kind}{required}: {} | `{}` |\n",
                self.key(field),
                spec.about,
                self.describe(field).replace('|', "\\|"),
            ));
        }
        out
    }

    /// `mapping.user.loginname`: the key that configures the field.
    pub fn key(&self, field: F) -> String {
        format!("mapping.{}.{}", F::TABLE, field.spec().name)
    }

    /// The field's rule as TOML, or `false` when it is left out.
    pub fn describe(&self, field: F) -> String {
        self.rule(field)
            .map_or_else(|| "false".to_owned(), ToString::to_string)
    }
}

/// Asserts that the Markdown page at `path` holds `table` (a mapping's
/// [`Mapping::markdown`]), and says what to paste when it does not. For the vendor crates'
/// tests of their documentation.
pub fn assert_documented(path: &str, table: &str) {
    let page = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        page.contains(table),
        "{path} does not show the default mapping as the code has it; paste:\n\n{table}"
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Demo {
        Login,
        Admin,
        Phone,
    }

    impl Field for Demo {
        const ALL: &'static [Demo] = &[Demo::Login, Demo::Admin, Demo::Phone];
        const TABLE: &'static str = "user";
        fn spec(self) -> FieldSpec {
            let (name, kind, required) = match self {
                Demo::Login => ("login", FieldKind::Text, true),
                Demo::Admin => ("isAdmin", FieldKind::Flag, false),
                Demo::Phone => ("phone", FieldKind::Text, false),
            };
            FieldSpec {
                name,
                kind,
                required,
                about: "",
            }
        }
        fn index(self) -> usize {
            self as usize
        }
    }

    fn defaults() -> Vec<(Demo, Value)> {
        vec![
            (Demo::Login, json!("userName")),
            (
                Demo::Admin,
                json!({"from": "roles.value", "transform": [{"map": {"admin": true}}], "default": false}),
            ),
        ]
    }

    fn build(user: Value) -> Result<Mapping<Demo>, Vec<Problem>> {
        let settings: MappingSettings =
            serde_json::from_value(json!({"user": user})).expect("settings");
        Mapping::build(
            "Demo",
            &settings,
            &defaults(),
            resource_schema(ResourceKind::User, &[]),
        )
    }

    fn user(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn defaults_apply_and_the_operator_overrides_them() {
        let m = build(json!({})).expect("defaults");
        let jane = user(json!({"userName": "Jane@Uni.edu", "roles": [{"value": "admin"}]}));
        assert_eq!(
            m.required(Demo::Login, &jane).expect("login"),
            "Jane@Uni.edu"
        );
        assert_eq!(m.flag(Demo::Admin, &jane), Ok(Some(true)));
        assert!(!m.is_mapped(Demo::Phone));
        assert_eq!(m.text(Demo::Phone, &jane), None);
        let m = build(json!({
            "login": {"from": "userName", "transform": [{"before": "@"}, "lower"]},
            "isAdmin": false,
            "phone": "phoneNumbers[type eq \"work\"].value"
        }))
        .expect("overrides");
        assert_eq!(m.text(Demo::Login, &jane).as_deref(), Some("jane"));
        assert!(!m.is_mapped(Demo::Admin));
        assert_eq!(m.describe(Demo::Admin), "false");
        let missing = m
            .required(Demo::Login, &user(json!({})))
            .expect_err("missing");
        assert!(
            missing
                .to_string()
                .contains("mapping.user.login = { from = \"userName\""),
            "{missing}"
        );
        let odd = build(json!({"isAdmin": "title"})).expect("mapping");
        assert!(matches!(
            odd.flag(Demo::Admin, &user(json!({"title": "boss"}))),
            Err(MappingError::NotAFlag { .. })
        ));
    }

    #[test]
    fn problems_name_every_mistake_with_its_key() {
        let problems = build(json!({
            "Login": "userName",
            "emial": "emails.value",
            "isAdmin": {"value": "maybe"},
            "phone": "phoneNumber.value"
        }))
        .expect_err("problems");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "mapping.user.Login",
                "mapping.user.emial",
                "mapping.user.isAdmin",
                "mapping.user.phone"
            ]
        );
        assert_eq!(problems[0].fix, "write it as login");
        assert!(
            problems[1].fix.contains("login, isAdmin, phone"),
            "{}",
            problems[1]
        );
        let required = build(json!({"login": false})).expect_err("required");
        assert!(
            required[0].problem.contains("cannot be left out"),
            "{}",
            required[0]
        );
    }
}
