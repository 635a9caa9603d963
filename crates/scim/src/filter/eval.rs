//! Filter evaluation over stored resources, with each attribute's type and `caseExact` taken
//! from the schema (RFC 7644 §3.4.2.2).

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CompValue, CompareOp, Filter, FilterError};
use crate::json::{eq_fold, get_ci, is_assigned};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, ResourceSchema, Target};

/// Where paths are resolved: at the top of a resource, or inside one element of a complex
/// attribute (between `[` and `]`).
#[derive(Clone, Copy)]
enum Scope<'s> {
    Resource(&'s ResourceSchema),
    Element(Option<&'s Attribute>),
}

/// Checks what the grammar cannot: ordering operators on booleans or binaries, comparisons of
/// complex attributes, `[ ]` on attributes that are not complex. Run once per query, before
/// any resource is evaluated, so a bad filter fails even on an empty store.
pub fn check(filter: &Filter, schema: &ResourceSchema) -> Result<(), FilterError> {
    check_in(filter, Scope::Resource(schema))
}

fn check_in(filter: &Filter, scope: Scope<'_>) -> Result<(), FilterError> {
    match filter {
        Filter::Compare(path, op, value) => {
            let Some(attr) = definition(path, scope) else {
                return Ok(());
            };
            if attr.ty == AttrType::Complex && attr.sub_attribute("value").is_none() {
                let example = attr.sub_attributes.first().map_or(String::new(), |s| {
                    format!(", e.g. {}.{}", attr.name, s.name)
                });
                return Err(FilterError::Semantic(format!(
                    "'{path}' is a complex attribute: compare one of its sub-attributes{example}"
                )));
            }
            if op.is_ordering() && matches!(attr.ty, AttrType::Boolean | AttrType::Binary) {
                return Err(FilterError::Semantic(format!(
                    "'{path}' is {}; '{}' cannot compare it (only eq, ne and pr)",
                    if attr.ty == AttrType::Boolean {
                        "a boolean"
                    } else {
                        "binary"
                    },
                    op.as_str()
                )));
            }
            // Entra ID writes `roles[primary eq "True"]`: a string that names a boolean is one.
            let boolean = match value {
                CompValue::Bool(_) | CompValue::Null => true,
                CompValue::Str(text) => text_bool(text).is_some(),
                CompValue::Number(_) => false,
            };
            if attr.ty == AttrType::Boolean && !boolean {
                return Err(FilterError::Semantic(format!(
                    "'{path}' is a boolean: compare it with true or false"
                )));
            }
            Ok(())
        }
        Filter::Present(_) => Ok(()),
        Filter::And(items) | Filter::Or(items) => items.iter().try_for_each(|f| check_in(f, scope)),
        Filter::Not(inner) => check_in(inner, scope),
        Filter::ValuePath(path, inner) => {
            let attr = definition(path, scope);
            if let Some(attr) = attr
                && attr.ty != AttrType::Complex
            {
                return Err(FilterError::Semantic(format!(
                    "'{path}[...]' needs a complex attribute such as emails or members; '{path}' is not one"
                )));
            }
            check_in(inner, Scope::Element(attr))
        }
    }
}

/// [`check`] for a value filter inside a PATCH path, whose paths name sub-attributes of `attr`.
pub(crate) fn check_element(filter: &Filter, attr: &Attribute) -> Result<(), FilterError> {
    check_in(filter, Scope::Element(Some(attr)))
}

/// The definition of the attribute a path names, when the schema has one.
fn definition<'s>(path: &AttrPath, scope: Scope<'s>) -> Option<&'s Attribute> {
    match scope {
        Scope::Resource(schema) => match schema.resolve(path) {
            Target::Attribute { attr, sub, .. } => Some(sub.unwrap_or(attr)),
            _ => None,
        },
        Scope::Element(parent) => parent.and_then(|p| p.sub_attribute(&path.name)),
    }
}

/// Whether `resource` matches `filter`. Comparisons that make no sense for the data (a number
/// against a string) are simply false; [`check`] reports the ones that are client mistakes.
pub fn matches(filter: &Filter, resource: &Map<String, Value>, schema: &ResourceSchema) -> bool {
    eval(filter, resource, Scope::Resource(schema))
}

/// Whether one element of a complex attribute matches a value filter (`emails[type eq "work"]`).
pub(crate) fn matches_element(
    filter: &Filter,
    element: &Map<String, Value>,
    attr: &Attribute,
) -> bool {
    eval(filter, element, Scope::Element(Some(attr)))
}

