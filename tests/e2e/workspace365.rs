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
