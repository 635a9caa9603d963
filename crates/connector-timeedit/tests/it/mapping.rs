//! Attribute mapping at TimeEdit: the default mapping sends exactly the calls the connector
//! always sent (a transcript recorded once, in `tests/golden/`), and an operator's mapping
//! changes what is sent, checked in the simulator's state.

use std::path::Path;

use connector::ConnectorError;
use connector_timeedit::{EXTENSION_URN, RenamePolicy, TimeEdit, TimeEditSettings, UnmappedGroups};
use scim::ResourceKind;
use serde_json::{Value, json};
use vendor_sim::golden::assert_golden;

use crate::connector::{Keys, apply, apply_user, settings, start, user};

/// The transcript with the application key (issued afresh by each simulator) blanked.
fn transcript(log: &vendor_sim::RequestLog) -> String {
    let mut text = log.transcript();
    let (open, close) = ("<applicationkey>", "</applicationkey>");
    let mut from = 0;
    while let Some(start) = text[from..].find(open).map(|i| from + i + open.len()) {
        let Some(end) = text[start..].find(close).map(|i| start + i) else {
            break;
        };
        text.replace_range(start..end, "…");
        from = start;
    }
    text
}

#[tokio::test]
async fn the_default_mapping_sends_what_it_always_sent() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let alice = user(json!({
        "userName": "alice",
        "name": {"givenName": "Alice", "familyName": "Ek"},
        "emails": [{"value": "a@home.se"}, {"value": "alice@uni.se", "primary": true}],
        "phoneNumbers": [{"value": "031-1"}, {"value": "031-2", "primary": true}],
        "preferredLanguage": "sv", "timezone": "Europe/Stockholm",
        EXTENSION_URN: {
            "orgRoles": ["timeedit=Admin"], "permissions": ["client"],
            "standardOrganization": "all_teachers", "description": "teacher",
            "dateFormat": "yyyy-MM-dd", "dst": "on", "defaultObjects": "ext-1",
            "changePassword": true
        }
    }));
    let keys = apply_user(&te, None, Some(&alice), &json!({}))
        .await
        .expect("created");
    // Given name changed; phone, description, permissions and changePassword removed.
    let alice2 = user(json!({
        "userName": "alice",
        "name": {"givenName": "Alicia", "familyName": "Ek"},
        "emails": [{"value": "alice@uni.se"}],
        "active": false,
        EXTENSION_URN: {"orgRoles": ["timeedit=Admin"], "standardOrganization": "all_teachers"}
    }));
    apply_user(&te, Some(&alice), Some(&alice2), &keys)
        .await
        .expect("updated");
    let bob = user(json!({"userName": "bob"}));
    let bob_keys = apply_user(&te, None, Some(&bob), &json!({}))
        .await
        .expect("bob");
    let lookup = Keys::default();
    for (id, k) in [("id-alice", &keys), ("id-bob", &bob_keys)] {
        lookup.0.lock().expect("lock").insert(id.into(), k.clone());
    }
    let members = |ids: &[&str]| -> Value { ids.iter().map(|i| json!({"value": i})).collect() };
    let g1 = user(
        json!({"displayName": "Teachers", "externalId": "all_teachers",
        "members": members(&["id-alice", "id-bob"])}),
    );
    let g_keys = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&g1),
        &json!({}),
        &lookup,
    )
    .await
    .expect("group");
    let g2 = user(
        json!({"displayName": "Teachers", "externalId": "all_teachers",
        "members": members(&["id-alice"])}),
    );
    apply(
        &te,
        ResourceKind::Group,
        Some(&g1),
        Some(&g2),
        &g_keys,
        &lookup,
    )
    .await
    .expect("member removed");
    apply(&te, ResourceKind::Group, Some(&g2), None, &g_keys, &lookup)
        .await
        .expect("group deleted");
    apply_user(&te, Some(&alice2), None, &keys)
        .await
        .expect("deleted");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/default_mapping.txt");
    assert_golden(&golden, &transcript(server.log()));
    server.stop().await;
}

fn mapped(
    sim: &vendor_sim::timeedit::TimeEditSim,
    server: &vendor_sim::SimServer,
    edit: impl FnOnce(&mut TimeEditSettings),
) -> TimeEdit {
    let mut s = settings(sim, server);
    s.mapping = serde_json::from_value(json!({
        "user": {
            "loginname": {"from": "userName", "transform": [{"before": "@"}, "lower"]},
            "standardorganization": {
                "from": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "transform": [{"map": {"Teaching": "all_teachers"}}]
            }
        },
        "group": {"organization": {"from": "displayName", "transform": [{"map": {
            "All Teachers": "all_teachers", "Teachers (old name)": "all_teachers",
            "Administrators": "timeedit;admin"
        }}]}}
    }))
    .expect("mapping");
    edit(&mut s);
    TimeEdit::new(&connector::Context::named("timeedit"), s).expect("connector")
}

