//! Any JSON body: PATCH parsing and application return a resource or a 400-class SCIM error,
//! never panic, and a successful PATCH leaves a valid resource with `id` and `meta` untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::ScimError;
use scim::patch::{PatchRequest, apply};
use scim::schema::SchemaRegistry;
use scim::validate::check_required;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let request = match PatchRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(ScimError::from(e).status, 400);
            return;
        }
    };
    let registry = SchemaRegistry::standard();
    let resources = [
        ("User", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen",
            "name": {"givenName": "B", "familyName": "J"}, "active": true,
            "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "type": "home"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        })),
        ("Group", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "G",
            "members": [{"value": "u1"}, {"value": "u2", "display": "Two"}],
            "meta": {"resourceType": "Group", "version": "W/\"1\""}
        })),
    ];
    for (rt, resource) in resources {
        let schema = registry.resource_schema(rt).expect("resource type");
        let resource = resource.as_object().expect("object");
        match apply(&schema, resource, &request) {
            Err(e) => assert_eq!(ScimError::from(e).status, 400),
            Ok(out) => {
                assert!(check_required(&schema, &out.resource).is_ok());
                assert_eq!(out.resource.get("id"), resource.get("id"));
                assert_eq!(out.resource.get("meta"), resource.get("meta"));
                for value in out.resource.values() {
                    if let Some(items) = value.as_array() {
                        assert!(items.iter().filter(|v| v.get("primary") == Some(&json!(true))).count() <= 1);
                    }
                }
            }
        }
    }
});
