//! One field's rule: the SCIM paths (or the constant) its value comes from, tried in order,
//! the transforms applied to each value, and the default when nothing gives one.

use std::fmt;

use scim::ResourceSchema;
use scim::select::Selector;
use serde_json::{Map, Value};

use super::transform::Transform;
use crate::Problem;

/// Where a value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A SCIM path, checked against the resource type's schemas.
    Path(Selector),
    /// A constant.
    Value(String),
}

/// A field's rule, as `mapping.<kind>.<field>` configures it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub sources: Vec<Source>,
    pub transforms: Vec<Transform>,
    pub default: Option<String>,
}

/// A TOML scalar as text (`true`, `3` and `"x"` alike); `None` for a table or a list.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const FORMS: &str = "write \"userName\", { from = [\"emails[primary eq true].value\", \"emails.value\"], transform = [\"lower\"], default = \"…\" }, { value = \"constant\" }, or false to leave the field out";

impl Rule {
    /// Reads a rule written at `key`. `Ok(None)` is `false`: the field is left out.
    pub fn parse(
        value: &Value,
        key: &str,
        schema: &ResourceSchema,
    ) -> Result<Option<Rule>, Vec<Problem>> {
        let path = |text: &str, key: &str| {
            Selector::parse(text, schema)
                .map(Source::Path)
                .map_err(|e| Problem::new(key, e.to_string(), path_fix(schema)))
        };
        let table = match value {
            Value::Bool(false) => return Ok(None),
            Value::String(text) => {
                return path(text, key)
                    .map(|source| {
                        Some(Rule {
                            sources: vec![source],
                            transforms: Vec::new(),
                            default: None,
                        })
                    })
                    .map_err(|p| vec![p]);
            }
            Value::Object(table) => table,
            _ => return Err(vec![Problem::new(key, "is not a rule", FORMS)]),
        };
        let mut problems = Vec::new();
        let mut rule = Rule {
            sources: Vec::new(),
            transforms: Vec::new(),
            default: None,
        };
        for (name, item) in table {
            let at = format!("{key}.{name}");
            match name.as_str() {
                "from" => {
                    let paths: Vec<(String, &Value)> = match item {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (format!("{at}[{i}]"), v))
                            .collect(),
                        other => vec![(at.clone(), other)],
                    };
                    if paths.is_empty() {
                        problems.push(Problem::new(&at, "names no path", FORMS));
                    }
                    for (at, item) in paths {
                        match item.as_str() {
                            Some(text) => match path(text, &at) {
                                Ok(source) => rule.sources.push(source),
                                Err(p) => problems.push(p),
                            },
                            None => problems.push(Problem::new(at, "is not a path", FORMS)),
                        }
                    }
                }
                "value" => match scalar(item) {
                    Some(constant) => rule.sources.push(Source::Value(constant)),
                    None => problems.push(Problem::new(at, "is not a string", FORMS)),
                },
                "default" => match scalar(item) {
                    Some(default) => rule.default = Some(default),
                    None => problems.push(Problem::new(at, "is not a string", FORMS)),
                },
                "transform" => {
                    let steps: Vec<&Value> = match item {
                        Value::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    for (i, step) in steps.into_iter().enumerate() {
                        match Transform::parse(step, &format!("{at}[{i}]")) {
                            Ok(t) => rule.transforms.push(t),
                            Err(p) => problems.push(p),
                        }
                    }
                }
                _ => problems.push(Problem::new(
                    at,
                    "is not a key of a mapping rule",
                    "use from, value, transform or default",
                )),
            }
        }
        if table.contains_key("from") && table.contains_key("value") {
            problems.push(Problem::new(
                key,
                "has both from and value",
                "keep one: from reads SCIM, value is a constant",
            ));
        }
        if rule.sources.is_empty() && rule.default.is_none() && problems.is_empty() {
            problems.push(Problem::new(key, "gives no value", FORMS));
        }
        if problems.is_empty() {
            Ok(Some(rule))
        } else {
            Err(problems)
        }
    }

    /// The values `resource` gives: those of the first source that gives any (each value
    /// transformed, empty ones left out), else the default, else none.
    pub fn values(&self, resource: &Map<String, Value>, schema: &ResourceSchema) -> Vec<String> {
        for source in &self.sources {
            let raw: Vec<String> = match source {
                Source::Value(constant) => vec![constant.clone()],
                Source::Path(selector) => selector
                    .values(resource, schema)
                    .into_iter()
                    .filter_map(scalar)
                    .collect(),
            };
            let values: Vec<String> = raw
                .into_iter()
                .filter_map(|v| self.transforms.iter().try_fold(v, |v, t| t.apply(v)))
                .filter(|v| !v.is_empty())
                .collect();
            if !values.is_empty() {
                return values;
            }
        }
        self.default.iter().cloned().collect()
    }
}

