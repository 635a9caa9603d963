//! Create, read, replace and delete, with versions and timestamps.

use scim::ResourceKind::{Group, User};
use serde_json::json;
use store::{Change, StoreError};
use time::UtcOffset;
use time::format_description::well_known::Rfc3339;

use crate::support::*;

on_both!(
    lifecycle_with_versions,
    replace_needs_the_current_version,
    delete_needs_the_current_version,
    connectors_are_isolated,
    unique_key_lookup_ignores_case,
    timestamps_are_utc_with_sub_second_precision,
    resources_are_found_by_their_exact_vendor_keys,
);

/// What the admin API lists as kept in the store only: resources whose vendor keys are
/// exactly the marker, oldest first, bounded.
async fn resources_are_found_by_their_exact_vendor_keys(env: Env) {
    let store = env.store.as_ref();
    let marker = json!({"storeOnly": true});
    for (id, name, keys) in [
        ("g1", "Students", marker.clone()),
        ("g2", "Teachers", json!({"organization": "all_teachers"})),
        ("g3", "Alumni", marker.clone()),
        ("g4", "Guests", marker.clone()),
    ] {
        let seq = store
            .journal_append(entry(
                Group,
                Change::Create {
                    id: id.into(),
                    attributes: group(name, &[]),
                    members: Default::default(),
                },
            ))
            .await
            .expect("append");
        store.commit(seq, keys).await.expect("commit");
    }
    let found = store
        .with_vendor_keys(CONNECTOR, Group, &marker, 2)
        .await
        .expect("query");
    assert_eq!(
        found,
        [
            ("g1".to_owned(), "Students".to_owned()),
            ("g3".to_owned(), "Alumni".to_owned())
        ]
    );
    let users = store
        .with_vendor_keys(CONNECTOR, User, &marker, 10)
        .await
        .expect("query");
    assert!(users.is_empty());
    let other = store
        .with_vendor_keys("another", Group, &marker, 10)
        .await
        .expect("query");
    assert!(other.is_empty(), "connectors are apart");
}

async fn lifecycle_with_versions(env: Env) {
    let store = env.store.as_ref();
    let mut attributes = user("bjensen");
    attributes.insert("title".into(), json!("Tour Guide"));
    let created = create(store, User, "u1", attributes.clone()).await;
    assert_eq!(created.version, 1);
    assert_eq!(created.created, created.last_modified);
    assert_eq!(created.attributes, attributes);
    assert_eq!(created.kind, User);
    assert!(created.vendor_keys["vendorId"].is_i64());
    assert_eq!(
        store.get(CONNECTOR, User, "u1").await.expect("get"),
        Some(created.clone()),
        "what the commit returned is what is stored"
    );

    attributes.insert("title".into(), json!("Guide"));
    let replaced = replace(store, User, "u1", 1, attributes.clone())
        .await
        .expect("replace");
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created, created.created);
    assert!(replaced.last_modified >= created.last_modified);
    assert_eq!(replaced.attributes["title"], "Guide");
    assert_ne!(
        replaced.vendor_keys, created.vendor_keys,
        "vendor keys are the commit's"
    );
    assert_eq!(
        store.get(CONNECTOR, User, "u1").await.expect("get"),
        Some(replaced)
    );

    delete(store, User, "u1", 2).await.expect("delete");
    assert_eq!(store.get(CONNECTOR, User, "u1").await.expect("get"), None);
    assert_eq!(
        store
            .find_by_unique_key(CONNECTOR, User, "bjensen")
            .await
            .expect("find"),
        None
    );
    assert!(
        matches!(
            replace(store, User, "u1", 2, user("bjensen")).await,
            Err(StoreError::NotFound { kind: User, ref id }) if id == "u1"
        ),
        "a deleted resource cannot be replaced"
    );
    assert_eq!(
        store.journal_pending().await.expect("pending").len(),
        1,
        "the refused replace stays pending for the gateway to settle"
    );
}

async fn replace_needs_the_current_version(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    replace(store, User, "u1", 1, user("b"))
        .await
        .expect("replace");
    let stale = replace(store, User, "u1", 1, user("c")).await;
    assert!(
        matches!(
            stale,
            Err(StoreError::VersionConflict { kind: User, ref id, expected: 1, actual: 2 }) if id == "u1"
        ),
        "{stale:?}"
    );
    let current = store
        .get(CONNECTOR, User, "u1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (current.version, current.attributes["userName"].as_str()),
        (2, Some("b")),
        "a refused replace changes nothing"
    );
    assert!(matches!(
        replace(store, User, "missing", 1, user("x")).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn delete_needs_the_current_version(env: Env) {
    let store = env.store.as_ref();
    create(store, Group, "g1", group("G", &[])).await;
    assert!(matches!(
        delete(store, Group, "g1", 7).await,
        Err(StoreError::VersionConflict {
            expected: 7,
            actual: 1,
            ..
        })
    ));
    assert!(
        store
            .get(CONNECTOR, Group, "g1")
            .await
            .expect("get")
            .is_some()
    );
    assert!(matches!(
        delete(store, Group, "nope", 1).await,
        Err(StoreError::NotFound { kind: Group, .. })
    ));
    delete(store, Group, "g1", 1).await.expect("delete");
}

async fn connectors_are_isolated(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("same")).await;
    let mut other = entry(
        User,
        Change::Create {
            id: "u1".into(),
            attributes: user("same"),
            members: Default::default(),
        },
    );
    other.connector = "other".into();
    let seq = store.journal_append(other).await.expect("append");
    store
        .commit(seq, json!({}))
        .await
        .expect("the same id and userName in another connector");
    assert!(store.get("other", User, "u1").await.expect("get").is_some());
    assert!(store.get("third", User, "u1").await.expect("get").is_none());
    assert_eq!(
        list(store, User, None, None, 0, 10).await.total,
        1,
        "each connector counts its own"
    );
    assert_eq!(
        list(store, User, Some(r#"userName eq "same""#), None, 0, 10)
            .await
            .total,
        1
    );
    assert!(
        store
            .get(CONNECTOR, Group, "u1")
            .await
            .expect("get")
            .is_none(),
        "kinds are separate too"
    );
}

async fn unique_key_lookup_ignores_case(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("Ärne@Example.com")).await;
    create(store, Group, "g1", group("Sales Team", &[])).await;
    let find = |kind, key: &'static str| async move {
        store
            .find_by_unique_key(CONNECTOR, kind, key)
            .await
            .expect("find")
    };
    assert_eq!(find(User, "ärne@EXAMPLE.COM").await.as_deref(), Some("u1"));
    assert_eq!(find(Group, "sales team").await.as_deref(), Some("g1"));
    assert_eq!(find(Group, "Ärne@Example.com").await, None);
    assert_eq!(find(User, "arne@example.com").await, None);
}

async fn timestamps_are_utc_with_sub_second_precision(env: Env) {
    let store = env.store.as_ref();
    let created = create(store, User, "u1", user("a")).await;
    assert_eq!(created.created.offset(), UtcOffset::UTC);
    assert_eq!(
        created.created.nanosecond() % 1_000,
        0,
        "microseconds, what both databases keep"
    );
    let view = created.view();
    let text = view["meta"]["created"].as_str().expect("meta.created");
    assert_eq!(
        time::OffsetDateTime::parse(text, &Rfc3339).ok(),
        Some(created.created)
    );
    assert!(text.ends_with('Z'), "{text}");
    assert_eq!(view["meta"]["version"], "W/\"1\"");
    store.ping().await.expect("ping");
}
