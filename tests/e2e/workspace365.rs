//! The Workspace 365 connectors end to end: Okta's sequence through `workspace365` (the
//! Provisioning API), Entra ID's user and group sequences plus nested groups through
//! `workspace365-adsync`; afterwards each simulator holds what the identity provider asked for.

use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(workspace365: okta_sequence_reaches_workspace365);
on_both_backends!(workspace365_adsync:
    entra_sequence_reaches_adsync,
    entra_groups_reach_adsync,
    nested_groups_reach_adsync,
);
on_both_backends!(workspace365_entra_guide: entra_app_roles_make_administrators);
on_both_backends!(workspace365_adsync_entra_guide: entra_object_ids_key_adsync_users);

/// An Entra user as its default mapping sends it, with `roles` as `SingleAppRoleAssignment`
/// fills it.
fn entra_user(user_name: &str, external_id: &str, roles: serde_json::Value) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Jo Doe",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"familyName": "Doe", "givenName": "Jo"},
        "roles": roles,
    })
}

/// docs/setup/entra-id.md "Workspace 365 (Provisioning API)": the app role `admin` makes an
/// administrator, any other role or none does not, and a role changed by Entra's PATCH follows.
async fn entra_app_roles_make_administrators(app: TestApp) {
    let role = |value: &str| json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": value}]);
    let admin = app
        .post(
            "/Users",
            entra_user("ada@example.edu", "ada", role("Admin")),
        )
        .await;
    assert_eq!(admin.status, 201, "{:?}", admin.body);
    let plain = app
        .post("/Users", entra_user("bo@example.edu", "bo", json!([])))
        .await;
    assert_eq!(plain.status, 201, "{:?}", plain.body);
    let sim = app.workspace365().provisioning.as_ref().expect("simulator");
    let is_admin = |email: &str| {
        sim.user("example", email)
            .expect("provisioned")
            .is_administrator
    };
    assert!(is_admin("ada@example.edu"));
    assert!(!is_admin("bo@example.edu"));

    let id = admin.body["id"].as_str().expect("id").to_owned();
    for (value, expected) in [("User", false), ("admin", true)] {
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": value}]),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(is_admin("ada@example.edu"), expected, "role {value}");
    }
    app.finish().await;
}

/// docs/setup/entra-id.md "Workspace 365 (AD sync)": with `object_id = "externalId"` and
/// Entra's `externalId` mapped to `objectId`, the Workspace 365 object is the Entra one; with
/// Entra's default (`mailNickname`) every user is refused, saying why.
async fn entra_object_ids_key_adsync_users(app: TestApp) {
    let object_id = "7f1c2d9e-52a4-4b1e-9d0c-3a6f8e2b1c47";
    let keyed = app
        .post("/Users", entra_user("jo@example.edu", object_id, json!([])))
        .await;
    assert_eq!(keyed.status, 201, "{:?}", keyed.body);
    let user = adsync(&app)
        .user("example", object_id.parse().expect("uuid"))
        .expect("the user is keyed by the Entra object id");
    assert_eq!(user.user_principal_name, "jo@example.edu");

    let nickname = app
        .post("/Users", entra_user("jdoe@example.edu", "jdoe", json!([])))
        .await;
    nickname.assert_error(400, Some("invalidValue"));
    let detail = nickname.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("\"jdoe\" is not a GUID"), "{detail}");
    assert_eq!(adsync(&app).users("example").len(), 1);
    app.finish().await;
}

async fn okta_sequence_reaches_workspace365(app: TestApp) {
    crate::okta::user_sequence(&app).await;
    let w = app.workspace365();
    let sim = w.provisioning.as_ref().expect("provisioning simulator");
    let user = sim
        .user("example", "test.user@okta.local")
        .expect("the user is in Workspace 365");
    assert_eq!(user.first_name, "Changed");
    assert_eq!(user.last_name, "User");
    assert!(!user.active, "deactivated last");
    assert_eq!(
        user.password, "n3w-Passw0rd",
        "Okta's password sync reached the vendor"
    );
    // The password never reached the store or a log.
    let stored = app.state().store.clone();
    let reply = app
        .get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22")
        .await;
    let id = reply.ids().pop().expect("found");
    let record = stored
        .get("test", scim::ResourceKind::User, &id)
        .await
        .expect("store")
        .expect("stored");
    assert!(!record.attributes.contains_key("password"));
    assert!(
        w.server
            .log()
            .all()
            .iter()
            .all(|r| !r.body.contains("n3w-Passw0rd") && !r.body.contains("1mz050nq")),
        "the simulator's log masks passwords"
    );
    app.finish().await;
}

/// The environment API simulator behind an AD sync `test` connector.
pub(crate) fn adsync(app: &TestApp) -> &vendor_sim::workspace365_env::Workspace365EnvSim {
    app.workspace365()
        .environment
        .as_ref()
        .expect("environment simulator")
}

async fn entra_sequence_reaches_adsync(app: TestApp) {
    crate::entra::user_sequence(&app).await;
    // Hard-deleted at the end: AD sync's delete is soft (the user waits in "deleted users").
    let users = adsync(&app).users("example");
    assert!(users.iter().all(|u| u.deleted), "{users:?}");
    app.finish().await;
}

async fn entra_groups_reach_adsync(app: TestApp) {
    crate::entra::group_sequence(&app).await;
    let sim = adsync(&app);
    assert!(sim.groups("example").is_empty(), "the group was deleted");
    assert!(sim.user_memberships("example").is_empty());
    app.finish().await;
}

async fn nested_groups_reach_adsync(app: TestApp) {
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let inner = app
        .post(
            "/Groups",
            json!({"displayName": "Inner", "members": [{"value": ann}]}),
        )
        .await;
    assert_eq!(inner.status, 201, "{:?}", inner.body);
    let inner_id = inner.body["id"].as_str().expect("id").to_owned();
    let outer = app
        .post(
            "/Groups",
            json!({"displayName": "Outer", "members": [{"value": ben, "type": "User"}, {"value": inner_id, "type": "Group"}]}),
        )
        .await;
    assert_eq!(outer.status, 201, "{:?}", outer.body);
    let outer_id = outer.body["id"].as_str().expect("id").to_owned();
    let sim = adsync(&app);
    let uuid = |s: &str| s.parse::<uuid::Uuid>().expect("a GUID");
    let mut effective = sim.effective_members("example", uuid(&outer_id));
    effective.sort();
    let mut expected = vec![uuid(&ann), uuid(&ben)];
    expected.sort();
    assert_eq!(effective, expected, "ben directly, ann through Inner");
    assert_eq!(
        sim.group_memberships("example"),
        [(uuid(&outer_id), uuid(&inner_id))]
    );
    // PATCH the nested member out: one membership call, the rest untouched.
    app.workspace365().server.log().clear();
    let reply = app
        .patch(
            &format!("/Groups/{outer_id}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{inner_id}\"]")}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert!(sim.group_memberships("example").is_empty());
    assert_eq!(
        sim.effective_members("example", uuid(&outer_id)),
        [uuid(&ben)]
    );
    let calls = app.workspace365().server.log().all();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "DELETE");
    app.finish().await;
}