fn path_fix(schema: &ResourceSchema) -> String {
    let mut names: Vec<String> = schema
        .all_attributes()
        .filter(|(urn, _)| urn.is_none())
        .map(|(_, a)| a.name.clone())
        .filter(|n| !matches!(n.as_str(), "id" | "meta" | "schemas"))
        .collect();
    names.truncate(12);
    let extensions: Vec<String> = schema
        .extensions
        .iter()
        .map(|(s, _)| format!("{}:<attribute>", s.id))
        .collect();
    let mut fix = format!(
        "name an attribute of {} ({}, …), a sub-attribute (name.givenName), a filtered value (emails[type eq \"work\"].value)",
        schema.resource_type.name,
        names.join(", ")
    );
    if !extensions.is_empty() {
        fix.push_str(&format!(
            " or an extension attribute ({})",
            extensions.join(", ")
        ));
    }
    fix
}

impl fmt::Display for Rule {
    /// The rule as TOML would write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let paths: Vec<String> = self
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Path(p) => Some(format!("{:?}", p.to_string())),
                Source::Value(_) => None,
            })
            .collect();
        match paths.len() {
            0 => {}
            1 => parts.push(format!("from = {}", paths[0])),
            _ => parts.push(format!("from = [{}]", paths.join(", "))),
        }
        for s in &self.sources {
            if let Source::Value(v) = s {
                parts.push(format!("value = {v:?}"));
            }
        }
        if !self.transforms.is_empty() {
            let steps: Vec<String> = self.transforms.iter().map(ToString::to_string).collect();
            parts.push(format!("transform = [{}]", steps.join(", ")));
        }
        if let Some(d) = &self.default {
            parts.push(format!("default = {d:?}"));
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use scim::SchemaRegistry;
    use serde_json::json;

    use super::*;

    fn schema() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    fn rule(spec: Value) -> Rule {
        Rule::parse(&spec, "mapping.user.f", &schema())
            .expect("rule")
            .expect("mapped")
    }

    fn values(spec: Value, user: Value) -> Vec<String> {
        rule(spec).values(user.as_object().expect("object"), &schema())
    }

    #[test]
    fn paths_are_tried_in_order_then_the_default() {
        let spec = json!({
            "from": ["emails[primary eq true].value", "emails.value", "userName"],
            "transform": ["lower"], "default": "nobody"
        });
        let primary = json!({"userName": "u", "emails": [{"value": "A@x"}, {"value": "B@X", "primary": true}]});
        assert_eq!(values(spec.clone(), primary), ["b@x"]);
        let first = json!({"userName": "u", "emails": [{"value": "A@x"}, {"value": "c@x"}]});
        assert_eq!(values(spec.clone(), first), ["a@x", "c@x"]);
        assert_eq!(values(spec.clone(), json!({"userName": "U"})), ["u"]);
        assert_eq!(values(spec, json!({})), ["nobody"]);
        assert_eq!(
            values(json!("name.givenName"), json!({"name": {"givenName": ""}})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_table_drops_what_it_does_not_name_so_the_default_applies() {
        let admin = json!({"from": ["roles.value"], "transform": ["trim", {"map": {"admin": true}}], "default": false});
        assert_eq!(
            values(
                admin.clone(),
                json!({"roles": [{"value": "staff"}, {"value": " Admin "}]})
            ),
            ["true"]
        );
        assert_eq!(
            values(admin.clone(), json!({"roles": [{"value": "staff"}]})),
            ["false"]
        );
        assert_eq!(values(admin, json!({"active": true})), ["false"]);
        assert_eq!(
            values(json!({"value": "timeedit"}), json!({})),
            ["timeedit"]
        );
        assert_eq!(
            values(json!({"from": "active"}), json!({"active": false})),
            ["false"]
        );
    }

    #[test]
    fn bad_rules_name_their_key_and_a_fix() {
        let problems =
            |spec: Value| Rule::parse(&spec, "mapping.user.f", &schema()).expect_err("bad");
        let unknown = problems(json!({"from": ["userName", "name.givnName"]}));
        assert_eq!(unknown[0].key, "mapping.user.f.from[1]");
        assert!(
            unknown[0].problem.contains("not an attribute of User"),
            "{}",
            unknown[0]
        );
        assert!(unknown[0].fix.contains("userName"), "{}", unknown[0]);
        assert_eq!(problems(json!("nope"))[0].key, "mapping.user.f");
        assert_eq!(
            problems(json!({"from": "userName", "tranform": ["lower"]}))[0].key,
            "mapping.user.f.tranform"
        );
        assert_eq!(
            problems(json!({"from": "userName", "transform": ["lower", "title"]}))[0].key,
            "mapping.user.f.transform[1]"
        );
        assert!(
            problems(json!({"from": "userName", "value": "x"}))[0]
                .problem
                .contains("both")
        );
        assert!(problems(json!({}))[0].problem.contains("no value"));
        assert!(problems(json!(3))[0].problem.contains("not a rule"));
        assert!(
            Rule::parse(&json!(false), "k", &schema())
                .expect("off")
                .is_none()
        );
    }

    #[test]
    fn rules_print_as_toml() {
        let r = rule(
            json!({"from": ["userName"], "transform": [{"before": "@"}, "lower"], "default": "x"}),
        );
        assert_eq!(
            r.to_string(),
            r#"{ from = "userName", transform = [{ before = "@" }, "lower"], default = "x" }"#
        );
        assert_eq!(
            rule(json!({"value": "v"})).to_string(),
            r#"{ value = "v" }"#
        );
    }
}
