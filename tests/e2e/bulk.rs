//! `/Bulk` with `bulkId` references, circular references and `failOnErrors`.

use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(bulk_with_references);

async fn bulk_with_references(app: TestApp) {
    let reply = app
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk Group", "members": [{"type": "User", "value": "bulkId:u1"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "bulk-alice"}},
                    {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"Operations": [{"op": "replace", "path": "title", "value": "Bulk"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "BULK-ALICE"}},
                    {"method": "DELETE", "path": "/Users/does-not-exist"}
                ]
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let ops = reply.body["Operations"].as_array().expect("operations");
    assert_eq!(ops.len(), 5);
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["status"], "201");
    assert_eq!(ops[2]["status"], "200");
    assert_eq!(ops[3]["status"], "409");
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[4]["status"], "404");
    let user_location = ops[1]["location"].as_str().expect("location");
    let user_id = user_location.rsplit('/').next().expect("id");
    let group_id = ops[0]["location"]
        .as_str()
        .expect("location")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned();
    let group = app.get(&format!("/Groups/{group_id}")).await;
    assert_eq!(
        group.body["members"][0]["value"], user_id,
        "bulkId:u1 resolved to the created id"
    );
    assert_eq!(
        app.get(&format!("/Users/{user_id}")).await.body["title"],
        "Bulk"
    );

    // Circular references are refused with 409; failOnErrors stops processing.
    let circular = app
        .post(
            "/Bulk",
            json!({"failOnErrors": 1, "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "never-created"}}
            ]}),
        )
        .await;
    let ops = circular.body["Operations"].as_array().expect("operations");
    assert_eq!(
        ops.len(),
        1,
        "stopped after the first error: {:?}",
        circular.body
    );
    assert_eq!(ops[0]["status"], "409");
    assert_eq!(
        app.get("/Users?filter=userName%20eq%20%22never-created%22")
            .await
            .body["totalResults"],
        0
    );

    // Over the configured limits: 413.
    let many: Vec<_> = (0..51)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    app.post("/Bulk", json!({"Operations": many}))
        .await
        .assert_error(413, None);
    app.finish().await;
}
