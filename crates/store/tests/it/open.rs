//! Choosing the backend from a URL, starting twice at once, the temporary (`sqlite::memory:`)
//! SQLite store, and a closed SQLite file that is whole without its WAL.

use std::sync::Arc;
use store::Maintenance;

use scim::ResourceKind::User;
use serde_json::json;
use store::{SqliteStore, Store, open_store};

use crate::support::*;

on_both!(open_store_picks_the_backend_from_the_url);
on_both_unopened!(two_stores_starting_at_once_both_migrate_safely);

async fn open_store_picks_the_backend_from_the_url(env: Env) {
    create(env.store.as_ref(), User, "u1", user("a")).await;
    let other = open_store(&env.location.url()).await.expect("open_store");
    other.ping().await.expect("ping");
    assert!(
        other
            .get(CONNECTOR, User, "u1")
            .await
            .expect("get")
            .is_some(),
        "the same database"
    );
    other.close().await;
}

async fn two_stores_starting_at_once_both_migrate_safely(location: Location) {
    // Eight at once on a new database: the race for WAL mode and the first migration is real.
    let opened = futures_join_all((0..8).map(|_| location.open())).await;
    let mut stores: Vec<_> = opened
        .into_iter()
        .map(|s| s.expect("every start succeeds"))
        .collect();
    let b = stores.pop().expect("eight");
    let a = stores.pop().expect("eight");
    for store in stores {
        store.close().await;
    }
    create(a.as_ref(), User, "u1", user("a")).await;
    assert!(b.get(CONNECTOR, User, "u1").await.expect("get").is_some());
    let again = location
        .open()
        .await
        .expect("a restart finds the migrations applied");
    assert_eq!(list(again.as_ref(), User, None, None, 0, 10).await.total, 1);
    for store in [a, b, again] {
        store.close().await;
    }
}

#[tokio::test]
async fn unknown_schemes_are_refused_without_echoing_secrets() {
    for url in ["mysql://root:hunter2@db/scim", "", "sqlite:"] {
        let error = open_store(url)
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} must be refused"))
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(!error.is_empty());
    }
    let error = open_store("mysql://root:hunter2@db/scim")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("\"mysql\""), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_stores_are_private_and_work_with_concurrent_callers() {
    let a: Arc<dyn Store> = Arc::new(SqliteStore::temporary().await.expect("temporary"));
    let b = open_store("sqlite::memory:")
        .await
        .expect("temporary by URL");
    let commits: Vec<_> = (0..20)
        .map(|i| {
            let a = a.clone();
            tokio::spawn(async move {
                let seq = a
                    .journal_append(entry(
                        User,
                        store::Change::Create {
                            id: format!("u{i}"),
                            attributes: user(&format!("n{i}")),
                            members: Default::default(),
                        },
                    ))
                    .await?;
                a.commit(seq, json!({})).await
            })
        })
        .collect();
    for commit in commits {
        commit.await.expect("task").expect("commit");
    }
    assert_eq!(list(a.as_ref(), User, None, None, 0, 0).await.total, 20);
    assert_eq!(
        list(a.as_ref(), User, Some(r#"userName eq "N7""#), None, 0, 10)
            .await
            .total,
        1
    );
    // The point reads, which a file store answers on the caller's thread, answer the same.
    let u7 = a.get(CONNECTOR, User, "u7").await.expect("get");
    assert!(u7.is_some());
    assert_eq!(
        a.get_with_groups(CONNECTOR, User, "u7")
            .await
            .expect("get_with_groups")
            .map(|(text, groups)| (text.parse().expect("stored text parses"), groups)),
        u7.map(|u| (u, Vec::new()))
    );
    assert_eq!(
        a.find_by_unique_key(CONNECTOR, User, "N7")
            .await
            .expect("find_by_unique_key"),
        Some("u7".to_owned())
    );
    assert_eq!(
        list(b.as_ref(), User, None, None, 0, 0).await.total,
        0,
        "each in-memory store is its own database"
    );
}

/// Awaits every future (a small `join_all`, to keep the test free of extra dependencies).
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    // Poll all together so the opens really overlap.
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot.as_mut() {
                if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                    out.push(v);
                    *slot = None;
                } else {
                    done = false;
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_sqlite_file_is_whole_without_its_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).await.expect("open");
    for i in 0..50 {
        create(&store, User, &format!("u{i}"), user(&format!("user{i}"))).await;
    }
    store.close().await;
    let wal = dir.path().join("store.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(
        wal_len, 0,
        "the WAL was checkpointed into the file and emptied"
    );

    // The file alone, as a backup taken after a graceful stop.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    let restored = SqliteStore::open(&copy).await.expect("open the copy");
    let page = list(&restored, User, None, None, 0, 100).await;
    assert_eq!(page.total, 50);
    restored.close().await;
}
