//! `userName` of Users and `displayName` of Groups are unique per connector, compared
//! case-insensitively, also when commits race.

use std::sync::Arc;

use scim::ResourceKind::{self, Group, User};
use serde_json::json;
use store::{Change, JournalFilter, JournalState, Store, StoreError};

use crate::support::*;

on_both!(
    user_names_are_unique_ignoring_case,
    group_display_names_are_unique_ignoring_case,
    users_and_groups_do_not_collide,
    racing_creates_for_one_user_name_have_one_winner,
    racing_renames_to_one_group_name_have_one_winner,
    a_burst_with_conflicts_commits_every_other_write,
    journal_and_commit_is_one_step,
);

fn is_taken(
    result: &Result<impl std::fmt::Debug, StoreError>,
    attribute: &str,
    value: &str,
) -> bool {
    matches!(result, Err(StoreError::Uniqueness { attribute: a, value: v, .. }) if *a == attribute && v == value)
}

async fn user_names_are_unique_ignoring_case(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("Ärne@Example.com")).await;
    let taken = apply(
        store,
        User,
        Change::Create {
            id: "u2".into(),
            attributes: user("äRNE@example.COM"),
            members: Default::default(),
        },
    )
    .await;
    assert!(
        is_taken(&taken, "userName", "äRNE@example.COM"),
        "{taken:?}"
    );
    assert!(
        store
            .get(CONNECTOR, User, "u2")
            .await
            .expect("get")
            .is_none()
    );

    create(store, User, "u3", user("other")).await;
    let rename = replace(store, User, "u3", 1, user("ärne@example.com")).await;
    assert!(
        is_taken(&rename, "userName", "ärne@example.com"),
        "{rename:?}"
    );
    let u3 = store
        .get(CONNECTOR, User, "u3")
        .await
        .expect("get")
        .expect("u3");
    assert_eq!(
        (u3.version, u3.attributes["userName"].as_str()),
        (1, Some("other"))
    );

    replace(store, User, "u1", 1, user("ÄRNE@EXAMPLE.COM"))
        .await
        .expect("a resource may change the case of its own userName");
    delete(store, User, "u1", 2).await.expect("delete");
    replace(store, User, "u3", 1, user("ärne@example.com"))
        .await
        .expect("a deleted user's name is free again");
    assert_eq!(list(store, User, None, None, 0, 10).await.total, 1);
}

async fn group_display_names_are_unique_ignoring_case(env: Env) {
    let store = env.store.as_ref();
    create(store, Group, "g1", group("Sales", &[])).await;
    let taken = apply(
        store,
        Group,
        Change::Create {
            id: "g2".into(),
            attributes: group("SALES", &[]),
            members: Default::default(),
        },
    )
    .await;
    assert!(is_taken(&taken, "displayName", "SALES"), "{taken:?}");
    assert!(matches!(
        taken,
        Err(StoreError::Uniqueness { kind: Group, .. })
    ));
    assert_eq!(list(store, Group, None, None, 0, 10).await.total, 1);
}

async fn users_and_groups_do_not_collide(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("sales")).await;
    create(store, Group, "g1", group("Sales", &[])).await;
    let mut named = user("bob");
    named.insert("displayName".into(), json!("Sales"));
    create(store, User, "u2", named).await;
}

/// Commits two journalled changes at once; their outcomes.
async fn race(
    store: &Arc<dyn Store>,
    kind: ResourceKind,
    first: Change,
    second: Change,
) -> [Result<(), StoreError>; 2] {
    let a = store
        .journal_append(entry(kind, first))
        .await
        .expect("append");
    let b = store
        .journal_append(entry(kind, second))
        .await
        .expect("append");
    let commit = |seq: i64| {
        let store = store.clone();
        tokio::spawn(async move { store.commit(seq, json!({})).await.map(|_| ()) })
    };
    let (a, b) = tokio::join!(commit(a), commit(b));
    [a.expect("task"), b.expect("task")]
}

fn one_winner(outcomes: &[Result<(), StoreError>; 2], attribute: &str) {
    let wins = outcomes.iter().filter(|r| r.is_ok()).count();
    let taken = outcomes
        .iter()
        .filter(
            |r| matches!(r, Err(StoreError::Uniqueness { attribute: a, .. }) if *a == attribute),
        )
        .count();
    assert_eq!((wins, taken), (1, 1), "{outcomes:?}");
}

