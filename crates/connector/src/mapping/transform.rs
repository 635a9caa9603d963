//! The transforms a mapping rule applies to each value, in order: case, trimming, the part
//! before or after a separator, a regular-expression replace or match, and a table of values.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use super::rule::scalar;
use crate::Problem;

/// One step of a rule's `transform` list.
#[derive(Debug, Clone)]
pub enum Transform {
    Lower,
    Upper,
    Trim,
    /// The part before the first separator (the whole value when it has none).
    Before(String),
    /// The part after the first separator (the whole value when it has none).
    After(String),
    /// Every match of the expression replaced (`$1` names a capture group).
    Replace {
        pattern: Regex,
        with: String,
    },
    /// The value kept when the expression matches it, else dropped (so that the next path
    /// or the default applies).
    Matches(Regex),
    /// The table's value for this one (exact, else ignoring ASCII case); a value the table
    /// does not name is dropped, so that the next path or the default applies.
    Map(BTreeMap<String, String>),
}

const HELP: &str = "use \"lower\", \"upper\", \"trim\", { before = \"@\" }, { after = \"@\" }, { replace = \"regex\", with = \"…\" }, { matches = \"regex\" } or { map = { from = \"to\" } }";

fn regex(pattern: &str, key: &str) -> Result<Regex, Problem> {
    Regex::new(pattern).map_err(|e| {
        // The parser's message draws the place over several lines; its last line says why.
        let message = e.to_string();
        let why = message.lines().last().unwrap_or_default();
        let why = why.trim().trim_start_matches("error: ");
        Problem::new(
            key,
            format!("\"{pattern}\" is not a regular expression: {why}"),
            "fix the expression (Rust regex syntax, https://docs.rs/regex)",
        )
    })
}

impl Transform {
    /// Reads one transform; `key` names it in a problem.
    pub fn parse(value: &Value, key: &str) -> Result<Transform, Problem> {
        let problem = |what: String| Problem::new(key, what, HELP);
        match value {
            Value::String(word) => match word.to_ascii_lowercase().as_str() {
                "lower" => Ok(Transform::Lower),
                "upper" => Ok(Transform::Upper),
                "trim" => Ok(Transform::Trim),
                _ => Err(problem(format!("\"{word}\" is not a transform"))),
            },
            Value::Object(table) => {
                let text = |name: &str| -> Result<Option<String>, Problem> {
                    match table.get(name) {
                        None => Ok(None),
                        Some(v) => scalar(v).map(Some).ok_or_else(|| {
                            Problem::new(
                                format!("{key}.{name}"),
                                "is not a string",
                                "give text, e.g. \"@\"",
                            )
                        }),
                    }
                };
                let only = |allowed: &[&str]| -> Result<(), Problem> {
                    match table.keys().find(|k| !allowed.contains(&k.as_str())) {
                        Some(extra) => Err(problem(format!(
                            "\"{extra}\" does not belong in this transform"
                        ))),
                        None => Ok(()),
                    }
                };
                if let Some(separator) = text("before")? {
                    only(&["before"])?;
                    return non_empty(separator, key, "before").map(Transform::Before);
                }
                if let Some(separator) = text("after")? {
                    only(&["after"])?;
                    return non_empty(separator, key, "after").map(Transform::After);
                }
                if let Some(pattern) = text("replace")? {
                    only(&["replace", "with"])?;
                    let pattern = regex(&pattern, &format!("{key}.replace"))?;
                    let with = text("with")?.unwrap_or_default();
                    return Ok(Transform::Replace { pattern, with });
                }
                if let Some(pattern) = text("matches")? {
                    only(&["matches"])?;
                    return Ok(Transform::Matches(regex(
                        &pattern,
                        &format!("{key}.matches"),
                    )?));
                }
                if let Some(entries) = table.get("map") {
                    only(&["map"])?;
                    let Value::Object(entries) = entries else {
                        return Err(Problem::new(
                            format!("{key}.map"),
                            "is not a table",
                            "give a table, e.g. { map = { Staff = \"all_teachers\" } }",
                        ));
                    };
                    let mut map = BTreeMap::new();
                    for (from, to) in entries {
                        let to = scalar(to).ok_or_else(|| {
                            Problem::new(
                                format!("{key}.map.{from}"),
                                "is not a string",
                                "give the value it becomes, e.g. \"all_teachers\"",
                            )
                        })?;
                        map.insert(from.clone(), to);
                    }
                    return Ok(Transform::Map(map));
                }
                Err(problem("names no transform".into()))
            }
            _ => Err(problem("is neither a word nor a table".into())),
        }
    }

