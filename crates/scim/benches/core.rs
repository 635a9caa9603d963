//! Benchmarks of the hot paths an identity provider exercises: parsing and evaluating the
//! matching filter, and applying the PATCH shapes Entra ID and Okta send.
//!
//! `cargo bench -p scim --bench core`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim::filter::{self, Filter};
use scim::patch::{PatchRequest, apply};
use scim::schema::SchemaRegistry;
use serde_json::{Map, Value, json};

fn user() -> Map<String, Value> {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@example.edu",
        "name": {"formatted": "Barbara Jensen", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": true,
        "emails": [{"value": "bjensen@example.edu", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "+31 6 1234 5678", "type": "mobile"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tours", "manager": {"value": "26118915"}},
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3\""}
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn filters(c: &mut Criterion) {
    let schema = SchemaRegistry::standard()
        .resource_schema("User")
        .unwrap_or_else(|| unreachable!());
    let resource = user();
    let entra = r#"userName eq "test_user_ab6490ee@example.edu""#;
    let complex = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.edu"] or title pr) and not (active eq false) and meta.lastModified gt "2011-01-01T00:00:00Z""#;

    c.bench_function("filter/parse entra match", |b| {
        b.iter(|| Filter::parse(black_box(entra)))
    });
    c.bench_function("filter/parse complex", |b| {
        b.iter(|| Filter::parse(black_box(complex)))
    });
    let entra_f = Filter::parse(entra).unwrap_or_else(|e| panic!("{e}"));
    let complex_f = Filter::parse(complex).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("filter/eval entra match", |b| {
        b.iter(|| filter::matches(black_box(&entra_f), black_box(&resource), &schema))
    });
    c.bench_function("filter/eval complex", |b| {
        b.iter(|| filter::matches(black_box(&complex_f), black_box(&resource), &schema))
    });
    c.bench_function("filter/parse+eval entra match", |b| {
        b.iter(|| Filter::parse(black_box(entra)).map(|f| filter::matches(&f, &resource, &schema)))
    });
}

fn patches(c: &mut Criterion) {
    let schema = SchemaRegistry::standard()
        .resource_schema("User")
        .unwrap_or_else(|| unreachable!());
    let resource = user();
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Barbara J."},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.edu"},
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+31 20 123 4567"},
        {"op": "Replace", "path": "active", "value": "False"}
    ]});
    let okta = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let entra_req = PatchRequest::from_json(&entra).unwrap_or_else(|e| panic!("{e}"));
    let okta_req = PatchRequest::from_json(&okta).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("patch/parse+apply entra 4 ops", |b| {
        b.iter(|| {
            PatchRequest::from_json(black_box(&entra)).and_then(|r| apply(&schema, &resource, &r))
        })
    });
    c.bench_function("patch/apply entra 4 ops", |b| {
        b.iter(|| apply(&schema, black_box(&resource), black_box(&entra_req)))
    });
    c.bench_function("patch/apply okta deactivate", |b| {
        b.iter(|| apply(&schema, black_box(&resource), black_box(&okta_req)))
    });

    let group_schema = SchemaRegistry::standard()
        .resource_schema("Group")
        .unwrap_or_else(|| unreachable!());
    let members: Vec<Value> = (0..1000)
        .map(|i| json!({"value": format!("member-{i}")}))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "Big", "members": members})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let add = PatchRequest::from_json(&json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": "new-1"}, {"value": "new-2"}]}]}))
        .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("patch/apply add 2 members to 1000", |b| {
        b.iter(|| apply(&group_schema, black_box(&group), black_box(&add)))
    });
}

criterion_group!(benches, filters, patches);
criterion_main!(benches);
