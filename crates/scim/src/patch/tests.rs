//! PATCH behaviour: RFC 7644 §3.5.2 examples, then every shape docs/identity-providers.md "Identity providers" lists for
//! Entra ID (both dialects) and Okta.

use serde_json::{Map, Value, json};

use super::{PatchRequest, apply};
use crate::error::{ScimError, ScimType};
use crate::schema::{ENTERPRISE_USER_URN, GROUP_URN, ResourceSchema, SchemaRegistry, USER_URN};

const ENT: &str = ENTERPRISE_USER_URN;

fn schema(rt: &str) -> ResourceSchema {
    SchemaRegistry::standard()
        .resource_schema(rt)
        .expect("resource type")
}

fn user() -> Map<String, Value> {
    json!({
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
    .as_object()
    .cloned()
    .expect("object")
}

fn group() -> Map<String, Value> {
    json!({
        "schemas": [GROUP_URN],
        "id": "acbf3ae7",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223", "display": "Babs Jensen"},
            {"value": "902c246b", "display": "Mandy Pepperidge"}
        ]
    })
    .as_object()
    .cloned()
    .expect("object")
}

fn ops(operations: Value) -> PatchRequest {
    PatchRequest::from_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn patch(rt: &str, resource: Map<String, Value>, operations: Value) -> Value {
    let outcome = apply(&schema(rt), &resource, &ops(operations)).unwrap_or_else(|e| panic!("{e}"));
    Value::Object(outcome.resource)
}

fn patch_user(operations: Value) -> Value {
    patch("User", user(), operations)
}

fn refused(rt: &str, resource: Map<String, Value>, operations: Value) -> ScimError {
    let request =
        PatchRequest::from_json(&json!({"Operations": operations})).map_err(ScimError::from);
    match request {
        Err(e) => e,
        Ok(request) => apply(&schema(rt), &resource, &request)
            .expect_err("must be refused")
            .into(),
    }
}

// ---- RFC 7644 §3.5.2 ----

#[test]
fn rfc_add_member() {
    let out = patch(
        "Group",
        group(),
        json!([{"op": "add", "path": "members", "value": [{"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223", "value": "2819c223"}, {"value": "new1"}]}]),
    );
    let values: Vec<&str> = out["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(
        values,
        ["2819c223", "902c246b", "new1"],
        "an existing member is not duplicated"
    );
    assert_eq!(
        out["members"][0]["$ref"],
        "https://example.com/v2/Users/2819c223"
    );
}

#[test]
fn rfc_remove_all_members_and_one_member() {
    let out = patch(
        "Group",
        group(),
        json!([{"op": "remove", "path": "members"}]),
    );
    assert!(out.get("members").is_none());
    let out = patch(
        "Group",
        group(),
        json!([{"op": "remove", "path": "members[value eq \"2819c223\"]"}]),
    );
    assert_eq!(
        out["members"],
        json!([{"value": "902c246b", "display": "Mandy Pepperidge"}])
    );
}

#[test]
fn rfc_remove_with_complex_filter_and_replace_members() {
    let out = patch_user(
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
    let out = patch(
        "Group",
        group(),
        json!([{"op": "replace", "path": "members", "value": [{"display": "Babs Jensen", "value": "2819c223"}, {"display": "James Smith", "value": "08e1d05d"}]}]),
    );
    assert_eq!(out["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["members"][1]["value"], "08e1d05d");
}

#[test]
fn rfc_replace_sub_attribute_of_filtered_element() {
    let out = patch_user(
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    );
    assert_eq!(
        out["addresses"][0],
        json!({"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"})
    );
}

#[test]
fn rfc_replace_without_path() {
    let out = patch_user(
        json!([{"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}], "nickName": "Babs"}}]),
    );
    assert_eq!(out["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["nickName"], "Babs");
}

// ---- Entra ID, default dialect (docs/identity-providers.md "Entra ID: updates") ----

#[test]
fn entra_capitalised_ops_and_string_booleans() {
    let out = patch_user(json!([
        {"op": "Replace", "path": "displayName", "value": "Barbara J."},
        {"op": "Replace", "path": "name.givenName", "value": "Barb"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
        {"op": "Add", "path": "externalId", "value": "ext-1"},
        {"op": "Replace", "path": "active", "value": "False"}
    ]));
    assert_eq!(out["displayName"], "Barbara J.");
    assert_eq!(
        out["name"],
        json!({"givenName": "Barb", "familyName": "Jensen"})
    );
    assert_eq!(out["emails"][0]["value"], "barbara@example.com");
    assert_eq!(out["emails"][0]["type"], "work");
    assert_eq!(out["externalId"], "ext-1");
    assert_eq!(out["active"], false);
    assert_eq!(
        patch_user(json!([{"op": "Add", "path": "active", "value": "false"}]))["active"],
        false
    );
    assert_eq!(
        patch_user(json!([{"op": "Replace", "path": "active", "value": "True"}]))["active"],
        true
    );
}

/// Entra ID's `SingleAppRoleAssignment` changes the role with a filter comparing the boolean
/// `primary` with the string "True".
#[test]
fn entra_replaces_the_primary_role_by_a_filter_on_a_boolean_string() {
    let mut with_role = user();
    with_role.insert(
        "roles".into(),
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]),
    );
    let out = patch(
        "User",
        with_role,
        json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "User"}]),
    );
    assert_eq!(
        out["roles"],
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "User"}])
    );
}

#[test]
fn entra_filtered_add_creates_the_missing_element() {
    let out = patch_user(
        json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+31 6 1234 5678"}]),
    );
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "mobile", "value": "+31 6 1234 5678"}])
    );
    let mut no_emails = user();
    no_emails.remove("emails");
    let out = patch(
        "User",
        no_emails,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.org"}]),
    );
    assert_eq!(out["emails"], json!([{"type": "work", "value": "x@y.org"}]));
    // Replace on a missing filtered element is treated as an add as well.
    let out = patch_user(
        json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "1"}]),
    );
    assert_eq!(out["phoneNumbers"], json!([{"type": "work", "value": "1"}]));
}

