//! A crash between journal and commit: the next start finishes the write (or marks it failed
//! when it can no longer apply), and nothing accepted is lost.

use serde_json::json;
use store::{Change, NewJournalEntry, ResourceKind};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(restart_finishes_pending_writes);

async fn restart_finishes_pending_writes(mut app: TestApp) {
    let id = app.create_user("survivor").await;
    let store = app.store();
    let current = store
        .get("test", ResourceKind::User, &id)
        .await
        .expect("get")
        .expect("exists");

    // As if the process died after journalling these, before committing them.
    let mut renamed = current.attributes.clone();
    renamed.insert("displayName".into(), json!("After Restart"));
    store
        .journal_append(NewJournalEntry {
            connector: "test".into(),
            kind: ResourceKind::User,
            change: Change::Replace {
                id: id.clone(),
                expected_version: current.version,
                attributes: renamed,
            },
            before: Some(current.clone()),
            request_id: Some("crashed-request".into()),
        })
        .await
        .expect("journal");
    let mut fresh = serde_json::Map::new();
    fresh.insert("userName".into(), json!("born-in-the-crash"));
    fresh.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
    );
    store
        .journal_append(NewJournalEntry {
            connector: "test".into(),
            kind: ResourceKind::User,
            change: Change::Create {
                id: "crash-created".into(),
                attributes: fresh,
            },
            before: None,
            request_id: None,
        })
        .await
        .expect("journal");
    // A stale one: it names a version the resource is no longer at.
    store
        .journal_append(NewJournalEntry {
            connector: "test".into(),
            kind: ResourceKind::User,
            change: Change::Delete {
                id: id.clone(),
                expected_version: current.version + 7,
            },
            before: Some(current),
            request_id: None,
        })
        .await
        .expect("journal");
    drop(store);

    app.restart().await;
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.body["displayName"],
        "After Restart"
    );
    assert_eq!(
        app.get("/Users/crash-created").await.body["userName"],
        "born-in-the-crash"
    );
    assert!(
        app.store()
            .journal_pending()
            .await
            .expect("pending")
            .is_empty(),
        "nothing left pending"
    );
    app.finish().await;
}