async fn racing_creates_for_one_user_name_have_one_winner(env: Env) {
    for round in 0..5 {
        let name = format!("racer{round}");
        let outcomes = race(
            &env.store,
            User,
            Change::Create {
                id: format!("a{round}"),
                attributes: user(&name),
                members: Default::default(),
            },
            Change::Create {
                id: format!("b{round}"),
                attributes: user(&name.to_uppercase()),
                members: Default::default(),
            },
        )
        .await;
        one_winner(&outcomes, "userName");
    }
    let page = list(env.store.as_ref(), User, None, None, 0, 100).await;
    assert_eq!((page.total, page.resources.len()), (5, 5));
    assert_eq!(
        env.store.journal_pending().await.expect("pending").len(),
        5,
        "each loser's entry stays pending"
    );
}

async fn racing_renames_to_one_group_name_have_one_winner(env: Env) {
    let store = env.store.as_ref();
    create(store, Group, "g1", group("one", &[])).await;
    create(store, Group, "g2", group("two", &[])).await;
    let outcomes = race(
        &env.store,
        Group,
        Change::Replace {
            id: "g1".into(),
            expected_version: 1,
            attributes: group("Both", &[]),
            members: Default::default(),
        },
        Change::Replace {
            id: "g2".into(),
            expected_version: 1,
            attributes: group("both", &[]),
            members: Default::default(),
        },
    )
    .await;
    one_winner(&outcomes, "displayName");
    let page = list(store, Group, Some(r#"displayName eq "BOTH""#), None, 0, 10).await;
    assert_eq!(page.total, 1);
}

/// Many writes at once (on SQLite they share group-commit transactions): the ones that
/// conflict fail alone, every other one is committed and readable.
async fn a_burst_with_conflicts_commits_every_other_write(env: Env) {
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = env.store.clone();
            // Every tenth write takes the name of the write before it.
            let name = if i % 10 == 9 {
                format!("burst{}", i - 1)
            } else {
                format!("burst{i}")
            };
            tokio::spawn(async move {
                apply(
                    store.as_ref(),
                    User,
                    Change::Create {
                        id: format!("id{i}"),
                        attributes: user(&name),
                        members: Default::default(),
                    },
                )
                .await
            })
        })
        .collect();
    let mut committed = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.expect("joined") {
            Ok(Some(_)) => committed += 1,
            Err(StoreError::Uniqueness { .. }) => taken += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((committed, taken), (180, 20));
    let page = list(env.store.as_ref(), User, None, None, 0, 1000).await;
    assert_eq!(page.total, 180);
}

/// A change for a connector without a vendor: journalled and committed in one step; a change
/// that cannot commit leaves nothing pending.
async fn journal_and_commit_is_one_step(env: Env) {
    let store = env.store.as_ref();
    let change = |id: &str, name: &str| Change::Create {
        id: id.into(),
        attributes: user(name),
        members: Default::default(),
    };
    let stored = store
        .journal_and_commit(entry(User, change("j1", "jo")), json!({}))
        .await
        .expect("committed")
        .expect("a resource");
    assert_eq!((stored.id.as_str(), stored.version), ("j1", 1));
    let e = store
        .journal_and_commit(entry(User, change("j2", "JO")), json!({}))
        .await
        .expect_err("taken");
    assert!(is_taken(&Err::<(), _>(e), "userName", "JO"));
    assert!(store.journal_pending().await.expect("pending").is_empty());
    assert!(
        store
            .get(CONNECTOR, User, "j2")
            .await
            .expect("get")
            .is_none()
    );
    // The entry reads as a journal_append and a commit would have left it; the refused write
    // left none (or a failed one).
    let journal = store
        .journal_list(JournalFilter {
            connector: Some(CONNECTOR),
            state: None,
            before_seq: None,
            limit: 10,
        })
        .await
        .expect("journal");
    let committed: Vec<_> = journal
        .iter()
        .filter(|e| e.state != JournalState::Failed)
        .collect();
    assert_eq!(committed.len(), 1, "{journal:?}");
    let j1 = committed[0];
    assert_eq!(
        (j1.state, j1.attempts, &j1.change),
        (JournalState::Committed, 1, &change("j1", "jo"))
    );
}