#[test]
fn entra_manager_as_bare_string_and_removal() {
    let path = format!("{ENT}:manager");
    let out = patch_user(json!([{"op": "Add", "path": path, "value": "26118915"}]));
    assert_eq!(out[ENT]["manager"], json!({"value": "26118915"}));
    assert_eq!(out["schemas"], json!([USER_URN, ENT]));
    let out = patch(
        "User",
        out.as_object().cloned().expect("object"),
        json!([{"op": "Remove", "path": path}]),
    );
    assert!(out.get(ENT).is_none(), "an emptied extension disappears");
    assert_eq!(out["schemas"], json!([USER_URN]));
    // The older documented form: bare `manager` with [{"$ref", "value"}].
    let out = patch_user(
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "26118915"}]}]),
    );
    assert_eq!(out[ENT]["manager"], json!({"value": "26118915"}));
}

#[test]
fn entra_enterprise_attribute_by_urn_path() {
    let out = patch_user(
        json!([{"op": "Add", "path": format!("{ENT}:employeeNumber"), "value": "701984"}]),
    );
    assert_eq!(out[ENT], json!({"employeeNumber": "701984"}));
}

#[test]
fn a_whole_extension_value_may_carry_its_own_schemas() {
    for op in ["Add", "Replace"] {
        let out = patch_user(json!([{
            "op": op,
            "path": ENT,
            "value": {"schemas": [ENT], "department": "Physics", "employeeNumber": "7"}
        }]));
        assert_eq!(
            out[ENT],
            json!({"department": "Physics", "employeeNumber": "7"}),
            "{op}: the inner schemas is not an attribute"
        );
        assert_eq!(out["schemas"], json!([USER_URN, ENT]));
    }
}

#[test]
fn entra_group_member_add_and_remove_by_value_list() {
    let out = patch(
        "Group",
        group(),
        json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}, {"$ref": null, "value": "u4"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "2819c223"}, {"value": "u4"}]}
        ]),
    );
    let values: Vec<&str> = out["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(
        values,
        ["902c246b", "u3"],
        "only the listed members are removed"
    );
    let out = patch(
        "Group",
        group(),
        json!([{"op": "Replace", "path": "displayName", "value": "Guides"}]),
    );
    assert_eq!(out["displayName"], "Guides");
}

