//! Microsoft Entra ID's provisioning sequence (docs/identity-providers.md "Entra ID"): test connection, discovery,
//! match then create, both PATCH dialects, soft delete, hard delete, groups, paging.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::on_both_backends;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

on_both_backends!(entra_user_lifecycle, entra_groups, entra_paging_walk);

/// The create body Microsoft documents, nulls and all (docs/identity-providers.md "Entra ID: create").
fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "addresses": null,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "phoneNumbers": [{"type": "mobile", "value": "+1 (555) 010-0101"}],
        "roles": [],
        "title": null,
        ENT: {"employeeNumber": "701984", "manager": null}
    })
}

async fn entra_user_lifecycle(app: TestApp) {
    user_sequence(&app).await;
    app.finish().await;
}

/// The user part of Entra's sequence, on whatever connector `app` points at.
pub async fn user_sequence(app: &TestApp) {
    // Test Connection: a filter on a random GUID answers 200 with an empty ListResponse.
    let probe = app
        .get("/Users?filter=userName%20eq%20%22f4c1a3a4-0bb3-4bd6-8b1c-6a4a0e6f3a11%22")
        .await;
    assert_eq!(probe.status, 200, "{:?}", probe.body);
    assert_eq!(
        probe.body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    assert!(
        probe
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/scim+json"))
    );

    // Discovery.
    let schemas = app.get("/Schemas").await;
    assert_eq!(schemas.status, 200);
    assert!(
        schemas.body["totalResults"]
            .as_u64()
            .is_some_and(|n| n >= 3)
    );
    assert!(
        !schemas.body.to_string().contains("null"),
        "no nulls in /Schemas"
    );
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["patch"]["supported"], true);
    let types = app.get("/ResourceTypes").await;
    assert!(
        types.body["Resources"]
            .as_array()
            .expect("types")
            .iter()
            .any(|t| t["endpoint"] == "/Users")
    );

    // Match (0) then create.
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com";
    let created = app.post("/Users", entra_user(user_name)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"]
        .as_str()
        .expect("a non-empty string id")
        .to_owned();
    assert!(!id.is_empty());
    assert_eq!(
        created.header("location"),
        created.body["meta"]["location"].as_str()
    );
    assert_eq!(
        created.header("etag"),
        created.body["meta"]["version"].as_str()
    );
    assert_eq!(
        created.body["phoneNumbers"][0]["value"], "+1 (555) 010-0101",
        "stored exactly as sent"
    );
    assert_eq!(created.body["active"], true);
    assert!(created.body.get("roles").is_none() && created.body.get("title").is_none());

    // Matching: userName case-insensitively, externalId, the work e-mail.
    let upper = app
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            user_name.to_uppercase()
        ))
        .await;
    assert_eq!(upper.ids(), [id.as_str()]);
    let by_external = app
        .get("/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(by_external.ids(), [id.as_str()]);
    let by_mail = app.get("/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22Test_User_fd0ea19b%40testuser.com%22").await;
    assert_eq!(by_mail.ids(), [id.as_str()]);

    // A second create of the same userName: 409 uniqueness.
    app.post("/Users", entra_user(&user_name.to_lowercase()))
        .await
        .assert_error(409, Some("uniqueness"));

    // Default dialect: capitalised ops, string booleans, a filtered Add that creates.
    let patched = app
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "displayName", "value": "Renamed User"},
                {"op": "Replace", "path": "name.givenName", "value": "Given"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "renamed@testuser.com"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+31 20 123 4567"},
                {"op": "Add", "path": format!("{ENT}:manager"), "value": "26118915"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let user = app.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["displayName"], "Renamed User");
    assert_eq!(user.body["name"]["givenName"], "Given");
    assert_eq!(user.body["emails"][0]["value"], "renamed@testuser.com");
    assert!(
        user.body["phoneNumbers"]
            .as_array()
            .expect("phones")
            .iter()
            .any(|p| p["type"] == "work")
    );
    assert_eq!(user.body[ENT]["manager"], json!({"value": "26118915"}));
    assert_eq!(user.body["active"], false, "soft-deleted");
    assert_ne!(
        user.body["meta"]["version"],
        created.body["meta"]["version"]
    );
    // Soft-deleted users stay readable by filter too.
    assert_eq!(
        app.get(&format!("/Users?filter=userName%20eq%20%22{user_name}%22"))
            .await
            .ids(),
        [id.as_str()]
    );

    // aadOptscim062020: one path-less replace with dotted and URN keys, JSON booleans.
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"displayName": "Flag User", "name.familyName": "Family", format!("{ENT}:employeeNumber"): "42", "active": true}}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["name"]["familyName"], "Family");
    assert_eq!(reply.body[ENT]["employeeNumber"], "42");
    assert_eq!(reply.body["active"], true);

    // Manager removal, and clearing with "" then null (the validator).
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Remove", "path": format!("{ENT}:manager")}]),
    )
    .await;
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": "Chief"}]),
    )
    .await;
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": ""}]),
    )
    .await;
    let user = app.get(&format!("/Users/{id}")).await;
    assert!(user.body.get("title").is_none());
    assert!(user.body[ENT].get("manager").is_none());

    // Hard delete: 204, then 404 everywhere.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    assert_eq!(
        app.get(&format!("/Users?filter=userName%20eq%20%22{user_name}%22"))
            .await
            .body["totalResults"],
        0
    );
    app.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
}