#[tokio::test]
async fn an_operators_mapping_decides_what_timeedit_receives() {
    let (sim, server) = start();
    let te = mapped(&sim, &server, |_| {});
    let jane = user(json!({
        "userName": "Jane.Doe@Uni.EDU",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "teaching"}
    }));
    let keys = apply_user(&te, None, Some(&jane), &json!({}))
        .await
        .expect("created");
    assert_eq!(
        keys,
        json!({"loginname": "jane.doe", "authserver": "timeedit"})
    );
    let record = sim
        .user("jane.doe", "timeedit")
        .expect("imported under the mapped login");
    assert_eq!(record.standardorganization, "all_teachers");

    // Entra ID: its objectId as externalId, an empty create, then members; the mapping reads
    // the displayName. A rename to another name of the same organization just succeeds.
    let lookup = Keys::default();
    lookup
        .0
        .lock()
        .expect("lock")
        .insert("id-jane".into(), keys);
    let empty = user(
        json!({"displayName": "All Teachers", "externalId": "2d2674cf-5ac2-4b9e-9f2a-6f3c1a0e8b11"}),
    );
    let g_keys = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&empty),
        &json!({}),
        &lookup,
    )
    .await
    .expect("empty create");
    assert_eq!(g_keys, json!({"organization": "all_teachers"}));
    let mut with_jane = empty.clone();
    with_jane.insert("members".into(), json!([{"value": "id-jane"}]));
    apply(
        &te,
        ResourceKind::Group,
        Some(&empty),
        Some(&with_jane),
        &g_keys,
        &lookup,
    )
    .await
    .expect("member added");
    assert_eq!(
        sim.user("jane.doe", "timeedit")
            .expect("jane")
            .organizations,
        ["all_teachers"]
    );
    let mut renamed = with_jane.clone();
    renamed.insert("displayName".into(), json!("Teachers (old name)"));
    apply(
        &te,
        ResourceKind::Group,
        Some(&with_jane),
        Some(&renamed),
        &g_keys,
        &lookup,
    )
    .await
    .expect("a rename to the same organization");
    let mut moved = renamed.clone();
    moved.insert("displayName".into(), json!("Administrators"));
    let e = apply(
        &te,
        ResourceKind::Group,
        Some(&renamed),
        Some(&moved),
        &g_keys,
        &lookup,
    )
    .await
    .expect_err("a rename to another organization");
    assert!(matches!(e, ConnectorError::Immutable { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("\"all_teachers\" to \"timeedit;admin\""),
        "{e}"
    );

    // A Group the mapping does not name is refused before any call, naming the key.
    let students = user(json!({"displayName": "Students"}));
    server.log().clear();
    let e = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&students),
        &json!({}),
        &lookup,
    )
    .await
    .expect_err("unmapped");
    assert!(
        e.to_string().contains("mapping.group.organization")
            && e.to_string().contains("store_only"),
        "{e}"
    );
    assert!(server.log().is_empty(), "no call for an unmapped Group");
    server.stop().await;
}