fn eval(filter: &Filter, object: &Map<String, Value>, scope: Scope<'_>) -> bool {
    match filter {
        Filter::Compare(path, op, literal) => {
            let (attr, values) = match lookup(object, path, scope) {
                // `emails co "x"` compares each element's `value` (RFC 7644 §3.4.2.2 example).
                (Some(attr), values) if attr.ty == AttrType::Complex => {
                    let sub = attr.sub_attribute("value");
                    (
                        sub,
                        values
                            .into_iter()
                            .filter_map(|v| v.as_object().and_then(|o| get_ci(o, "value")))
                            .collect(),
                    )
                }
                other => other,
            };
            match (op, literal) {
                (CompareOp::Eq, CompValue::Null) => !values.iter().any(|v| is_assigned(v)),
                (CompareOp::Ne, CompValue::Null) => values.iter().any(|v| is_assigned(v)),
                // `ne` holds when no value equals the literal (so also when there is none).
                (CompareOp::Ne, _) => !values
                    .iter()
                    .any(|v| compare(CompareOp::Eq, v, literal, attr)),
                _ => values.iter().any(|v| compare(*op, v, literal, attr)),
            }
        }
        Filter::Present(path) => lookup(object, path, scope).1.iter().any(|v| is_assigned(v)),
        Filter::And(items) => items.iter().all(|f| eval(f, object, scope)),
        Filter::Or(items) => items.iter().any(|f| eval(f, object, scope)),
        Filter::Not(inner) => !eval(inner, object, scope),
        Filter::ValuePath(path, inner) => {
            let (attr, values) = lookup(object, path, scope);
            values.iter().any(|v| {
                v.as_object()
                    .is_some_and(|element| eval(inner, element, Scope::Element(attr)))
            })
        }
    }
}

/// Values at `path` (array elements flattened), with the definition of the last step.
fn lookup<'v, 's>(
    object: &'v Map<String, Value>,
    path: &AttrPath,
    scope: Scope<'s>,
) -> (Option<&'s Attribute>, Vec<&'v Value>) {
    let schema = match scope {
        Scope::Element(parent) => {
            let attr = parent.and_then(|p| p.sub_attribute(&path.name));
            return (
                attr,
                values_at(Some(object), &path.name, path.sub.as_deref()),
            );
        }
        Scope::Resource(schema) => schema,
    };
    match schema.resolve(path) {
        Target::Attribute {
            extension,
            attr,
            sub,
        } => {
            let container = match extension {
                Some(urn) => get_ci(object, urn).and_then(Value::as_object),
                None => Some(object),
            };
            let values = values_at(container, &attr.name, sub.map(|s| s.name.as_str()));
            (sub.or(Some(attr)), values)
        }
        Target::Extension(ext) => (None, get_ci(object, &ext.id).into_iter().collect()),
        Target::Unregistered => {
            let container = path
                .urn
                .as_deref()
                .and_then(|urn| get_ci(object, urn))
                .and_then(Value::as_object);
            (None, values_at(container, &path.name, path.sub.as_deref()))
        }
        Target::Unknown => (
            None,
            values_at(Some(object), &path.name, path.sub.as_deref()),
        ),
    }
}

fn values_at<'v>(
    container: Option<&'v Map<String, Value>>,
    name: &str,
    sub: Option<&str>,
) -> Vec<&'v Value> {
    let Some(value) = container.and_then(|c| get_ci(c, name)) else {
        return Vec::new();
    };
    let top: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let Some(sub) = sub else { return top };
    top.into_iter()
        .filter_map(|v| v.as_object().and_then(|o| get_ci(o, sub)))
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

fn compare(op: CompareOp, value: &Value, literal: &CompValue, attr: Option<&Attribute>) -> bool {
    match (value, literal) {
        (Value::String(actual), CompValue::Str(expected)) => {
            let ty = attr.map(|a| a.ty);
            if ty == Some(AttrType::DateTime)
                && let (Ok(a), Ok(b)) = (
                    OffsetDateTime::parse(actual, &Rfc3339),
                    OffsetDateTime::parse(expected, &Rfc3339),
                )
            {
                return ordered(op, a.cmp(&b)) || (op == CompareOp::Eq && a == b);
            }
            let case_exact = attr.is_some_and(Attribute::compares_case_exact);
            compare_strings(op, actual, expected, case_exact)
        }
        (Value::Number(actual), CompValue::Number(expected)) => {
            let ordering = match (actual.as_i64(), expected.as_i64()) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => match (actual.as_f64(), expected.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                    _ => return false,
                },
            };
            op == CompareOp::Eq && ordering == Ordering::Equal || ordered(op, ordering)
        }
        (Value::Bool(actual), CompValue::Bool(expected)) => {
            op == CompareOp::Eq && actual == expected
        }
        // A boolean compared with "True" or "False" (Entra ID's `roles[primary eq "True"]`).
        (Value::Bool(actual), CompValue::Str(expected)) => {
            op == CompareOp::Eq && text_bool(expected) == Some(*actual)
        }
        // Booleans stored by a client that sent "True" before validation existed.
        (Value::String(actual), CompValue::Bool(expected)) => {
            op == CompareOp::Eq
                && crate::json::as_bool(&Value::String(actual.clone())) == Some(*expected)
        }
        _ => false,
    }
}