async fn entra_groups(app: TestApp) {
    group_sequence(&app).await;
    app.finish().await;
}

/// The group part of Entra's sequence, on whatever connector `app` points at.
pub async fn group_sequence(app: &TestApp) {
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;

    let match_none = app
        .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Group1%22")
        .await;
    assert_eq!(match_none.body["totalResults"], 0);
    let created = app
        .post(
            "/Groups",
            json!({
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1",
                "members": [],
                "meta": {"resourceType": "Group"},
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let gid = created.body["id"].as_str().expect("id").to_owned();
    app.post("/Groups", json!({"displayName": "GROUP1"}))
        .await
        .assert_error(409, Some("uniqueness"));

    // Several members in one op, `$ref: null`; then remove only the listed one.
    let add = app
        .patch(&format!("/Groups/{gid}"), json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": alice}, {"$ref": null, "value": bob}, {"$ref": null, "value": carol}]}]))
        .await;
    assert_eq!(add.status, 204, "{:?}", add.body);
    let remove = app
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": bob}]}]),
        )
        .await;
    assert_eq!(remove.status, 204);
    let flag_remove = app
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{carol}\"]")}]),
        )
        .await;
    assert_eq!(flag_remove.status, 204);
    let group = app.get(&format!("/Groups/{gid}")).await;
    let members: Vec<&str> = group.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(members, [alice.as_str()]);

    let without = app
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(without.body.get("members").is_none());
    assert_eq!(without.body["displayName"], "Group1");
    let matched = app
        .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Group1%22")
        .await;
    assert_eq!(matched.ids(), [gid.as_str()]);
    assert!(matched.body["Resources"][0].get("members").is_none());

    // The member sees the group.
    let alice_user = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(alice_user.body["groups"][0]["value"], gid.as_str());
    assert_eq!(alice_user.body["groups"][0]["display"], "Group1");

    // Rename, then delete the member user: membership goes with it.
    assert_eq!(
        app.patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Replace", "path": "displayName", "value": "Group One"}])
        )
        .await
        .status,
        204
    );
    assert_eq!(app.delete(&format!("/Users/{alice}")).await.status, 204);
    let group = app.get(&format!("/Groups/{gid}")).await;
    assert_eq!(group.body["displayName"], "Group One");
    assert!(group.body.get("members").is_none(), "{:?}", group.body);
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, 204);
    app.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
}

/// Microsoft's validator: pages of 5 over at least 11 users, `startIndex` echoed.
async fn entra_paging_walk(app: TestApp) {
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(app.create_user(&format!("page-user-{i:02}")).await);
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = app.get(&format!("/Users?startIndex={start}&count=5")).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body["startIndex"], start);
        assert_eq!(page.body["totalResults"], 12);
        let ids = page.ids();
        assert_eq!(page.body["itemsPerPage"], ids.len());
        if ids.is_empty() {
            break;
        }
        start += ids.len();
        seen.extend(ids);
    }
    assert_eq!(seen, created, "every user once, in a stable order");
    let groups = app.get("/Groups?startIndex=1&count=5").await;
    assert_eq!(groups.status, 200);
    app.finish().await;
}