#[tokio::test]
async fn unmapped_groups_may_stay_in_the_store() {
    let (sim, server) = start();
    let te = mapped(&sim, &server, |s| {
        s.unmapped_groups = UnmappedGroups::StoreOnly
    });
    let bob = user(json!({"userName": "bob@uni.edu"}));
    let keys = apply_user(&te, None, Some(&bob), &json!({}))
        .await
        .expect("bob");
    let lookup = Keys::default();
    lookup.0.lock().expect("lock").insert("id-bob".into(), keys);
    let students = user(json!({"displayName": "Students", "members": [{"value": "id-bob"}]}));
    server.log().clear();
    let g_keys = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&students),
        &json!({}),
        &lookup,
    )
    .await
    .expect("kept");
    assert_eq!(g_keys, connector::store_only_keys());
    assert!(server.log().is_empty(), "its members reach no vendor");
    apply(
        &te,
        ResourceKind::Group,
        Some(&students),
        None,
        &g_keys,
        &lookup,
    )
    .await
    .expect("deleted");
    assert!(server.log().is_empty());
    assert!(
        sim.user("bob", "timeedit")
            .expect("bob")
            .organizations
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_configured_organizations_are_checked_without_a_call() {
    let (sim, server) = start();
    let te = mapped(&sim, &server, |s| {
        s.organizations = vec!["all_teachers".into()]
    });
    let lookup = Keys::default();
    server.log().clear();
    let teachers = user(json!({"displayName": "All Teachers"}));
    apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&teachers),
        &json!({}),
        &lookup,
    )
    .await
    .expect("listed");
    let admins = user(json!({"displayName": "Administrators"}));
    let e = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&admins),
        &json!({}),
        &lookup,
    )
    .await
    .expect_err("not listed");
    assert!(
        e.to_string()
            .contains("not in the connector's organizations"),
        "{e}"
    );
    assert!(server.log().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_renamed_user_is_refused_or_recreated() {
    let (sim, server) = start();
    let te = mapped(&sim, &server, |_| {});
    let old = user(json!({"userName": "kim@uni.edu", "name": {"givenName": "Kim"}}));
    let keys = apply_user(&te, None, Some(&old), &json!({}))
        .await
        .expect("kim");
    // Entra's `Replace userName`.
    let new = user(json!({"userName": "kim.lee@uni.edu", "name": {"givenName": "Kim"}}));
    let e = apply_user(&te, Some(&old), Some(&new), &keys)
        .await
        .expect_err("refused");
    assert!(matches!(e, ConnectorError::Immutable { .. }), "{e}");
    assert!(e.to_string().contains("rename = \"recreate\""), "{e}");
    // A change of case maps to the same login name: no rename at all.
    let upper = user(json!({"userName": "KIM@uni.edu", "name": {"givenName": "Kim"}}));
    apply_user(&te, Some(&old), Some(&upper), &keys)
        .await
        .expect("same key");

    let te = mapped(&sim, &server, |s| s.rename = RenamePolicy::Recreate);
    let mut record = sim.user("kim", "timeedit").expect("kim");
    assert!(record.allowlogin);
    // Give the old account something SCIM never set: it must move along.
    let lookup = Keys::default();
    lookup
        .0
        .lock()
        .expect("lock")
        .insert("id-kim".into(), keys.clone());
    let staff = user(json!({"displayName": "All Teachers", "members": [{"value": "id-kim"}]}));
    apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&staff),
        &json!({}),
        &lookup,
    )
    .await
    .expect("group");
    let new_keys = apply_user(&te, Some(&old), Some(&new), &keys)
        .await
        .expect("recreated");
    assert_eq!(
        new_keys,
        json!({"loginname": "kim.lee", "authserver": "timeedit"})
    );
    record = sim.user("kim.lee", "timeedit").expect("the new account");
    assert_eq!(record.firstname, "Kim");
    assert_eq!(
        record.organizations,
        ["all_teachers"],
        "memberships moved with it"
    );
    let gone = sim.user("kim", "timeedit");
    assert!(
        gone.is_none_or(|u| !u.allowlogin),
        "the old account is deleted or inactive"
    );
    // A replay finds the new account and changes nothing.
    apply_user(&te, Some(&old), Some(&new), &keys)
        .await
        .expect("replayed");
    assert_eq!(
        sim.user("kim.lee", "timeedit")
            .expect("kim.lee")
            .organizations,
        ["all_teachers"]
    );
    server.stop().await;
}

/// What `mapping preview` shows is what a real write then sends.
#[tokio::test]
async fn the_preview_is_what_a_write_sends() {
    use connector::Connector;
    let (sim, server) = start();
    let te = mapped(&sim, &server, |_| {});
    let jane = user(json!({
        "userName": "Jane.Doe@Uni.EDU", "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@uni.edu"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Teaching"}
    }));
    let planned = te
        .preview(ResourceKind::User, "id-jane", &jane)
        .expect("preview");
    let calls: Vec<&str> = planned.iter().map(|c| c.call.as_str()).collect();
    assert_eq!(calls, ["validateUsers", "importUsers"]);
    assert!(
        planned[1].body.contains("<loginname>jane.doe</loginname>"),
        "{}",
        planned[1].body
    );
    apply_user(&te, None, Some(&jane), &json!({}))
        .await
        .expect("created");
    for call in &planned {
        let sent = server
            .log()
            .all()
            .into_iter()
            .find(|r| r.body.contains(&format!(":{}>", call.call)))
            .unwrap_or_else(|| panic!("no {} was sent", call.call));
        assert!(
            sent.body.contains(&call.body),
            "{} sent {}, preview said {}",
            call.call,
            sent.body,
            call.body
        );
    }
    let group = te
        .preview(
            ResourceKind::Group,
            "g",
            &user(json!({"displayName": "All Teachers"})),
        )
        .expect("group preview");
    assert!(
        group[0]
            .body
            .contains("<organization>all_teachers</organization>"),
        "{group:?}"
    );
    let unmapped = te.preview(
        ResourceKind::Group,
        "g",
        &user(json!({"displayName": "Nobody"})),
    );
    assert!(
        unmapped.is_err(),
        "the preview meets the refusal a write would"
    );
    server.stop().await;
}
