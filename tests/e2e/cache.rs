//! The response cache over real sockets: a repeated read is served from memory (proven by a
//! change made behind the gateway's back, which a cached answer does not show), and every write
//! through the gateway is seen by the next read (read-your-writes), for resources and lists.

use serde_json::json;
use store::{Change, NewJournalEntry, ResourceKind};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(reads_are_cached_and_writes_are_read_back);

/// Changes a user's title in the store directly, as another process would (no invalidation).
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

    // A change the gateway did not make is not seen while the answers are cached ...
    retitle_behind_the_gateways_back(&app, &id, "Behind").await;
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