    /// The value after this step; `None` when a table drops it.
    pub fn apply(&self, value: String) -> Option<String> {
        Some(match self {
            Transform::Lower => value.to_lowercase(),
            Transform::Upper => value.to_uppercase(),
            Transform::Trim => value.trim().to_owned(),
            Transform::Before(separator) => match value.split_once(separator.as_str()) {
                Some((before, _)) => before.to_owned(),
                None => value,
            },
            Transform::After(separator) => match value.split_once(separator.as_str()) {
                Some((_, after)) => after.to_owned(),
                None => value,
            },
            Transform::Replace { pattern, with } => {
                pattern.replace_all(&value, with.as_str()).into_owned()
            }
            Transform::Matches(pattern) => {
                if !pattern.is_match(&value) {
                    return None;
                }
                value
            }
            Transform::Map(table) => table
                .get(&value)
                .or_else(|| {
                    table
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&value))
                        .map(|(_, v)| v)
                })?
                .clone(),
        })
    }
}

fn non_empty(separator: String, key: &str, name: &str) -> Result<String, Problem> {
    if separator.is_empty() {
        Err(Problem::new(
            format!("{key}.{name}"),
            "is empty",
            "give the separator, e.g. \"@\"",
        ))
    } else {
        Ok(separator)
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Lower => f.write_str("\"lower\""),
            Transform::Upper => f.write_str("\"upper\""),
            Transform::Trim => f.write_str("\"trim\""),
            Transform::Before(s) => write!(f, "{{ before = {s:?} }}"),
            Transform::After(s) => write!(f, "{{ after = {s:?} }}"),
            Transform::Replace { pattern, with } => {
                write!(f, "{{ replace = {:?}, with = {with:?} }}", pattern.as_str())
            }
            Transform::Matches(pattern) => write!(f, "{{ matches = {:?} }}", pattern.as_str()),
            Transform::Map(table) => {
                f.write_str("{ map = {")?;
                for (i, (k, v)) in table.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{k:?} = {v:?}")?;
                }
                f.write_str(" } }")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(spec: Value, input: &str) -> Option<String> {
        Transform::parse(&spec, "t")
            .expect("transform")
            .apply(input.to_owned())
    }

    #[test]
    fn each_transform() {
        assert_eq!(
            run(json!("lower"), "JDoe@Uni.EDU").as_deref(),
            Some("jdoe@uni.edu")
        );
        assert_eq!(run(json!("UPPER"), "ab").as_deref(), Some("AB"));
        assert_eq!(run(json!("trim"), "  a b ").as_deref(), Some("a b"));
        assert_eq!(
            run(json!({"before": "@"}), "jdoe@uni.edu").as_deref(),
            Some("jdoe")
        );
        assert_eq!(run(json!({"before": "@"}), "jdoe").as_deref(), Some("jdoe"));
        assert_eq!(
            run(json!({"after": "@"}), "jdoe@uni.edu").as_deref(),
            Some("uni.edu")
        );
        assert_eq!(
            run(
                json!({"replace": "^([a-z])[a-z]*\\.([a-z]+)@.*$", "with": "$1$2"}),
                "jane.doe@uni.edu"
            )
            .as_deref(),
            Some("jdoe")
        );
        assert_eq!(
            run(json!({"replace": "-"}), "a-b-c").as_deref(),
            Some("abc")
        );
        let table = json!({"map": {"Staff": "all_teachers", "admin": true}});
        assert_eq!(run(table.clone(), "Staff").as_deref(), Some("all_teachers"));
        assert_eq!(run(table.clone(), "STAFF").as_deref(), Some("all_teachers"));
        assert_eq!(run(table.clone(), "Admin").as_deref(), Some("true"));
        assert_eq!(
            run(table, "Students"),
            None,
            "a value the table lacks is dropped"
        );
    }

    #[test]
    fn bad_transforms_name_their_key() {
        let err =
            |spec: Value| Transform::parse(&spec, "mapping.user.x.transform[0]").expect_err("bad");
        assert!(err(json!("lowercase")).problem.contains("not a transform"));
        let regex = err(json!({"replace": "(unclosed"}));
        assert_eq!(regex.key, "mapping.user.x.transform[0].replace");
        assert!(
            regex.problem.contains("not a regular expression"),
            "{regex}"
        );
        assert_eq!(
            err(json!({"before": ""})).key,
            "mapping.user.x.transform[0].before"
        );
        assert!(
            err(json!({"before": "@", "lower": true}))
                .problem
                .contains("\"lower\"")
        );
        assert_eq!(
            err(json!({"map": {"a": ["x"]}})).key,
            "mapping.user.x.transform[0].map.a"
        );
        assert!(
            err(json!({"upper": true}))
                .problem
                .contains("names no transform")
        );
        assert!(err(json!(3)).problem.contains("neither"));
    }

    #[test]
    fn transforms_print_as_they_are_written() {
        let t = Transform::parse(&json!({"map": {"a": "b", "c": "d"}}), "t").expect("map");
        assert_eq!(t.to_string(), r#"{ map = { "a" = "b", "c" = "d" } }"#);
        let t = Transform::parse(&json!({"before": "@"}), "t").expect("before");
        assert_eq!(t.to_string(), r#"{ before = "@" }"#);
    }
}
