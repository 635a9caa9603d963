//! The response cache over real sockets: a repeated read is served from memory (proven by a
//! change made in the database by hand, which a cached answer does not show), every write
//! through the gateway is seen by the next read (read-your-writes), for resources and lists,
//! and on PostgreSQL so is a write another process (replica) committed.

use serde_json::json;
use store::{Change, NewJournalEntry, ResourceKind};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(reads_are_cached_and_writes_are_read_back);

/// Changes a user's title by hand in the database: no gateway wrote it, nothing moves on.
async fn retitle_by_hand(app: &TestApp, id: &str, title: &str) {
    use sqlx::Connection;
    let url = app.store_url();
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query(
            "UPDATE resources SET attributes = json_set(attributes, '$.title', ?1) WHERE id = ?2",
        )
        .bind(title)
        .bind(id)
        .execute(&mut conn)
        .await
        .expect("update");
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query("UPDATE resources SET attributes = (attributes::jsonb || jsonb_build_object('title', $1::text))::text WHERE id = $2")
            .bind(title)
            .bind(id)
            .execute(&mut conn)
            .await
            .expect("update");
    }
}

/// Changes a user's title through the store, as another process would (another replica on
/// PostgreSQL; on SQLite one process owns the file, so nothing expects to see it).
async fn retitle_behind_the_gateways_back(app: &TestApp, id: &str, title: &str) {
    let store = app.store();
    let current = store
        .get("test", ResourceKind::User, id)
        .await
        .expect("store")
        .expect("exists");
    let mut attributes = current.attributes.clone();
    attributes.insert("title".into(), json!(title));
    let seq = store
        .journal_append(NewJournalEntry {
            connector: "test".into(),
            kind: ResourceKind::User,
            change: Change::Replace {
                id: id.into(),
                expected_version: current.version,
                attributes,
                members: Default::default(),
            },
            before: Some(current.clone()),
            request_id: None,
        })
        .await
        .expect("journal");
    store
        .commit(seq, current.vendor_keys)
        .await
        .expect("commit");
}

async fn reads_are_cached_and_writes_are_read_back(app: TestApp) {
    let id = app.create_user("cached").await;
    let path = format!("/Users/{id}");
    let filter = "/Users?filter=userName%20eq%20%22cached%22";
    let first = app.get(&path).await;
    assert_eq!(first.status, 200);
    assert_eq!(app.get(filter).await.body["totalResults"], 1);

    // A change no gateway made is not seen while the answers are cached ...
    retitle_by_hand(&app, &id, "By hand").await;
    let again = app.get(&path).await;
    assert_eq!(again.body, first.body, "served from the cache");
    // ... and a conditional GET on the cached version is a 304.
    let etag = first.header("etag").expect("etag").to_owned();
    let conditional = crate::common::send(
        app.client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&app.token)
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(conditional.status, 304);

    // A write another process committed: on PostgreSQL another replica's, seen at once.
    retitle_behind_the_gateways_back(&app, &id, "Behind").await;
    let after = app.get(&path).await;
    if app.on_postgres() {
        assert_eq!(after.body["title"], "Behind");
    } else {
        assert_eq!(after.body, first.body, "one process owns a SQLite file");
    }

    // A write through the gateway is read back at once, by the resource and by lists.
    let patched = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "title", "value": "Through"}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(app.get(&path).await.body["title"], "Through");
    app.create_user("cached2").await;
    assert_eq!(
        app.get("/Users?filter=userName%20sw%20%22cached%22")
            .await
            .body["totalResults"],
        2
    );
    assert_eq!(app.delete(&path).await.status, 204);
    app.get(&path).await.assert_error(404, None);
    assert_eq!(app.get(filter).await.body["totalResults"], 0);
    // Another client's answers are its own.
    let other = crate::common::send(
        app.client
            .get(format!("{}/scim/v2/other/Users", app.root))
            .bearer_auth(&app.other_token),
    )
    .await;
    assert_eq!(other.body["totalResults"], 0);
    app.finish().await;
}
