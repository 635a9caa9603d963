//! Okta's provisioning sequence (docs/identity-providers.md "Okta"): credential test, assign (match then
//! create), PUT profile updates, deactivation, password sync, Group Push, import paging.

use serde_json::json;

use crate::common::{TestApp, send};
use crate::on_both_backends;

on_both_backends!(okta_user_lifecycle, okta_group_push, okta_import_paging);

async fn okta_user_lifecycle(app: TestApp) {
    user_sequence(&app).await;
    app.finish().await;
}

/// The user part of Okta's sequence, on whatever connector `app` points at.
pub async fn user_sequence(app: &TestApp) {
    // Test API credentials.
    let probe = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(probe.status, 200);
    assert!(
        probe.body["totalResults"].is_u64()
            && probe.body["startIndex"].is_u64()
            && probe.body["itemsPerPage"].is_u64()
    );
    let bad = send(
        app.client
            .get(format!("{}/Users", app.base))
            .header("Authorization", "non-token"),
    )
    .await;
    bad.assert_error(401, None);
    assert!(bad.header("www-authenticate").is_some());
    app.get("/Users/010101010101").await.assert_error(404, None);

    // Assign: match (upper case) finds nothing, then create with application/json.
    let none = app
        .get("/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100")
        .await;
    assert_eq!(none.body["totalResults"], 0);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true,
        "title": "Engineer"
    });
    let created = send(
        app.client
            .post(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["userName"], "test.user@okta.local");
    assert!(
        created.body.get("password").is_none(),
        "password is never returned"
    );
    let id = created.body["id"].as_str().expect("id").to_owned();
    let found = app
        .get("/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100")
        .await;
    assert_eq!(found.ids(), [id.as_str()]);
    app.post("/Users", body.clone())
        .await
        .assert_error(409, Some("uniqueness"));

    // Profile update: GET, then PUT the whole object (id, meta, groups included); absent
    // attributes (title) are cleared.
    let mut user = app.get(&format!("/Users/{id}")).await.body;
    user["name"]["givenName"] = json!("Changed");
    user.as_object_mut().expect("object").remove("title");
    let replaced = app.put(&format!("/Users/{id}"), user.clone()).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["name"]["givenName"], "Changed");
    assert!(
        replaced.body.get("title").is_none(),
        "absent from the PUT, so cleared"
    );
    assert_eq!(replaced.body["id"], id.as_str());

    // Deactivate (OIN PATCH), then AIW-style PUT active:false; the user stays readable.
    let deactivated = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(deactivated.status, 200);
    assert_eq!(deactivated.body["active"], false);
    user["active"] = json!(true);
    assert_eq!(
        app.put(&format!("/Users/{id}"), user.clone()).await.body["active"],
        true
    );
    user["active"] = json!(false);
    assert_eq!(
        app.put(&format!("/Users/{id}"), user).await.body["active"],
        false
    );
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);

    // Password sync: accepted, never returned.
    let password = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"password": "n3w-Passw0rd"}}]),
        )
        .await;
    assert_eq!(password.status, 200);
    assert!(password.body.get("password").is_none());
}

async fn okta_group_push(app: TestApp) {
    let u1 = app.create_user("push-1").await;
    let u2 = app.create_user("push-2").await;
    let u3 = app.create_user("push-3").await;
    let created = app.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Push", "members": []})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["displayName"], "Push");
    let gid = created.body["id"].as_str().expect("id").to_owned();

    // Rename with the id inside the value (re-sent before each membership update).
    let rename = app
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Push Renamed"}}]),
        )
        .await;
    assert_eq!(rename.status, 204, "{:?}", rename.body);
    let add = app.patch(&format!("/Groups/{gid}"), json!([{"op": "add", "path": "members", "value": [{"value": u1, "display": "push-1"}, {"value": u2, "display": "push-2"}]}])).await;
    assert_eq!(add.status, 204);
    let swap = app
        .patch(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
                {"op": "add", "path": "members", "value": [{"value": u3, "display": "push-3"}]}
            ]),
        )
        .await;
    assert_eq!(swap.status, 204);
    let members = crate::common::member_ids;
    let mut u2_u3 = vec![u2.clone(), u3.clone()];
    u2_u3.sort();
    assert_eq!(
        members(&app.get(&format!("/Groups/{gid}")).await.body),
        u2_u3
    );

    // Full push, then AIW's PUT.
    assert_eq!(
        app.patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "path": "members", "value": [{"value": u1}]}])
        )
        .await
        .status,
        204
    );
    assert_eq!(
        members(&app.get(&format!("/Groups/{gid}")).await.body),
        [u1.as_str()]
    );
    let put = app.put(&format!("/Groups/{gid}"), json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "Push Renamed", "members": [{"value": u2}, {"value": u3}]})).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(members(&put.body), u2_u3);
    assert_eq!(app.get("/Groups?count=100&startIndex=1").await.status, 200);
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, 204);
    app.finish().await;
}

/// Okta advances `startIndex` by `count`: every non-final page must be full, in a stable
/// order whatever `count` is.
async fn okta_import_paging(app: TestApp) {
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(app.create_user(&format!("import-{i:02}")).await);
    }
    for count in [10, 7] {
        let mut seen = Vec::new();
        let mut start = 1;
        loop {
            let page = app
                .get(&format!("/Users?startIndex={start}&count={count}"))
                .await;
            let ids = page.ids();
            if start + count <= 25 {
                assert_eq!(ids.len(), count, "a non-final page is full");
            }
            if ids.is_empty() {
                break;
            }
            seen.extend(ids);
            start += count;
        }
        assert_eq!(
            seen, created,
            "count={count}: every user once, in creation order"
        );
    }
    app.finish().await;
}
