//! The operation journal: pending until committed or failed, and still pending after a crash.

use scim::ResourceKind::User;
use serde_json::json;
use store::{Change, JournalState, StoreError};

use crate::support::*;

on_both!(
    entries_are_pending_until_settled,
    failing_records_the_reason,
    a_failed_commit_leaves_the_entry_pending,
    pending_entries_survive_a_restart,
    writes_after_close_are_refused,
);

async fn entries_are_pending_until_settled(env: Env) {
    let store = env.store.as_ref();
    let before = create(store, User, "u1", user("a")).await;
    let change = Change::Replace {
        id: "u1".into(),
        expected_version: 1,
        attributes: user("b"),
        members: Default::default(),
    };
    let mut replace_entry = entry(User, change.clone());
    replace_entry.before = Some(before.clone());
    let first = store.journal_append(replace_entry).await.expect("append");
    let second = store
        .journal_append(entry(
            User,
            Change::Create {
                id: "u2".into(),
                attributes: user("c"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    let third = store
        .journal_append(entry(
            User,
            Change::Delete {
                id: "u1".into(),
                expected_version: 2,
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    assert!(first < second && second < third);

    let pending = store.journal_pending().await.expect("pending");
    assert_eq!(
        pending.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [first, second, third],
        "oldest first"
    );
    let entry = &pending[0];
    assert_eq!(entry.connector, CONNECTOR);
    assert_eq!(entry.kind, User);
    assert_eq!(entry.change, change);
    assert_eq!(
        entry.before.as_ref(),
        Some(&before),
        "the before resource, exactly"
    );
    assert_eq!(entry.state, JournalState::Pending);
    assert_eq!((entry.attempts, entry.last_error.as_deref()), (0, None));
    assert_eq!(entry.request_id.as_deref(), Some("req-1"));
    assert!(entry.created >= before.created);

    store.commit(second, json!({})).await.expect("commit");
    let pending = store.journal_pending().await.expect("pending");
    assert_eq!(
        pending.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [first, third]
    );
    assert_eq!(
        journal_row(&env.location, second).await,
        ("committed".to_owned(), 1, None)
    );
    assert!(matches!(
        store.commit(second, json!({})).await,
        Err(StoreError::NoSuchEntry(s)) if s == second
    ));
    assert!(matches!(
        store.commit(424_242, json!({})).await,
        Err(StoreError::NoSuchEntry(424_242))
    ));
    store.commit(first, json!({})).await.expect("commit");
    store.commit(third, json!({})).await.expect("commit");
    assert!(store.journal_pending().await.expect("pending").is_empty());
}

async fn failing_records_the_reason(env: Env) {
    let store = env.store.as_ref();
    let seq = store
        .journal_append(entry(
            User,
            Change::Create {
                id: "u1".into(),
                attributes: user("a"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    store
        .journal_fail(seq, "vendor refused: duplicate e-mail")
        .await
        .expect("fail");
    assert!(store.journal_pending().await.expect("pending").is_empty());
    assert_eq!(
        journal_row(&env.location, seq).await,
        (
            "failed".to_owned(),
            1,
            Some("vendor refused: duplicate e-mail".to_owned())
        )
    );
    assert!(
        store
            .get(CONNECTOR, User, "u1")
            .await
            .expect("get")
            .is_none(),
        "the resources are untouched"
    );
    assert!(matches!(
        store.journal_fail(seq, "again").await,
        Err(StoreError::NoSuchEntry(_))
    ));
    assert!(matches!(
        store.commit(seq, json!({})).await,
        Err(StoreError::NoSuchEntry(_))
    ));
    assert!(matches!(
        store.journal_fail(777_777, "x").await,
        Err(StoreError::NoSuchEntry(777_777))
    ));
}

async fn a_failed_commit_leaves_the_entry_pending(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    let seq = store
        .journal_append(entry(
            User,
            Change::Replace {
                id: "u1".into(),
                expected_version: 9,
                attributes: user("b"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    assert!(matches!(
        store.commit(seq, json!({})).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let pending = store.journal_pending().await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].seq, pending[0].state, pending[0].attempts),
        (seq, JournalState::Pending, 0)
    );
    store
        .journal_fail(seq, "version conflict")
        .await
        .expect("fail");
    assert!(store.journal_pending().await.expect("pending").is_empty());
}

async fn pending_entries_survive_a_restart(env: Env) {
    let seq = env
        .store
        .journal_append(entry(
            User,
            Change::Create {
                id: "u1".into(),
                attributes: user("a"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    // The process dies between the journal and the commit.
    env.store.close().await;
    drop(env.store);

    let store = env.location.open().await.expect("reopen");
    let pending = store.journal_pending().await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, seq);
    assert_eq!(pending[0].change.id(), "u1");
    let stored = store
        .commit(seq, json!({"vendorId": 1}))
        .await
        .expect("finish the interrupted work")
        .expect("created");
    assert_eq!(
        store.get(CONNECTOR, User, "u1").await.expect("get"),
        Some(stored)
    );
    assert!(store.journal_pending().await.expect("pending").is_empty());
    store.close().await;
}

async fn writes_after_close_are_refused(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    store.close().await;
    let late = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.journal_append(entry(
            User,
            Change::Create {
                id: "u2".into(),
                attributes: user("b"),
                members: Default::default(),
            },
        )),
    )
    .await
    .expect("answered, not left waiting");
    assert!(
        matches!(late, Err(StoreError::Backend(_))),
        "a closed store refuses writes: {late:?}"
    );
}