#[test]
fn entra_validator_clears_with_empty_string_then_null() {
    let out = patch_user(json!([{"op": "replace", "path": "displayName", "value": ""}]));
    assert!(out.get("displayName").is_none());
    let out = patch_user(json!([{"op": "replace", "path": "displayName", "value": null}]));
    assert!(out.get("displayName").is_none());
}

// ---- Entra ID, aadOptscim062020 dialect ----

#[test]
fn entra_path_less_replace_with_dotted_and_urn_keys() {
    let out = patch_user(json!([{"op": "replace", "value": {
        "displayName": "New Name",
        "name.givenName": "Given",
        "name.familyName": "Family",
        format!("{ENT}:employeeNumber"): "42",
        "active": false
    }}]));
    assert_eq!(out["displayName"], "New Name");
    assert_eq!(
        out["name"],
        json!({"givenName": "Given", "familyName": "Family"})
    );
    assert_eq!(
        out[ENT],
        json!({"employeeNumber": "42"}),
        "URN keys go into the extension, not the top level"
    );
    assert_eq!(out["active"], false);
    assert!(out.get("name.givenName").is_none());
}

// ---- Okta (docs/identity-providers.md "Okta") ----

#[test]
fn okta_deactivate_password_and_group_rename_with_id() {
    assert_eq!(
        patch_user(json!([{"op": "replace", "value": {"active": false}}]))["active"],
        false
    );
    assert_eq!(
        patch_user(json!([{"op": "replace", "value": {"password": "n3w"}}]))["password"],
        "n3w"
    );
    let out = patch(
        "Group",
        group(),
        json!([{"op": "replace", "value": {"id": "acbf3ae7", "displayName": "Renamed"}}]),
    );
    assert_eq!(out["displayName"], "Renamed");
    assert_eq!(out["id"], "acbf3ae7");
}

#[test]
fn okta_membership_patch() {
    let out = patch(
        "Group",
        group(),
        json!([
            {"op": "remove", "path": "members[value eq \"902c246b\"]"},
            {"op": "add", "path": "members", "value": [{"value": "00u1", "display": "new@okta.local"}]}
        ]),
    );
    assert_eq!(
        out["members"],
        json!([{"value": "2819c223", "display": "Babs Jensen"}, {"value": "00u1", "display": "new@okta.local"}])
    );
}

// ---- invariants and errors ----

#[test]
fn primary_stays_unique() {
    let out = patch_user(
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
    );
    let primaries: Vec<&str> = out["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["primary"] == true)
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(primaries, ["new@example.com"]);
    let out = patch_user(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    );
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][1]["primary"], true);
}

#[test]
fn unknown_extensions_can_be_patched() {
    let out = patch_user(
        json!([{"op": "add", "value": {"urn:example:custom:1.0:User": {"badge": "B-1"}}}]),
    );
    assert_eq!(out["urn:example:custom:1.0:User"], json!({"badge": "B-1"}));
    assert!(
        out["schemas"]
            .as_array()
            .expect("schemas")
            .contains(&json!("urn:example:custom:1.0:User"))
    );
    let out = patch(
        "User",
        out.as_object().cloned().expect("object"),
        json!([{"op": "replace", "path": "urn:example:custom:1.0:User:badge", "value": "B-2"}]),
    );
    assert_eq!(out["urn:example:custom:1.0:User"], json!({"badge": "B-2"}));
}

#[test]
fn no_op_patch_reports_unchanged() {
    let request = ops(json!([{"op": "add", "path": "members", "value": [{"value": "2819c223"}]}]));
    let outcome = apply(&schema("Group"), &group(), &request).expect("applies");
    assert!(!outcome.changed);
    let request = ops(json!([{"op": "replace", "path": "displayName", "value": "Other"}]));
    assert!(
        apply(&schema("Group"), &group(), &request)
            .expect("applies")
            .changed
    );
}

