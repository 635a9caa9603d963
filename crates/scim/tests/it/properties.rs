//! Invariants that must hold for every input, not just the examples.

use proptest::prelude::*;
use scim::filter::Filter;
use scim::patch::{PatchRequest, apply};
use scim::schema::SchemaRegistry;
use scim::validate::check_required;
use scim::{ScimError, filter};
use serde_json::{Map, Value, json};

use crate::strategies;

fn user() -> Map<String, Value> {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "work@example.org", "type": "work", "primary": true}, {"value": "home@example.org", "type": "home"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
    .as_object()
    .cloned()
    .expect("object")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Printing is canonical: parsing the printed form gives the same tree.
    #[test]
    fn filter_print_parse_round_trip(f in strategies::filter()) {
        let printed = f.to_string();
        let reparsed = Filter::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(&reparsed, &f, "printed: {}", printed);
        prop_assert_eq!(reparsed.to_string(), printed);
    }

    /// Any string: the parser answers Ok or a positioned error, never panics, and what it
    /// accepts survives a print/parse round trip.
    #[test]
    fn filter_parser_total(input in "[a-zA-Z0-9 ()\\[\\]\".:_$-]{0,60}") {
        if let Ok(f) = Filter::parse(&input) {
            prop_assert_eq!(Filter::parse(&f.to_string()).ok(), Some(f));
        }
    }

    /// Evaluation of any filter against any user terminates with a boolean (and `check`
    /// refuses only with a SCIM 400).
    #[test]
    fn filter_evaluation_total(f in strategies::filter()) {
        let schema = SchemaRegistry::standard().resource_schema("User").expect("User");
        if let Err(e) = filter::check(&f, &schema) {
            prop_assert_eq!(ScimError::from(e).status, 400);
        }
        let _ = filter::matches(&f, &user(), &schema);
    }

    /// Any sequence of IdP-shaped operations either fails with a 400, or yields a resource
    /// that is still valid: required attributes present, at most one primary, `id` and `meta`
    /// untouched, core schema first.
    #[test]
    fn patch_keeps_resources_valid(operations in prop::collection::vec(strategies::patch_operation(), 1..6)) {
        let schema = SchemaRegistry::standard().resource_schema("User").expect("User");
        let original = user();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        let outcome = PatchRequest::from_json(&body).map_err(ScimError::from).and_then(|r| apply(&schema, &original, &r).map_err(ScimError::from));
        match outcome {
            Err(e) => prop_assert_eq!(e.status, 400, "{}", e),
            Ok(out) => {
                let r = &out.resource;
                prop_assert!(check_required(&schema, r).is_ok());
                prop_assert_eq!(&r["id"], &original["id"]);
                prop_assert_eq!(&r["meta"], &original["meta"]);
                prop_assert_eq!(&r["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:User");
                for (key, value) in r {
                    if let Some(items) = value.as_array() {
                        let primaries = items.iter().filter(|v| v.get("primary") == Some(&json!(true))).count();
                        prop_assert!(primaries <= 1, "{} has {} primaries", key, primaries);
                        prop_assert!(!items.is_empty(), "{} left as an empty array", key);
                    }
                }
                prop_assert_eq!(out.changed, out.resource != original);
            }
        }
    }

    /// Adding members is idempotent, and removing by filter removes exactly that member.
    #[test]
    fn member_add_is_idempotent_and_remove_exact(ids in prop::collection::btree_set("[a-f0-9]{1,8}", 1..8)) {
        let schema = SchemaRegistry::standard().resource_schema("Group").expect("Group");
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G"}).as_object().cloned().expect("object");
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let add = PatchRequest::from_json(&json!({"Operations": [{"op": "Add", "path": "members", "value": members}]})).expect("valid");
        let once = apply(&schema, &group, &add).expect("applies").resource;
        let twice = apply(&schema, &once, &add).expect("applies");
        prop_assert!(!twice.changed);
        let first = ids.iter().next().cloned().unwrap_or_default();
        let remove = PatchRequest::from_json(&json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{first}\"]")}]})).expect("valid");
        let removed = apply(&schema, &once, &remove).expect("applies").resource;
        let left: Vec<&str> = removed.get("members").and_then(Value::as_array).map(|m| m.iter().filter_map(|v| v["value"].as_str()).collect()).unwrap_or_default();
        prop_assert_eq!(left.len(), ids.len() - 1);
        prop_assert!(!left.contains(&first.as_str()));
    }
}
