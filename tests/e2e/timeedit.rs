//! The `timeedit` connector end to end: Entra ID's and Okta's sequences through the gateway
//! into the TimeEdit simulator, whose state must then be what the identity provider asked
//! for; Groups as organizations; a Bulk burst batched into few `importUsers` calls.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::on_both_backends;

const TE: &str = "urn:scim-bridge:schemas:extension:timeedit:1.0:User";

on_both_backends!(timeedit:
    entra_sequence_reaches_timeedit,
    okta_sequence_reaches_timeedit,
    groups_become_organizations,
    a_bulk_burst_is_batched,
);

async fn entra_sequence_reaches_timeedit(app: TestApp) {
    crate::entra::user_sequence(&app).await;
    // The sequence ends with a hard delete: TimeEdit keeps users with history, so the default
    // `inactivate_on_delete` leaves nothing or an inactive user, never an active one.
    let sim = &app.timeedit().sim;
    let name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com";
    assert!(sim.user(name, "timeedit").is_none_or(|u| !u.allowlogin));
    app.finish().await;
}

async fn okta_sequence_reaches_timeedit(app: TestApp) {
    crate::okta::user_sequence(&app).await;
    let sim = &app.timeedit().sim;
    let user = sim
        .user("test.user@okta.local", "timeedit")
        .expect("the user is in TimeEdit");
    // What Okta last sent: given name changed, deactivated, e-mail kept.
    assert_eq!(user.firstname, "Changed");
    assert_eq!(user.lastname, "User");
    assert_eq!(user.email, "test.user@okta.local");
    assert!(!user.allowlogin, "deactivated");
    app.finish().await;
}

async fn groups_become_organizations(app: TestApp) {
    let sim = &app.timeedit().sim;
    let created = app
        .post(
            "/Users",
            json!({
                "userName": "lena", "name": {"givenName": "Lena", "familyName": "Lind"},
                TE: {"permissions": ["client"]}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let lena = created.body["id"].as_str().expect("id").to_owned();
    let mats = app.create_user("mats").await;
    let group = app
        .post(
            "/Groups",
            json!({"displayName": "Teachers", "externalId": "all_teachers", "members": [{"value": lena}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let gid = group.body["id"].as_str().expect("id").to_owned();
    let orgs = |name: &str| -> Vec<String> {
        sim.user(name, "timeedit")
            .map(|u| u.organizations)
            .unwrap_or_default()
    };
    assert_eq!(orgs("lena"), ["all_teachers"]);
    // Entra's member PATCH: add one, remove the other.
    let reply = app
        .patch(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "Add", "path": "members", "value": [{"value": mats}]},
                {"op": "Remove", "path": format!("members[value eq \"{lena}\"]")}
            ]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert!(orgs("lena").is_empty());
    assert_eq!(orgs("mats"), ["all_teachers"]);
    assert_eq!(
        sim.user("lena", "timeedit").map(|u| u.permissions),
        Some(vec!["client".to_owned()])
    );
    // An organization TimeEdit does not have: refused with TimeEdit's reason, member by member.
    let unknown = app
        .post(
            "/Groups",
            json!({"displayName": "Nowhere", "members": [{"value": mats}]}),
        )
        .await;
    unknown.assert_error(400, None);
    assert!(
        unknown.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&mats)),
        "{:?}",
        unknown.body
    );
    assert_eq!(orgs("mats"), ["all_teachers"]);
    app.finish().await;
}

async fn a_bulk_burst_is_batched(app: TestApp) {
    // Calls that take time (as across a network) are what makes batches fill: while one is in
    // flight the next writes wait for it together.
    app.timeedit()
        .server
        .faults()
        .push(vendor_sim::FaultRule::always(
            vendor_sim::RouteMatch::any(),
            vendor_sim::Fault::Latency(std::time::Duration::from_millis(50)),
        ));
    let operations: Vec<Value> = (0..40)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"userName": format!("bulk{i:02}"), "name": {"givenName": "B", "familyName": format!("{i}")}}})
        })
        .collect();
    let reply = app
        .post(
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let results = reply.body["Operations"].as_array().expect("operations");
    assert_eq!(results.len(), 40);
    assert!(
        results.iter().all(|r| r["status"] == "201"),
        "{:?}",
        reply.body
    );
    let te = app.timeedit();
    assert_eq!(te.sim.users().len(), 40);
    let imports = te
        .server
        .log()
        .all()
        .iter()
        .filter(|r| r.body.contains("importUsers>"))
        .count();
    assert!(imports <= 10, "40 creates in {imports} importUsers calls");
    app.finish().await;
}
