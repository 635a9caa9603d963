//! Attribute mapping at TimeEdit: the default mapping sends exactly the calls the connector
//! always sent (a transcript recorded once, in `tests/golden/`), and an operator's mapping
//! changes what is sent, checked in the simulator's state.

use std::path::Path;

use connector_timeedit::{EXTENSION_URN, TimeEdit};
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
    let te = TimeEdit::new(settings(&sim, &server)).expect("connector");
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
