//! Generators of filters and PATCH operations for the property tests.

use proptest::prelude::*;
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;
use serde_json::{Number, Value, json};

const KEYWORDS: [&str; 16] = [
    "and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true",
    "false", "null",
];

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,7}".prop_filter("not a keyword", |n| {
        !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(n))
    })
}

pub fn attr_path() -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        4 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_owned())),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
    ];
    (urn, name(), proptest::option::weighted(0.3, name())).prop_map(|(urn, name, sub)| AttrPath {
        urn,
        name,
        sub,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        (-1.0e12f64..1.0e12)
            .prop_filter_map("finite", |f| Number::from_f64(f).map(CompValue::Number)),
        any::<String>().prop_map(CompValue::Str),
        "[a-z\"\\\\ ]{0,6}".prop_map(CompValue::Str),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => (path.clone(), op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
        1 => path.prop_map(Filter::Present),
    ]
}

/// Logical combinations of `leaves`, without value paths.
fn logic(leaves: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaves
        .prop_recursive(depth, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
        .boxed()
}

/// The canonical tree of `f`: nested groups of the same operator flattened, as the parser
/// builds them.
pub fn normalized(f: Filter) -> Filter {
    let flatten = |items: Vec<Filter>, and: bool| -> Vec<Filter> {
        items
            .into_iter()
            .map(normalized)
            .flat_map(|item| match item {
                Filter::And(inner) if and => inner,
                Filter::Or(inner) if !and => inner,
                other => vec![other],
            })
            .collect()
    };
    match f {
        Filter::And(items) => Filter::And(flatten(items, true)),
        Filter::Or(items) => Filter::Or(flatten(items, false)),
        Filter::Not(inner) => Filter::Not(Box::new(normalized(*inner))),
        Filter::ValuePath(p, inner) => Filter::ValuePath(p, Box::new(normalized(*inner))),
        leaf => leaf,
    }
}

/// Any filter of the RFC grammar, in canonical form.
pub fn filter() -> BoxedStrategy<Filter> {
    let inner_path = name().prop_map(|n| AttrPath::simple(&n)).boxed();
    let value_path = (
        attr_path().prop_map(|p| p.parent()),
        logic(leaf(inner_path).boxed(), 2),
    )
        .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f)));
    let leaves = prop_oneof![4 => leaf(attr_path().boxed()), 1 => value_path].boxed();
    logic(leaves, 4).prop_map(normalized).boxed()
}

/// PATCH operations that identity providers send, over a fixed palette of paths and values.
pub fn patch_operation() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        Just("add"),
        Just("Add"),
        Just("replace"),
        Just("Replace"),
        Just("remove"),
        Just("Remove")
    ];
    let path = prop_oneof![
        Just(None),
        Just(Some("displayName")),
        Just(Some("name.givenName")),
        Just(Some("active")),
        Just(Some("emails")),
        Just(Some("emails[type eq \"work\"].value")),
        Just(Some("emails[type eq \"home\"]")),
        Just(Some("emails[primary eq true].type")),
        Just(Some("phoneNumbers[type eq \"mobile\"].value")),
        Just(Some(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        )),
        Just(Some(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
        )),
        Just(Some("userName")),
        Just(Some("id")),
        Just(Some("nickName")),
        Just(Some("emails[value co \"x\"]")),
    ];
    let value = prop_oneof![
        Just(None),
        Just(Some(json!("x@example.org"))),
        Just(Some(json!("False"))),
        Just(Some(json!(true))),
        Just(Some(json!(""))),
        Just(Some(Value::Null)),
        Just(Some(
            json!({"value": "v@example.org", "type": "work", "primary": true})
        )),
        Just(Some(
            json!([{"value": "a@example.org", "primary": true}, {"value": "b@example.org", "type": "home"}])
        )),
        Just(Some(
            json!({"displayName": "D", "name.familyName": "F", "active": "True", "id": "other"})
        )),
        Just(Some(
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "9"})
        )),
        Just(Some(json!(42))),
    ];
    (op, path, value).prop_map(|(op, path, value)| {
        let mut operation = json!({"op": op});
        if let Some(p) = path {
            operation["path"] = json!(p);
        }
        if let Some(v) = value {
            operation["value"] = v;
        }
        operation
    })
}
