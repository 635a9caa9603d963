//! Groups at scale (docs/architecture.md "Groups at scale"): a membership change is journalled,
//! stored and sent to the vendor as the members it adds and removes; whole-list writes (Okta's
//! full push, PUT) become the difference; reads that leave members out never read them; a
//! member must exist; and the discovery endpoints answer other methods with 405.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use store::{Change, MemberDelta, NewJournalEntry, ResourceKind};
use vendor_sim::faults::{Fault, FaultRule, RouteMatch};

use crate::common::{TestApp, member_ids};
use crate::on_both_backends;
use crate::workspace365::adsync;

on_both_backends!(
    a_big_group_changes_by_deltas,
    a_member_must_exist,
    unsupported_methods_answer_405_with_allow,
    a_whole_extension_value_may_name_its_schema,
);
on_both_backends!(workspace365_adsync:
    adsync_receives_only_the_delta,
    a_membership_delta_survives_a_crash,
);
on_both_backends!(workspace365_adsync_queued: queued_deltas_reach_a_flaky_vendor);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(app.create_user(&format!("{prefix}{i:03}")).await);
    }
    ids
}

async fn new_group(app: &TestApp, name: &str, members: &[String]) -> String {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// Entra ID's way of adding members: `Add members` with a list, `$ref` null.
async fn add_members(app: &TestApp, group: &str, ids: &[String]) {
    let value: Vec<Value> = ids
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "Add", "path": "members", "value": value}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
}

fn sorted(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids
}

/// The newest journal entry's change, as the admin API lists it.
async fn last_change(app: &TestApp) -> Value {
    let reply = app
        .admin(Method::GET, "/admin/journal?connector=test&count=1")
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["entries"][0]["change"].clone()
}

