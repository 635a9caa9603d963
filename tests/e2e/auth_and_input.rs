//! Credentials, and every kind of bad input: each a SCIM error with status, scimType and a
//! detail; never a 500.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, send};
use crate::on_both_backends;

on_both_backends!(credentials, bad_input, versions_and_etags);

async fn credentials(app: TestApp) {
    let url = format!("{}/Users", app.base);
    let missing = send(app.client.get(&url)).await;
    missing.assert_error(401, None);
    assert!(
        missing
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    send(app.client.get(&url).bearer_auth("not-a-real-token"))
        .await
        .assert_error(401, None);
    // The other connector's valid token does not open this one, and vice versa.
    send(app.client.get(&url).bearer_auth(&app.other_token))
        .await
        .assert_error(401, None);
    let other = send(
        app.client
            .get(format!("{}/scim/v2/other/Users", app.root))
            .bearer_auth(&app.other_token),
    )
    .await;
    assert_eq!(other.status, 200);
    send(
        app.client
            .get(format!("{}/scim/v2/other/Users", app.root))
            .bearer_auth(&app.token),
    )
    .await
    .assert_error(401, None);
    send(
        app.client
            .get(format!("{}/scim/v2/nope/Users", app.root))
            .bearer_auth(&app.token),
    )
    .await
    .assert_error(401, None);
    // Health needs no credential.
    assert_eq!(
        send(app.client.get(format!("{}/healthz", app.root)))
            .await
            .status,
        200
    );
    assert_eq!(
        send(app.client.get(format!("{}/readyz", app.root)))
            .await
            .status,
        200
    );
    // Metrics count requests by connector, route and status; the request id is echoed.
    let traced = send(
        app.client
            .get(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("x-request-id", "trace-me-123"),
    )
    .await;
    assert_eq!(traced.header("x-request-id"), Some("trace-me-123"));
    // Without one, the gateway makes a v7 UUID: time first, so that ids index in order.
    let made = send(app.client.get(format!("{}/Users", app.base)))
        .await
        .header("x-request-id")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .expect("a UUID request id");
    assert_eq!(made.get_version_num(), 7, "{made}");
    let metrics = app
        .client
        .get(format!("{}/metrics", app.root))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("scim_requests_total{connector=\"test\",operation=\"GET /scim/v2/{connector}/Users\",status=\"401\"}"), "{metrics}");
    assert!(
        metrics.contains("scim_request_duration_seconds_bucket"),
        "latency histograms"
    );
    app.finish().await;
}

async fn bad_input(app: TestApp) {
    let users = format!("{}/Users", app.base);
    let raw = |body: &str, content_type: &str| {
        app.client
            .post(&users)
            .bearer_auth(&app.token)
            .header("content-type", content_type)
            .body(body.to_owned())
    };
    send(raw("{\"userName\": ", "application/scim+json"))
        .await
        .assert_error(400, Some("invalidSyntax"));
    send(raw("{\"userName\": \"x\"}", "text/plain"))
        .await
        .assert_error(415, None);
    send(raw(
        &format!("{{\"userName\": \"{}\"}}", "x".repeat(70_000)),
        "application/json",
    ))
    .await
    .assert_error(413, None);
    app.post("/Users", json!({"userName": "a", "shoeSize": 43}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    app.post("/Users", json!({"userName": 7}))
        .await
        .assert_error(400, Some("invalidValue"));
    app.post("/Users", json!({"displayName": "no userName"}))
        .await
        .assert_error(400, Some("invalidValue"));
    app.post("/Users", json!(["not", "an", "object"]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let huge_filter = format!("userName eq \"{}\"", "x".repeat(5000));
    let reply = send(
        app.client
            .get(app.url_with("/Users", &[("filter", huge_filter.as_str())]))
            .bearer_auth(&app.token),
    )
    .await;
    reply.assert_error(400, Some("invalidFilter"));
    send(
        app.client
            .get(app.url_with("/Users", &[("filter", "userName equals \"x\"")]))
            .bearer_auth(&app.token),
    )
    .await
    .assert_error(400, Some("invalidFilter"));
    send(
        app.client
            .get(app.url_with("/Users", &[("count", "ten")]))
            .bearer_auth(&app.token),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let odd_paging = send(
        app.client
            .get(app.url_with("/Users", &[("startIndex", "-3"), ("count", "-1")]))
            .bearer_auth(&app.token),
    )
    .await;
    assert_eq!(
        (
            odd_paging.status,
            odd_paging.body["startIndex"].clone(),
            odd_paging.body["itemsPerPage"].clone()
        ),
        (200, json!(1), json!(0))
    );
    let id = app.create_user("input").await;
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "id", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "move", "path": "title"}]),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "nope[", "value": 1}]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    app.get("/Nothing").await.assert_error(404, None);
    app.call(Method::DELETE, "/Users", None)
        .await
        .assert_error(405, None);
    app.finish().await;
}

async fn versions_and_etags(app: TestApp) {
    let id = app.create_user("etag").await;
    let first = app.get(&format!("/Users/{id}")).await;
    let etag = first.header("etag").expect("ETag").to_owned();
    assert_eq!(first.body["meta"]["version"], etag.as_str());
    let not_modified = send(
        app.client
            .get(format!("{}/Users/{id}", app.base))
            .bearer_auth(&app.token)
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(not_modified.status, 304);
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "A"}]});
    let patch = |tag: &str| {
        app.client
            .patch(format!("{}/Users/{id}", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json")
            .header("if-match", tag.to_owned())
            .body(body.to_string())
    };
    let ok = send(patch(&etag)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_ne!(ok.header("etag"), Some(etag.as_str()));
    send(patch(&etag)).await.assert_error(412, None);
    assert_eq!(send(patch("*")).await.status, 200);
    // A no-op PATCH keeps the version.
    let before = app
        .get(&format!("/Users/{id}"))
        .await
        .header("etag")
        .map(str::to_owned);
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": "A"}]),
    )
    .await;
    assert_eq!(
        app.get(&format!("/Users/{id}"))
            .await
            .header("etag")
            .map(str::to_owned),
        before
    );
    app.finish().await;
}