/// `"true"` or `"false"` in any case, as a boolean.
fn text_bool(text: &str) -> Option<bool> {
    crate::json::as_bool(&Value::String(text.to_owned()))
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        _ => false,
    }
}

fn compare_strings(op: CompareOp, actual: &str, expected: &str, case_exact: bool) -> bool {
    if op == CompareOp::Eq {
        return if case_exact {
            actual == expected
        } else {
            eq_fold(actual, expected)
        };
    }
    let (a, b) = if case_exact {
        (actual.to_owned(), expected.to_owned())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordered(op, a.cmp(&b)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::SchemaRegistry;

    fn user_schema() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    fn bjensen() -> Map<String, Value> {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen-ext",
            "userName": "bjensen@example.com",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "26118915"}},
            "urn:example:custom:1.0:User": {"badge": "B-7"},
            "x-unknown": 42
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    fn eval(filter: &str) -> bool {
        let schema = user_schema();
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        check(&f, &schema).unwrap_or_else(|e| panic!("{filter}: {e}"));
        matches(&f, &bjensen(), &schema)
    }

    #[test]
    fn equality_honours_case_exact() {
        assert!(
            eval(r#"userName eq "BJENSEN@example.com""#),
            "userName is caseExact false"
        );
        assert!(
            !eval(r#"id eq "2819C223-7F76-453A-919D-413861904646""#),
            "id is caseExact true"
        );
        assert!(eval(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
        assert!(
            !eval(r#"externalId eq "BJENSEN-EXT""#),
            "externalId is caseExact true"
        );
        assert!(eval(r#"name.familyName co "o'mal""#));
        assert!(eval(r#"USERNAME SW "bjen""#));
        assert!(eval(r#"userName ew "@EXAMPLE.COM""#));
    }

    #[test]
    fn multi_valued_and_value_paths() {
        assert!(
            eval(r#"emails co "jensen.org""#),
            "a multi-valued attribute compares its values"
        );
        assert!(eval(r#"emails.value eq "babs@jensen.org""#));
        assert!(
            eval(r#"emails[type eq "work"].value eq "bjensen@example.com""#),
            "Entra's matching filter"
        );
        assert!(
            !eval(r#"emails[type eq "home"].value eq "bjensen@example.com""#),
            "both conditions on one element"
        );
        assert!(eval(
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#
        ));
        assert!(eval(r#"emails[not (type eq "work")]"#));
        assert!(eval(
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#
        ));
    }

    #[test]
    fn presence_null_and_ne() {
        assert!(eval("title pr"));
        assert!(!eval("nickName pr"));
        assert!(eval("nickName eq null"));
        assert!(eval("title ne null"));
        assert!(
            eval(r#"nickName ne "x""#),
            "ne holds for an unassigned attribute"
        );
        assert!(
            !eval(r#"emails.type ne "home""#),
            "ne fails when some value equals"
        );
        assert!(eval(r#"title pr and userType eq "Employee""#));
        assert!(eval(r#"title pr or userType eq "Intern""#));
        assert!(!eval(r#"not (title pr)"#));
    }

    #[test]
    fn dates_numbers_and_booleans() {
        assert!(eval(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
        assert!(
            eval(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#),
            "dateTimes compare as instants"
        );
        assert!(!eval(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
        assert!(eval(r#"meta.created le "2010-01-23T04:56:22.000Z""#));
        assert!(eval("active eq true"));
        assert!(!eval("active eq false"));
        // Entra ID's `roles[primary eq "True"]`: a string naming a boolean compares as one.
        assert!(eval(
            r#"emails[primary eq "True"].value eq "bjensen@example.com""#
        ));
        assert!(eval(r#"emails[primary eq "TRUE" and type eq "work"]"#));
        assert!(!eval(r#"active eq "False""#));
        assert!(
            eval("x-unknown ge 41.5"),
            "unknown attributes are compared by their JSON type"
        );
    }

    #[test]
    fn extensions_by_urn_and_unregistered_extensions() {
        assert!(eval(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ));
        assert!(eval(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#
        ));
        assert!(eval(r#"urn:example:custom:1.0:User:badge eq "b-7""#));
        assert!(eval(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#
        ));
    }

    #[test]
    fn check_refuses_what_cannot_be_compared() {
        let schema = user_schema();
        for (filter, fragment) in [
            ("active gt true", "only eq, ne and pr"),
            (r#"name eq "x""#, "complex attribute"),
            (r#"userName[value eq "x"]"#, "needs a complex attribute"),
            (r#"active eq "yes""#, "compare it with true or false"),
        ] {
            let f = Filter::parse(filter).expect("parses");
            let e = check(&f, &schema).expect_err(filter).to_string();
            assert!(e.contains(fragment), "{filter}: {e}");
        }
    }
}
