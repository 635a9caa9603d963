//! What happened to this user: the admin API's history of one person, found by userName,
//! externalId, id or request id, with each write's trail (the inbound request and every
//! vendor call attempt, failures included) and no secret in it; with `vendor=true`, what the
//! vendor holds for them now against the store. The `test` connector is `mytimetable` or
//! `timeedit` over its simulator.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use vendor_sim::faults::{Fault, FaultRule, RouteMatch};

use crate::common::TestApp;

crate::on_both_backends!(mytimetable:
    a_write_leaves_a_trail_with_every_vendor_attempt,
    vendor_true_shows_what_mytimetable_holds_now,
);

crate::on_both_backends!(timeedit: vendor_true_shows_what_timeedit_holds_now);

/// The history the admin API answers for `query`, once its trail holds `records` records
/// (the trail is kept off the request path, a moment later; the request's own record comes
/// last, once the answer has gone, so a count that includes it waits for it).
async fn history(app: &TestApp, query: &str, records: usize) -> Value {
    let started = Instant::now();
    loop {
        let reply = app
            .admin(Method::GET, &format!("/admin/history?{query}"))
            .await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        let kept: usize = reply.body["entries"].as_array().map_or(0, |e| {
            e.iter()
                .map(|e| e["trail"].as_array().map_or(0, Vec::len))
                .sum()
        });
        if kept >= records {
            return reply.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{query}: {kept} of {records} trail records: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_write_leaves_a_trail_with_every_vendor_attempt(app: TestApp) {
    // The first account write fails at the vendor; the connector retries it.
    app.vendor().server.faults().set(
        1,
        vec![
            FaultRule::always(RouteMatch::new("PUT", "/api/v0/users"), Fault::Status(503)).times(1),
        ],
    );
    let password = "Tr4il-S3cret!";
    let created = crate::common::send(
        app.client
            .post(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("x-request-id", "entra-req-ann-1")
            .header("content-type", "application/scim+json")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ann@example.edu",
                    "externalId": "ext-ann",
                    "password": password,
                })
                .to_string(),
            ),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();

    // Entry, the request that made it, and each vendor attempt: the refused one and its retry,
    // then listing and creating the synchronization (5 vendor records and the request's).
    let by_name = history(&app, "connector=test&userName=ann%40example.edu", 6).await;
    assert_eq!(by_name["resource"]["id"], id.as_str());
    assert_eq!(
        by_name["resource"]["attributes"]["userName"],
        "ann@example.edu"
    );
    let entries = by_name["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{by_name}");
    let entry = &entries[0];
    assert_eq!(entry["change"]["operation"], "create");
    assert_eq!(entry["state"], "committed");
    assert_eq!(entry["requestId"], "entra-req-ann-1");
    let trail = entry["trail"].as_array().expect("trail");
    let request = trail
        .iter()
        .find(|r| r["type"] == "request")
        .unwrap_or_else(|| panic!("the inbound request: {trail:?}"));
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/scim/v2/test/Users");
    assert_eq!(request["status"], 201);
    assert!(
        request["principal"]
            .as_str()
            .is_some_and(|p| p.starts_with("sha256:")),
        "who: {request}"
    );
    let attempts: Vec<(&str, Option<u64>, &str, Option<u64>)> = trail
        .iter()
        .filter(|r| r["type"] == "vendor" && r["call"] == "ensure user")
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default(),
                r["status"].as_u64(),
                r["outcome"].as_str().unwrap_or_default(),
                r["attempt"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            ("PUT", Some(503), "server_error", Some(1)),
            ("PUT", Some(204), "ok", Some(2))
        ],
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .filter(|r| r["type"] == "vendor")
            .all(|r| r["endpoint"] == "mytimetable" && r["durationMs"].is_u64()),
        "{trail:?}"
    );

    // The same history by externalId, by id, and by the request id Entra's log shows.
    let by_external = history(&app, "connector=test&externalId=ext-ann", 6).await;
    assert_eq!(by_external["entries"], by_name["entries"]);
    let by_id = history(&app, &format!("connector=test&id={id}"), 6).await;
    assert_eq!(by_id["entries"], by_name["entries"]);
    let by_request = history(&app, "requestId=entra-req-ann-1", 6).await;
    assert_eq!(by_request["entries"], by_name["entries"]);
    assert_eq!(by_request["requests"][0]["status"], 201);

    // Nothing secret anywhere: not the password, not the vendor's token.
    for body in [&by_name, &by_request] {
        let text = body.to_string();
        assert!(!text.contains(password), "{text}");
        assert!(
            !text.contains(vendor_sim::mytimetable::DEMO_ADMIN_TOKEN),
            "{text}"
        );
    }

    // Filters: by outcome and time; an unknown person and a missing name say what to do.
    let failed = history(
        &app,
        "connector=test&userName=ann%40example.edu&outcome=failed",
        0,
    )
    .await;
    assert_eq!(failed["entries"], json!([]));
    let later = history(
        &app,
        "connector=test&userName=ann%40example.edu&since=2999-01-01T00:00:00Z",
        0,
    )
    .await;
    assert_eq!(later["entries"], json!([]));
    app.admin(
        Method::GET,
        "/admin/history?connector=test&userName=nobody%40x",
    )
    .await
    .assert_error(404, None);
    app.admin(Method::GET, "/admin/history?connector=test")
        .await
        .assert_error(400, Some("invalidValue"));
    app.admin(
        Method::GET,
        "/admin/history?connector=test&id=x&since=yesterday",
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.admin(Method::GET, "/admin/history?userName=ann")
        .await
        .assert_error(400, Some("invalidValue"));
    app.finish().await;
}

/// The `vendor` object of `GET /admin/history?{query}&vendor=true`.
async fn vendor_now(app: &TestApp, query: &str) -> Value {
    let reply = app
        .admin(Method::GET, &format!("/admin/history?{query}&vendor=true"))
        .await;
    assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
    reply.body["vendor"].clone()
}

async fn vendor_true_shows_what_mytimetable_holds_now(app: TestApp) {
    let id = app.create_user("vera").await;
    let query = "connector=test&userName=vera";
    let now = vendor_now(&app, query).await;
    let stored = app
        .admin(Method::GET, &format!("/admin/history?{query}"))
        .await;
    assert!(stored.body.get("vendor").is_none(), "only when asked");
    assert_eq!(now["checked"], true, "{now}");
    assert_eq!(now["inSync"], true, "{now}");
    assert_eq!(now["differences"], json!([]));
    assert_eq!(now["account"]["name"], "vera");
    assert_eq!(
        now["account"]["keys"],
        stored.body["resource"]["vendorKeys"]
    );

    // Someone removes vera's synchronization at MyTimetable, then vera.
    let sim = &app.vendor().sim;
    let sync = sim
        .synchronizations()
        .into_iter()
        .find(|s| s.username == "vera")
        .expect("the default synchronization");
    assert!(sim.remove_synchronization(sync.id, vendor_sim::mytimetable::UnlinkMode::UnlinkOnly));
    let now = vendor_now(&app, query).await;
    assert_eq!(now["checked"], true, "{now}");
    assert_eq!(now["inSync"], false, "{now}");
    assert_eq!(
        now["differences"],
        json!([format!(
            "synchronization o365 (id {}) is missing at the vendor",
            sync.id
        )])
    );
    assert_eq!(now["account"]["keys"]["synchronizations"], json!({}));
    assert!(sim.remove_user("vera"));
    let now = vendor_now(&app, &format!("connector=test&id={id}")).await;
    assert_eq!(
        now,
        json!({
            "checked": true, "account": null, "inSync": false,
            "differences": ["the vendor has no account \"vera\""],
        })
    );

    // A vendor that refuses our credentials fails the request as a write would (502).
    app.vendor().server.faults().push(
        FaultRule::always(RouteMatch::new("GET", "/api/v0/users"), Fault::Status(401)).times(1),
    );
    app.admin(Method::GET, &format!("/admin/history?{query}&vendor=true"))
        .await
        .assert_error(502, None);

    // A deleted resource has nothing to compare; a request id names no resource.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let now = vendor_now(&app, &format!("connector=test&id={id}")).await;
    assert_eq!(now["checked"], false, "{now}");
    assert!(
        now["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no longer has")),
        "{now}"
    );
    app.admin(Method::GET, "/admin/history?requestId=x&vendor=true")
        .await
        .assert_error(400, Some("invalidValue"));

    // A connector that cannot read the vendor's accounts says so, and still answers.
    let created = crate::common::send(
        app.client
            .post(format!("{}/scim/v2/other/Users", app.root))
            .bearer_auth(&app.other_token)
            .header("content-type", "application/scim+json")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "dirk",
                })
                .to_string(),
            ),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let now = vendor_now(&app, "connector=other&userName=dirk").await;
    assert_eq!(
        now,
        json!({
            "checked": false,
            "reason": "the directory connector cannot read one of the vendor's Users",
        })
    );
    app.finish().await;
}

async fn vendor_true_shows_what_timeedit_holds_now(app: TestApp) {
    app.create_user("tove").await;
    let query = "connector=test&userName=tove";
    let now = vendor_now(&app, query).await;
    assert_eq!(
        now,
        json!({
            "checked": true,
            "account": {"name": "tove", "keys": {"loginname": "tove", "authserver": "timeedit"}},
            "inSync": true,
            "differences": [],
        })
    );
    assert!(app.timeedit().sim.remove_user("tove", "timeedit"));
    let now = vendor_now(&app, query).await;
    assert_eq!(now["account"], Value::Null, "{now}");
    assert_eq!(now["inSync"], false, "{now}");
    assert_eq!(
        now["differences"],
        json!(["the vendor has no account \"tove\""])
    );
    app.finish().await;
}