fn strings(value: &Value) -> Vec<String> {
    sorted(
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

async fn a_big_group_changes_by_deltas(app: TestApp) {
    let users = users(&app, "member", 250).await;
    let outsider = app.create_user("outsider").await;
    let group = new_group(&app, "All Students", &[]).await;
    for batch in users.chunks(100) {
        add_members(&app, &group, batch).await;
    }
    let path = format!("/Groups/{group}");

    // Reads that leave members out, and Entra's membership probe.
    let lean = app.get(&format!("{path}?excludedAttributes=members")).await;
    assert_eq!(lean.status, 200);
    assert!(lean.body.get("members").is_none(), "{:?}", lean.body);
    assert_eq!(lean.body["displayName"], "All Students");
    let by_name = app
        .get("/Groups?filter=displayName%20eq%20%22all%20students%22&excludedAttributes=members")
        .await;
    assert_eq!(by_name.ids(), std::slice::from_ref(&group));
    assert!(by_name.body["Resources"][0].get("members").is_none());
    let probe = |member: &str| {
        format!(
            "/Groups?excludedAttributes=members&filter=id%20eq%20%22{group}%22%20and%20members%5Bvalue%20eq%20%22{member}%22%5D"
        )
    };
    assert_eq!(app.get(&probe(&users[7])).await.body["totalResults"], 1);
    assert_eq!(app.get(&probe(&outsider)).await.body["totalResults"], 0);

    // The full read lists every member, each with its type and URL.
    let full = app.get(&path).await;
    assert_eq!(full.status, 200);
    assert_eq!(member_ids(&full.body), sorted(users.clone()));
    let first = &full.body["members"][0];
    assert_eq!(first["type"], "User");
    assert!(
        first["$ref"].as_str().is_some_and(|r| r.ends_with(&format!(
            "/Users/{}",
            first["value"].as_str().unwrap_or("?")
        ))),
        "{first}"
    );

    // One member added: the journal holds that member, not the group.
    add_members(&app, &group, std::slice::from_ref(&outsider)).await;
    let change = last_change(&app).await;
    assert_eq!(
        strings(&change["members"]["added"]),
        std::slice::from_ref(&outsider)
    );
    assert!(strings(&change["members"]["removed"]).is_empty());
    assert!(change["attributes"].get("members").is_none());
    assert!(
        change.to_string().len() < 1_000,
        "a one-member change is journalled in a few hundred bytes: {change}"
    );

    // Okta's removal of one member.
    let reply = app
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        strings(&last_change(&app).await["members"]["removed"]),
        [users[0].clone()]
    );

    // A rename does not touch the members.
    let reply = app
        .patch(
            &path,
            json!([{"op": "Replace", "path": "displayName", "value": "Every Student"}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    let change = last_change(&app).await;
    assert!(change.get("members").is_none(), "{change}");
    assert_eq!(change["attributes"]["displayName"], "Every Student");

    // Okta's full push: the whole list, of which two left and one came back.
    let mut pushed: Vec<String> = users[2..].to_vec();
    pushed.push(users[0].clone());
    let value: Vec<Value> = pushed.iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "members", "value": value}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    let change = last_change(&app).await;
    assert_eq!(strings(&change["members"]["added"]), [users[0].clone()]);
    assert_eq!(
        strings(&change["members"]["removed"]),
        sorted([users[1].clone(), outsider.clone()])
    );

    // AIW's PUT with the whole list: the difference again, and the answer lists them all.
    let mut put_list = pushed.clone();
    put_list.push(users[1].clone());
    let value: Vec<Value> = put_list.iter().map(|id| json!({"value": id})).collect();
    let put = app
        .put(
            &path,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Every Student", "members": value}),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(member_ids(&put.body), sorted(put_list.clone()));
    let change = last_change(&app).await;
    assert_eq!(strings(&change["members"]["added"]), [users[1].clone()]);
    assert!(strings(&change["members"]["removed"]).is_empty());
    // The same PUT again changes nothing.
    let version = put.body["meta"]["version"].clone();
    let again = app
        .put(
            &path,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Every Student", "members": value}),
        )
        .await;
    assert_eq!(again.body["meta"]["version"], version, "no new version");

    // The stored Group holds no list; deleting a member takes it out and moves the version on.
    let stored = app
        .store()
        .get("test", ResourceKind::Group, &group)
        .await
        .expect("get")
        .expect("the group");
    assert!(!stored.attributes.contains_key("members"));
    assert_eq!(
        app.delete(&format!("/Users/{}", users[5])).await.status,
        204
    );
    let after = app.get(&path).await;
    assert_eq!(after.body["members"].as_array().map(Vec::len), Some(249));
    assert_ne!(after.body["meta"]["version"], version);
    assert_eq!(app.delete(&path).await.status, 204);
    app.finish().await;
}

async fn a_member_must_exist(app: TestApp) {
    let ann = app.create_user("ann").await;
    let refused = app
        .post(
            "/Groups",
            json!({"displayName": "Ghosts", "members": [{"value": ann}, {"value": "no-such-id"}]}),
        )
        .await;
    refused.assert_error(400, Some("invalidValue"));
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no-such-id"), "{detail}");
    assert!(
        app.get("/Groups?filter=displayName%20eq%20%22Ghosts%22")
            .await
            .ids()
            .is_empty(),
        "nothing was created"
    );

    let group = new_group(&app, "Real", std::slice::from_ref(&ann)).await;
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": "ghost-1"}]}]),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ghost-1")),
        "{:?}",
        reply.body
    );
    app.put(
        &path,
        json!({"displayName": "Real", "members": [{"value": "ghost-2"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.patch(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
    )
    .await
    .assert_error(400, None);
    // A Group may be a member, and says so.
    let inner = new_group(&app, "Inner", &[]).await;
    add_members(&app, &group, std::slice::from_ref(&inner)).await;
    let full = app.get(&path).await;
    assert_eq!(member_ids(&full.body), sorted([ann.clone(), inner.clone()]));
    let kinds: Vec<&str> = full.body["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        kinds.contains(&"Group") && kinds.contains(&"User"),
        "{kinds:?}"
    );
    app.finish().await;
}

async fn unsupported_methods_answer_405_with_allow(app: TestApp) {
    let user = format!("/Schemas/{}", "urn:ietf:params:scim:schemas:core:2.0:User");
    let cases = [
        (Method::POST, "/Schemas", "GET"),
        (Method::PUT, "/ServiceProviderConfig", "GET"),
        (Method::DELETE, "/ResourceTypes", "GET"),
        (Method::PATCH, user.as_str(), "GET"),
        (Method::POST, "/ResourceTypes/User", "GET"),
        (Method::GET, "/Bulk", "POST"),
        (Method::GET, "/.search", "POST"),
        (Method::DELETE, "/Users", "GET, POST"),
        (Method::POST, "/Groups/some-id", "GET, PUT, PATCH, DELETE"),
    ];
    for (method, path, allow) in cases {
        let reply = app.call(method.clone(), path, Some(json!({}))).await;
        assert_eq!(reply.status, 405, "{method} {path}: {:?}", reply.body);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(reply.body["status"], "405", "a SCIM error body");
    }
    app.finish().await;
}

async fn a_whole_extension_value_may_name_its_schema(app: TestApp) {
    let id = app.create_user("extended").await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": ENTERPRISE, "value": {"schemas": [ENTERPRISE], "department": "Physics"}}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body[ENTERPRISE], json!({"department": "Physics"}));
    app.finish().await;
}

fn guid(id: &str) -> uuid::Uuid {
    id.parse().expect("a GUID")
}

/// The users AD sync has in `group`, sorted by SCIM id.
fn vendor_members(app: &TestApp, group: &str) -> Vec<String> {
    sorted(
        adsync(app)
            .user_memberships("example")
            .into_iter()
            .filter(|(g, _)| *g == guid(group))
            .map(|(_, user)| user.to_string()),
    )
}

async fn adsync_receives_only_the_delta(app: TestApp) {
    let users = users(&app, "staff", 24).await;
    let group = new_group(&app, "Staff", &users[..20]).await;
    let path = format!("/Groups/{group}");
    assert_eq!(vendor_members(&app, &group), sorted(users[..20].to_vec()));
    let log = app.workspace365().server.log();

    log.clear();
    add_members(&app, &group, &users[20..21]).await;
    let calls = log.all();
    assert_eq!(calls.len(), 1, "one member, one call: {calls:?}");
    assert_eq!(calls[0].method, "PUT");

    // Okta's full push of 20 members of whom one left: one call.
    log.clear();
    let value: Vec<Value> = users[1..21].iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "members", "value": value}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let calls = log.all();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "DELETE");

    // A PUT with one more: one call.
    log.clear();
    let value: Vec<Value> = users[1..22].iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .put(&path, json!({"displayName": "Staff", "members": value}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let calls = log.all();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "PUT");
    assert_eq!(vendor_members(&app, &group), sorted(users[1..22].to_vec()));

    // A member that does not exist is refused before any call.
    log.clear();
    app.patch(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": uuid::Uuid::new_v4().to_string()}]}]),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert!(log.all().is_empty(), "{:?}", log.all());
    app.finish().await;
}

async fn a_membership_delta_survives_a_crash(mut app: TestApp) {
    let users = users(&app, "crash", 4).await;
    let group = new_group(&app, "Crash", &users[..2]).await;
    let store = app.store();
    let current = store
        .get("test", ResourceKind::Group, &group)
        .await
        .expect("get")
        .expect("the group");
    // As if the process died after journalling this, before the vendor or the store saw it.
    let mut delta = MemberDelta::default();
    delta.add.push(store::Member {
        value: users[3].clone(),
        kind: Some(ResourceKind::User),
        display: None,
    });
    delta.remove.push(users[0].clone());
    store
        .journal_append(NewJournalEntry {
            connector: "test".into(),
            kind: ResourceKind::Group,
            change: Change::Replace {
                id: group.clone(),
                expected_version: current.version,
                attributes: current.attributes.clone(),
                members: delta,
            },
            before: Some(current.clone()),
            request_id: Some("crashed-membership".into()),
        })
        .await
        .expect("journal");
    app.restart().await;
    let expected = sorted([users[1].clone(), users[3].clone()]);
    assert_eq!(
        member_ids(&app.get(&format!("/Groups/{group}")).await.body),
        expected
    );
    assert_eq!(vendor_members(&app, &group), expected);
    assert!(
        app.store()
            .journal_pending()
            .await
            .expect("pending")
            .is_empty()
    );
    app.finish().await;
}

async fn queued_deltas_reach_a_flaky_vendor(app: TestApp) {
    let users = users(&app, "queued", 12).await;
    let group = new_group(&app, "Queued", &users[..4]).await;
    crate::queue::drained(&app, Duration::from_secs(30)).await;
    // Every call fails the first three times, then one in four at random.
    app.workspace365().server.faults().set(
        11,
        vec![
            FaultRule::always(RouteMatch::any(), Fault::Status(503)).times(3),
            FaultRule::rate(RouteMatch::any(), Fault::Status(503), 0.25),
        ],
    );
    let path = format!("/Groups/{group}");
    add_members(&app, &group, &users[4..8]).await;
    let reply = app
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    let value: Vec<Value> = users[2..10].iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "members", "value": value}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    crate::queue::drained(&app, Duration::from_secs(60)).await;
    app.workspace365().server.faults().clear();
    let stored = member_ids(&app.get(&path).await.body);
    assert_eq!(stored, sorted(users[2..10].to_vec()));
    assert_eq!(vendor_members(&app, &group), stored, "the vendor caught up");
    app.finish().await;
}
