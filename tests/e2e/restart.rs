//! A crash between journal and commit: the next start finishes the write (or marks it failed
//! when it can no longer apply), and nothing accepted is lost. History past its retention is
//! removed by the worker, from its start on.

use serde_json::json;
use store::{Change, NewJournalEntry, ResourceKind};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    restart_finishes_pending_writes,
    graceful_shutdown_finishes_in_flight_requests,
    history_past_its_retention_is_removed,
);

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
                members: Default::default(),
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
                members: Default::default(),
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
                members: Default::default(),
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

/// Stopping lets a request that is already being received finish; new connections are refused.
async fn graceful_shutdown_finishes_in_flight_requests(mut app: TestApp) {
    use std::io::{BufRead, BufReader, Read, Write};
    let addr = app.root.trim_start_matches("http://").to_owned();
    let body = json!({"userName": "in-flight"}).to_string();
    let head = format!(
        "POST /scim/v2/test/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        app.token,
        body.len()
    );
    // The server answers `100 Continue` once it is processing the request: from then on the
    // request is in flight (a race-free point to start the shutdown).
    let stream = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream.write_all(head.as_bytes()).expect("headers");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("interim answer");
        assert!(line.starts_with("HTTP/1.1 100"), "{line}");
        while line != "\r\n" {
            line.clear();
            reader.read_line(&mut line).expect("interim headers");
        }
        stream
    })
    .await
    .expect("client");

    let addr = app.root.trim_start_matches("http://").to_owned();
    let server = app.take_server();
    let stopping = tokio::spawn(server.stop());
    // Shutdown has begun once new connections are refused.
    let refused = async {
        while tokio::net::TcpStream::connect(&addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), refused)
        .await
        .expect("the server stops accepting");

    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = stream;
        stream.write_all(body.as_bytes()).expect("body");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        answer
    })
    .await
    .expect("client");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    stopping.await.expect("stopped");

    app.restart().await;
    assert_eq!(
        app.get("/Users?filter=userName%20eq%20%22in-flight%22")
            .await
            .body["totalResults"],
        1
    );
    app.finish().await;
}

/// Moves every journal entry of the connector `test` back to the year 2000, by hand (the
/// literal reads as a timestamp in both schemas).
async fn age_the_journal(app: &TestApp) {
    use sqlx::Connection;
    const AGE: &str = "UPDATE journal SET created = '2000-01-01T00:00:00.000000Z', \
                       updated = '2000-01-01T00:00:00.000000Z' WHERE connector = 'test'";
    let url = app.store_url();
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query(AGE).execute(&mut conn).await.expect("age");
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query(AGE).execute(&mut conn).await.expect("age");
    }
}

async fn journal_ids(app: &TestApp) -> Vec<String> {
    let reply = app
        .admin(reqwest::Method::GET, "/admin/journal?connector=test")
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["change"]["id"].as_str().map(str::to_owned))
        .collect()
}

async fn history_past_its_retention_is_removed(mut app: TestApp) {
    let old: Vec<String> =
        futures_util::future::join_all(["ann", "bob", "cy"].map(|name| app.create_user(name)))
            .await;
    assert_eq!(journal_ids(&app).await.len(), 3);
    age_the_journal(&app).await;
    // The worker prunes at its start (default retention: 30 days), then hourly.
    app.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !journal_ids(&app).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the aged entries are still there: {:?}",
            journal_ids(&app).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The worker counts what it pruned once the store has answered, so the count may lag the
    // empty journal by a moment: wait for it too. (The metrics are the process's: other tests
    // in this binary may have pruned as well.)
    let pruned = || async {
        let metrics = app.metrics().await;
        let pruned: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("scim_store_pruned_total{what=\"journal\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        (pruned, metrics)
    };
    loop {
        let (count, metrics) = pruned().await;
        if count >= 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The users stay; new history is kept.
    for id in &old {
        assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    }
    let young = app.create_user("dee").await;
    assert_eq!(journal_ids(&app).await, [young]);
}