#[test]
fn errors_carry_the_right_scim_type_and_name_the_operation() {
    let cases: Vec<(Value, ScimType, &str)> = vec![
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
            "Operations[0] (replace id): attribute 'id' is readOnly",
        ),
        (
            json!([{"op": "replace", "path": "meta.version", "value": "x"}]),
            ScimType::Mutability,
            "readOnly",
        ),
        (
            json!([{"op": "replace", "path": "shoeSize", "value": 1}]),
            ScimType::InvalidPath,
            "'shoeSize' is not an attribute of the User schemas",
        ),
        (
            json!([{"op": "remove"}]),
            ScimType::NoTarget,
            "needs a \"path\"",
        ),
        (
            json!([{"op": "replace", "path": "emails[value co \"nomatch\"].value", "value": "x"}]),
            ScimType::NoTarget,
            "no value of 'emails' matches",
        ),
        (
            json!([{"op": "move", "path": "x"}]),
            ScimType::InvalidSyntax,
            "unknown op \"move\"",
        ),
        (
            json!([{"op": "add", "path": "displayName"}]),
            ScimType::InvalidSyntax,
            "needs a \"value\"",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            ScimType::InvalidValue,
            "must be true or false",
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::InvalidValue,
            "'userName' is required",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq]", "value": "x"}]),
            ScimType::InvalidPath,
            "invalid",
        ),
        (
            json!([{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "x"}]),
            ScimType::InvalidPath,
            "takes no [filter]",
        ),
        (
            json!([{"op": "add", "value": "not an object"}]),
            ScimType::InvalidValue,
            "must be an object",
        ),
        (
            json!([{"op": "add", "path": "emails[type eq \"work\"].nope", "value": "x"}]),
            ScimType::InvalidPath,
            "no sub-attribute 'nope'",
        ),
    ];
    for (operations, scim_type, fragment) in cases {
        let e = refused("User", user(), operations.clone());
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(scim_type)),
            "{operations}: {e}"
        );
        assert!(e.detail.contains(fragment), "{operations}: {}", e.detail);
    }
    let e = ScimError::from(
        PatchRequest::from_json(&json!({"schemas": ["urn:x"], "Operations": []}))
            .expect_err("bad schemas"),
    );
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn a_failing_operation_applies_nothing() {
    let original = user();
    let request = ops(json!([
        {"op": "replace", "path": "displayName", "value": "changed"},
        {"op": "replace", "path": "id", "value": "x"}
    ]));
    assert!(apply(&schema("User"), &original, &request).is_err());
    assert_eq!(original["displayName"], "Babs");
}

#[test]
fn remove_of_something_absent_is_idempotent() {
    let out = patch(
        "Group",
        group(),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
    );
    assert_eq!(out["members"].as_array().map(Vec::len), Some(2));
    let out = patch_user(json!([{"op": "remove", "path": "nickName"}]));
    assert!(out.get("nickName").is_none());
}

/// Found by fuzzing: a multi-byte character where a URN prefix is checked panicked.
#[test]
fn non_ascii_keys_are_refused_not_panicked_on() {
    let e = refused(
        "User",
        user(),
        json!([{"op": "replace", "value": {"dirƚmployeeNumber": "1", "active": false}}]),
    );
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e = refused(
        "User",
        user(),
        json!([{"op": "replace", "path": "ürn:x", "value": "1"}]),
    );
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

/// `immutable` attributes may be set once (add to an empty value), never changed or removed.
#[test]
fn immutable_attributes_are_enforced() {
    use crate::schema::{AttrType, Attribute, Mutability, Schema};
    let mut registry = SchemaRegistry::standard();
    registry
        .register_extension(
            "User",
            Schema::new(
                "urn:x:badge:1.0:User",
                "Badge",
                "Badge",
                vec![Attribute::new("badge", AttrType::String).mutability(Mutability::Immutable)],
            ),
            false,
        )
        .expect("registers");
    let schema = registry.resource_schema("User").expect("User");
    let path = "urn:x:badge:1.0:User:badge";
    let set = apply(
        &schema,
        &user(),
        &ops(json!([{"op": "add", "path": path, "value": "B-1"}])),
    )
    .expect("first set is allowed");
    let same = apply(
        &schema,
        &set.resource,
        &ops(json!([{"op": "replace", "path": path, "value": "B-1"}])),
    )
    .expect("same value is allowed");
    assert!(!same.changed);
    for operations in [
        json!([{"op": "replace", "path": path, "value": "B-2"}]),
        json!([{"op": "remove", "path": path}]),
    ] {
        let e = ScimError::from(
            apply(&schema, &set.resource, &ops(operations)).expect_err("immutable"),
        );
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        assert!(e.detail.contains("immutable"), "{}", e.detail);
    }
}
