//! The `timeedit` connector end to end: Entra ID's and Okta's sequences through the gateway
//! into the TimeEdit simulator, whose state must then be what the identity provider asked
//! for; Groups as organizations; a Bulk burst batched into few `importUsers` calls.

use serde_json::{Value, json};

use crate::common::{TestApp, member_ids};
use crate::on_both_backends;

const TE: &str = "urn:scim-bridge:schemas:extension:timeedit:1.0:User";

on_both_backends!(timeedit:
    entra_sequence_reaches_timeedit,
    okta_sequence_reaches_timeedit,
    groups_become_organizations,
    a_bulk_burst_is_batched,
);

// With the mapping of examples/timeedit-university.toml.
on_both_backends!(timeedit_university:
    entra_groups_land_on_mapped_organizations,
    okta_group_push_lands_on_mapped_organizations,
    unmapped_groups_and_renamed_users,
);

on_both_backends!(timeedit_store_only: unmapped_groups_stay_in_the_store_and_are_listed);

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
    // An organization TimeEdit does not have: refused at create, with TimeEdit's reason and
    // the mapping key, before any member is touched.
    let unknown = app
        .post(
            "/Groups",
            json!({"displayName": "Nowhere", "members": [{"value": mats}]}),
        )
        .await;
    unknown.assert_error(400, Some("invalidValue"));
    assert!(
        unknown.body["detail"].as_str().is_some_and(|d| {
            d.contains("unknown organization \"Nowhere\"")
                && d.contains("mapping.group.organization")
        }),
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

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A user as Entra ID sends one: its UPN as userName, a work e-mail.
async fn upn_user(app: &TestApp, upn: &str) -> String {
    let (given, family) = upn.split_once('@').map_or((upn, upn), |(local, _)| {
        local.split_once('.').unwrap_or((local, local))
    });
    let created = app
        .post(
            "/Users",
            json!({
                "userName": upn, "name": {"givenName": given, "familyName": family},
                "emails": [{"value": upn, "type": "work", "primary": true}],
                ENTERPRISE: {"department": "Teacher Education"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().expect("id").to_owned()
}

/// The organizations TimeEdit holds for a login name.
fn orgs(app: &TestApp, login: &str) -> Vec<String> {
    app.timeedit()
        .sim
        .user(login, "timeedit")
        .map(|u| u.organizations)
        .unwrap_or_default()
}

/// Entra ID's group sequence: its objectId as externalId, an empty create, several members
/// in one Add, a Remove with a value list, renames. The mapping reads the displayName.
async fn entra_groups_land_on_mapped_organizations(app: TestApp) {
    let ann = upn_user(&app, "Ann.Berg@uni.example.edu").await;
    let bo = upn_user(&app, "Bo.Ek@uni.example.edu").await;
    let cy = upn_user(&app, "Cy.Lund@uni.example.edu").await;
    let created = app
        .post(
            "/Groups",
            json!({
                "externalId": "2d2674cf-5ac2-4b9e-9f2a-6f3c1a0e8b11", "displayName": "Teachers",
                "members": [], "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let gid = created.body["id"].as_str().expect("id").to_owned();
    let group = format!("/Groups/{gid}");
    let add = app
        .patch(&group, json!([{"op": "Add", "path": "members", "value": [{"value": ann}, {"value": bo}, {"value": cy}]}]))
        .await;
    assert_eq!(add.status, 204, "{:?}", add.body);
    for login in ["ann.berg", "bo.ek", "cy.lund"] {
        assert_eq!(orgs(&app, login), ["all_teachers"], "{login}");
    }
    let remove = app
        .patch(
            &group,
            json!([{"op": "Remove", "path": "members", "value": [{"value": bo}]}]),
        )
        .await;
    assert_eq!(remove.status, 204, "{:?}", remove.body);
    assert!(orgs(&app, "bo.ek").is_empty());
    assert_eq!(orgs(&app, "ann.berg"), ["all_teachers"]);
    // A rename to another name of the same organization succeeds and moves nothing.
    let rename = app
        .patch(
            &group,
            json!([{"op": "Replace", "path": "displayName", "value": "Teaching staff"}]),
        )
        .await;
    assert_eq!(rename.status, 204, "{:?}", rename.body);
    assert_eq!(orgs(&app, "cy.lund"), ["all_teachers"]);
    // A rename to another organization is refused, saying what to configure.
    let moved = app
        .patch(
            &group,
            json!([{"op": "Replace", "path": "displayName", "value": "Timetable administrators"}]),
        )
        .await;
    moved.assert_error(400, Some("mutability"));
    let detail = moved.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("mapping.group.organization"), "{detail}");
    assert_eq!(app.get(&group).await.body["displayName"], "Teaching staff");
    assert_eq!(app.delete(&group).await.status, 204);
    for login in ["ann.berg", "cy.lund"] {
        assert!(orgs(&app, login).is_empty(), "{login}");
    }
    app.finish().await;
}

/// Okta's Group Push: create, the rename re-sent before each membership update, remove and
/// add in one PATCH, a full replace, and the PUT of its AIW integrations.
async fn okta_group_push_lands_on_mapped_organizations(app: TestApp) {
    let u1 = upn_user(&app, "dee.falk@uni.example.edu").await;
    let u2 = upn_user(&app, "eli.gren@uni.example.edu").await;
    let u3 = upn_user(&app, "fay.holm@uni.example.edu").await;
    let admins = "timeedit;admin";
    let created = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Timetable administrators", "members": []}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let gid = created.body["id"].as_str().expect("id").to_owned();
    let group = format!("/Groups/{gid}");
    let resend =
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Timetable administrators"}}]);
    assert_eq!(app.patch(&group, resend.clone()).await.status, 204);
    let add = app
        .patch(&group, json!([{"op": "add", "path": "members", "value": [{"value": u1, "display": "dee"}, {"value": u2, "display": "eli"}]}]))
        .await;
    assert_eq!(add.status, 204, "{:?}", add.body);
    assert_eq!(orgs(&app, "dee.falk"), [admins]);
    assert_eq!(orgs(&app, "eli.gren"), [admins]);
    assert_eq!(app.patch(&group, resend).await.status, 204);
    let swap = app
        .patch(
            &group,
            json!([
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
                {"op": "add", "path": "members", "value": [{"value": u3, "display": "fay"}]}
            ]),
        )
        .await;
    assert_eq!(swap.status, 204, "{:?}", swap.body);
    assert!(orgs(&app, "dee.falk").is_empty());
    assert_eq!(orgs(&app, "fay.holm"), [admins]);
    let replace = app
        .patch(
            &group,
            json!([{"op": "replace", "path": "members", "value": [{"value": u1}]}]),
        )
        .await;
    assert_eq!(replace.status, 204, "{:?}", replace.body);
    assert_eq!(orgs(&app, "dee.falk"), [admins]);
    assert!(orgs(&app, "eli.gren").is_empty() && orgs(&app, "fay.holm").is_empty());
    let put = app
        .put(&group, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "Timetable administrators", "members": [{"value": u2}, {"value": u3}]}))
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let mut both = vec![u2.clone(), u3.clone()];
    both.sort();
    assert_eq!(member_ids(&put.body), both);
    assert!(orgs(&app, "dee.falk").is_empty());
    assert_eq!(orgs(&app, "eli.gren"), [admins]);
    assert_eq!(orgs(&app, "fay.holm"), [admins]);
    assert_eq!(app.delete(&group).await.status, 204);
    assert!(orgs(&app, "eli.gren").is_empty());
    app.finish().await;
}

/// A Group the mapping does not name is refused at create and not kept; a user's UPN maps
/// to its login name and department, and a UPN change re-creates the TimeEdit account.
async fn unmapped_groups_and_renamed_users(app: TestApp) {
    let refused = app
        .post("/Groups", json!({"displayName": "Students", "externalId": "6f1e0c55-0d7b-4a43-9d5e-3b7c2f0a9e21"}))
        .await;
    refused.assert_error(400, Some("invalidValue"));
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("mapping.group.organization") && detail.contains("store_only"),
        "{detail}"
    );
    let listed = app
        .get("/Groups?filter=displayName%20eq%20%22Students%22")
        .await;
    assert_eq!(listed.body["totalResults"], 0, "nothing refused is kept");

    let jane = upn_user(&app, "Jane.Doe@uni.example.edu").await;
    let sim = &app.timeedit().sim;
    let record = sim.user("jane.doe", "timeedit").expect("jane.doe");
    assert_eq!(record.standardorganization, "all_teachers");
    assert_eq!(record.email, "Jane.Doe@uni.example.edu");
    let teachers = app
        .post(
            "/Groups",
            json!({"displayName": "Teachers", "members": [{"value": jane}]}),
        )
        .await;
    assert_eq!(teachers.status, 201, "{:?}", teachers.body);
    // Entra's `Replace userName`: rename = "recreate" moves the account, memberships too.
    let renamed = app
        .patch(
            &format!("/Users/{jane}"),
            json!([{"op": "Replace", "path": "userName", "value": "Jane.Lee@uni.example.edu"}]),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let moved = sim.user("jane.lee", "timeedit").expect("jane.lee");
    assert_eq!(moved.organizations, ["all_teachers"]);
    assert_eq!(moved.standardorganization, "all_teachers");
    assert!(
        sim.user("jane.doe", "timeedit")
            .is_none_or(|u| !u.allowlogin)
    );
    app.finish().await;
}

/// With `unmapped_groups = "store_only"`, a Group the mapping does not name is kept, its
/// members reach no vendor, and the admin API's connector status lists it.
async fn unmapped_groups_stay_in_the_store_and_are_listed(app: TestApp) {
    let kim = upn_user(&app, "Kim.Ng@uni.example.edu").await;
    let calls_before = app.timeedit().server.log().len();
    let students = app
        .post(
            "/Groups",
            json!({"displayName": "Students", "members": [{"value": kim}]}),
        )
        .await;
    assert_eq!(students.status, 201, "{:?}", students.body);
    let gid = students.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.timeedit().server.log().len(),
        calls_before,
        "nothing reached TimeEdit"
    );
    assert!(orgs(&app, "kim.ng").is_empty());
    let status = app
        .admin(reqwest::Method::GET, "/admin/connectors/test")
        .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(
        status.body["storeOnly"]["Group"],
        json!({"resources": [{"id": gid, "displayName": "Students"}], "more": false})
    );
    // A mapped Group still reaches TimeEdit.
    let teachers = app
        .post(
            "/Groups",
            json!({"displayName": "Teachers", "members": [{"value": kim}]}),
        )
        .await;
    assert_eq!(teachers.status, 201, "{:?}", teachers.body);
    assert_eq!(orgs(&app, "kim.ng"), ["all_teachers"]);
    app.finish().await;
}
