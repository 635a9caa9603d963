//! Queued delivery end to end: the `test` connector is `mytimetable` with `delivery =
//! "queued"`. Writes are answered once durable, the worker brings the simulator along through
//! failures and dropped connections, a restart resumes the queue, and an operator retries or
//! drops what failed through the admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use vendor_sim::faults::{Fault, FaultRule, RouteMatch};

use crate::common::TestApp;

const MTT: &str = "urn:scim-bridge:schemas:extension:mytimetable:1.0:User";

crate::on_both_backends!(mytimetable_queued:
    every_accepted_write_reaches_a_flaky_vendor_once,
    a_restart_resumes_a_waiting_queue,
    an_operator_retries_or_drops_a_failed_delivery,
    an_operator_retries_and_drops_failed_deliveries_in_bulk,
);

crate::on_both_backends!(mytimetable:
    the_admin_api_has_its_own_credential,
);

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "emails": [{"value": name, "type": "work", "primary": true}],
    })
}

/// The queue's entries in `state`, as the admin API lists them.
async fn queue(app: &TestApp, state: &str) -> Vec<Value> {
    let reply = app
        .admin(
            Method::GET,
            &format!("/admin/queue?connector=test&state={state}&count=500"),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until nothing waits in the queue (failing after `limit`).
pub(crate) async fn drained(app: &TestApp, limit: Duration) {
    let started = Instant::now();
    loop {
        let waiting = queue(app, "queued").await;
        if waiting.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{} deliveries still waiting after {limit:?}: {:?}",
            waiting.len(),
            waiting.first()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the queue holds a failed entry, and returns it.
pub(crate) async fn failed_entry(app: &TestApp) -> Value {
    let started = Instant::now();
    loop {
        if let Some(entry) = queue(app, "failed").await.into_iter().next() {
            return entry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no delivery failed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator's synchronization types per user (lower-cased), every user present.
fn vendor_state(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let sim = &app.vendor().sim;
    let mut state: BTreeMap<String, Vec<String>> = sim
        .users()
        .into_iter()
        .map(|u| (u.to_lowercase(), Vec::new()))
        .collect();
    for sync in sim.synchronizations() {
        state
            .entry(sync.username.to_lowercase())
            .or_default()
            .push(sync.sync_type);
    }
    for types in state.values_mut() {
        types.sort();
    }
    state
}

async fn every_accepted_write_reaches_a_flaky_vendor_once(app: TestApp) {
    // Three in ten calls fail, one in ten is carried out but its answer is lost, one in twenty
    // is cut off before it is served. The HTTP client retries a safe call three times within
    // one delivery attempt, so the random faults alone may leave every delivery done at its
    // first attempt: the first user's account is refused four times in a row as well, which
    // makes its first attempt fail for certain and the queue retry it.
    let server = &app.vendor().server;
    server.faults().set(
        7,
        vec![
            FaultRule::always(
                RouteMatch::new("PUT", "/api/v0/users/user00"),
                Fault::Status(503),
            )
            .times(4),
            FaultRule::rate(RouteMatch::any(), Fault::Status(503), 0.3),
            FaultRule::rate(RouteMatch::any(), Fault::DropAfter, 0.1),
            FaultRule::rate(RouteMatch::any(), Fault::Drop, 0.05),
        ],
    );
    let mut ids = Vec::new();
    for i in 0..24 {
        let reply = app
            .post("/Users", user(&format!("user{i:02}@example.edu")))
            .await;
        assert_eq!(
            reply.status, 201,
            "accepted whatever the vendor does: {:?}",
            reply.body
        );
        let id = reply.body["id"].as_str().expect("id").to_owned();
        // Read-your-writes: the store has it before the vendor does.
        assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
        ids.push(id);
    }
    for id in &ids[..6] {
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "value": {"active": false}}]),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    for id in &ids[6..10] {
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "add", "path": format!("{MTT}:synchronizations"),
                        "value": [{"type": "o365"}, {"type": "ews"}]}]),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    // Deactivated, then active again: the order per user must hold.
    for id in &ids[10..12] {
        for active in [false, true] {
            let reply = app
                .patch(
                    &format!("/Users/{id}"),
                    json!([{"op": "replace", "value": {"active": active}}]),
                )
                .await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
        }
    }
    for id in &ids[20..] {
        assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    }
    // A write-only value could not wait in the queue: refused, not silently dropped.
    let mut with_password = user("pw@example.edu");
    with_password["password"] = json!("Secret-123");
    app.post("/Users", with_password)
        .await
        .assert_error(400, Some("invalidValue"));

    drained(&app, Duration::from_secs(60)).await;
    assert!(
        queue(&app, "failed").await.is_empty(),
        "{:?}",
        queue(&app, "failed").await
    );
    server.faults().clear();

    let mut expected = BTreeMap::new();
    for i in 0..20 {
        let types = match i {
            0..6 => vec![],
            6..10 => vec!["ews".to_owned(), "o365".to_owned()],
            _ => vec!["o365".to_owned()],
        };
        expected.insert(format!("user{i:02}@example.edu"), types);
    }
    // Every accepted write is there, none applied twice (one synchronization per type).
    assert_eq!(vendor_state(&app), expected);
    let delivered = queue(&app, "delivered").await;
    assert_eq!(delivered.len(), 24 + 6 + 4 + 4 + 4);
    assert!(
        delivered.iter().any(|d| d["attempts"].as_i64() > Some(1)),
        "the faults made some deliveries retry"
    );
    let metrics = app.metrics().await;
    assert!(metrics.contains("scim_deliveries_total"), "{metrics}");
    assert!(
        metrics.contains("scim_queue_depth{connector=\"test\"} 0"),
        "{metrics}"
    );
    app.finish().await;
}

async fn a_restart_resumes_a_waiting_queue(mut app: TestApp) {
    app.vendor().server.faults().set(
        1,
        vec![FaultRule::always(RouteMatch::any(), Fault::Status(503))],
    );
    for i in 0..5 {
        let reply = app.post("/Users", user(&format!("r{i}@example.edu"))).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    // Attempted and waiting: the vendor is down.
    let started = Instant::now();
    while !queue(&app, "queued")
        .await
        .iter()
        .any(|e| e["attempts"].as_i64() > Some(0))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never attempted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("scim_queue_depth{connector=\"test\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("scim_queue_oldest_age_seconds{connector=\"test\"}"));
    assert!(app.vendor().sim.users().is_empty());

    app.restart().await;
    assert_eq!(
        queue(&app, "queued").await.len(),
        5,
        "the queue survived the restart"
    );
    app.vendor().server.faults().clear();
    drained(&app, Duration::from_secs(30)).await;
    let users: BTreeSet<String> = app.vendor().sim.users().into_iter().collect();
    assert_eq!(users, (0..5).map(|i| format!("r{i}@example.edu")).collect());
    assert_eq!(app.vendor().sim.synchronizations().len(), 5);
    app.finish().await;
}

async fn an_operator_retries_or_drops_a_failed_delivery(app: TestApp) {
    let server = &app.vendor().server;
    // The vendor refuses the account: retrying would only repeat, so it fails at once.
    server.faults().set(
        1,
        vec![FaultRule::always(
            RouteMatch::new("PUT", "/api/v0/users"),
            Fault::Status(400),
        )],
    );
    let id = app.create_user("ann@example.edu").await;
    let failed = failed_entry(&app).await;
    assert_eq!(failed["change"]["id"], id.as_str());
    assert_eq!(failed["change"]["operation"], "create");
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    // A later write of the same user waits behind it.
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue(&app, "queued").await.len(), 1);
    let status = app.admin(Method::GET, "/admin/connectors/test").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["delivery"], "queued");
    assert_eq!(status.body["queue"]["failed"], 1);
    assert_eq!(status.body["queue"]["queued"], 1);

    // Fixed at the vendor; the operator retries: both writes go through, in order.
    server.faults().clear();
    let seq = failed["seq"].as_i64().expect("seq");
    let retried = app
        .admin(Method::POST, &format!("/admin/queue/{seq}/retry"))
        .await;
    assert_eq!(retried.status, 204, "{:?}", retried.body);
    drained(&app, Duration::from_secs(20)).await;
    assert_eq!(
        vendor_state(&app),
        BTreeMap::from([("ann@example.edu".to_owned(), vec![])])
    );
    // Only a failed entry can be retried.
    app.admin(Method::POST, &format!("/admin/queue/{seq}/retry"))
        .await
        .assert_error(409, None);
    app.admin(Method::POST, "/admin/queue/twelve/retry")
        .await
        .assert_error(400, Some("invalidValue"));

    // Dropped: never delivered, and the queue moves on.
    server.faults().set(
        2,
        vec![FaultRule::always(
            RouteMatch::new("PUT", "/api/v0/users"),
            Fault::Status(400),
        )],
    );
    app.create_user("bob@example.edu").await;
    let failed = failed_entry(&app).await;
    let seq = failed["seq"].as_i64().expect("seq");
    assert_eq!(
        app.admin(Method::POST, &format!("/admin/queue/{seq}/drop"))
            .await
            .status,
        204
    );
    assert!(queue(&app, "failed").await.is_empty());
    assert_eq!(queue(&app, "dropped").await.len(), 1);
    assert!(!app.vendor().sim.has_user("bob@example.edu"));
    app.finish().await;
}

/// Waits until `n` deliveries have failed for good.
async fn failed_entries(app: &TestApp, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let failed = queue(app, "failed").await;
        if failed.len() >= n {
            return failed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} of {n} deliveries failed",
            failed.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_operator_retries_and_drops_failed_deliveries_in_bulk(app: TestApp) {
    let server = &app.vendor().server;
    server.faults().set(
        1,
        vec![FaultRule::always(
            RouteMatch::new("PUT", "/api/v0/users"),
            Fault::Status(400),
        )],
    );
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_user(&format!("bulk{i}@example.edu")).await);
    }
    failed_entries(&app, 6).await;

    // What names nothing settles nothing; what is malformed is refused with a reason.
    let none = app
        .admin(
            Method::POST,
            "/admin/queue/retry?connector=test&error=no%20such%20text",
        )
        .await;
    assert_eq!(none.status, 200, "{:?}", none.body);
    assert_eq!(
        none.body,
        json!({"retried": 0, "skipped": 0, "more": false})
    );
    app.admin(Method::POST, "/admin/queue/retry")
        .await
        .assert_error(400, Some("invalidValue"));
    app.admin(Method::POST, "/admin/queue/retry?connector=nope")
        .await
        .assert_error(404, None);
    app.admin(
        Method::POST,
        "/admin/queue/drop?connector=test&state=delivered",
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.admin(
        Method::POST,
        "/admin/queue/drop?connector=test&resourceType=Robot",
    )
    .await
    .assert_error(400, Some("invalidValue"));

    // One user is given up; the others are retried, three per request, once the vendor is
    // fixed.
    let dropped = app
        .admin(
            Method::POST,
            &format!(
                "/admin/queue/drop?connector=test&resourceType=User&id={}",
                ids[0]
            ),
        )
        .await;
    assert_eq!(
        dropped.body,
        json!({"dropped": 1, "skipped": 0, "more": false})
    );
    server.faults().clear();
    let first = app
        .admin(
            Method::POST,
            "/admin/queue/retry?connector=test&error=HTTP%20400&count=3",
        )
        .await;
    assert_eq!(
        first.body,
        json!({"retried": 3, "skipped": 0, "more": true})
    );
    let rest = app
        .admin(
            Method::POST,
            "/admin/queue/retry?connector=test&error=HTTP%20400",
        )
        .await;
    assert_eq!(
        rest.body,
        json!({"retried": 2, "skipped": 0, "more": false})
    );
    drained(&app, Duration::from_secs(20)).await;
    let users: BTreeSet<String> = app.vendor().sim.users().into_iter().collect();
    assert_eq!(
        users,
        (1..6).map(|i| format!("bulk{i}@example.edu")).collect(),
        "every retried user arrived, the dropped one did not"
    );
    assert!(queue(&app, "failed").await.is_empty());
    app.finish().await;
}

async fn the_admin_api_has_its_own_credential(app: TestApp) {
    let url = format!("{}/admin/connectors", app.root);
    let anonymous = crate::common::send(app.client.get(&url)).await;
    anonymous.assert_error(401, None);
    let connector_token = crate::common::send(app.client.get(&url).bearer_auth(&app.token)).await;
    connector_token.assert_error(401, None);

    let id = app.create_user("cy@example.edu").await;
    let list = app.admin(Method::GET, "/admin/connectors").await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let names: Vec<&str> = list.body["connectors"]
        .as_array()
        .expect("connectors")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["other", "test"]);
    assert_eq!(list.body["connectors"][1]["kind"], "mytimetable");
    assert_eq!(list.body["connectors"][1]["delivery"], "sync");
    // The vendor as the last calls found it, and as a probe finds it now.
    let vendor = &list.body["connectors"][1]["vendor"]["endpoints"][0];
    assert_eq!(vendor["name"], "mytimetable", "{vendor}");
    assert_eq!(vendor["reachable"], true, "{vendor}");
    assert!(
        vendor["lastSuccess"].is_string() || vendor["last_success"].is_string(),
        "{vendor}"
    );
    let probed = app
        .admin(Method::GET, "/admin/connectors/test?probe=true")
        .await;
    assert_eq!(probed.body["probe"]["reachable"], true, "{:?}", probed.body);
    app.vendor().server.faults().set(
        1,
        vec![FaultRule::always(RouteMatch::any(), Fault::Status(503))],
    );
    let probed = app
        .admin(Method::GET, "/admin/connectors/test?probe=true")
        .await;
    assert_eq!(
        probed.body["probe"]["reachable"], false,
        "{:?}",
        probed.body
    );
    app.vendor().server.faults().clear();
    let text = list.body.to_string();
    assert!(
        !text.contains(vendor_sim::mytimetable::DEMO_ADMIN_TOKEN),
        "no secret: {text}"
    );

    // The journal, newest first, with what changed and no secret.
    let journal = app
        .admin(Method::GET, "/admin/journal?connector=test&state=committed")
        .await;
    assert_eq!(journal.status, 200, "{:?}", journal.body);
    assert_eq!(journal.body["entries"][0]["change"]["id"], id.as_str());
    assert_eq!(journal.body["entries"][0]["state"], "committed");
    app.admin(Method::GET, "/admin/journal?state=bogus")
        .await
        .assert_error(400, Some("invalidValue"));
    app.admin(Method::GET, "/admin/queue?count=many")
        .await
        .assert_error(400, Some("invalidValue"));
    app.admin(Method::GET, "/admin/connectors/nope")
        .await
        .assert_error(404, None);

    // Reconciliation: none yet, then one run and kept.
    app.admin(Method::GET, "/admin/connectors/test/reconcile")
        .await
        .assert_error(404, None);
    let report = app
        .admin(Method::POST, "/admin/connectors/test/reconcile")
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert_eq!(
        (
            report.body["stored"].as_u64(),
            report.body["inSync"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(report.body["drift"], json!([]));
    let kept = app
        .admin(Method::GET, "/admin/connectors/test/reconcile")
        .await;
    assert_eq!(kept.body, report.body);
    let status = app.admin(Method::GET, "/admin/connectors/test").await;
    assert_eq!(status.body["lastReconciliation"]["unresolved"], 0);
    // Admin calls are labelled as such in /metrics, not as a connector named "".
    let metrics = app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("scim_requests_total{")
                && l.contains("connector=\"(admin)\"")
                && l.contains("/admin/connectors/{name}/reconcile")),
        "{metrics}"
    );
    assert!(
        !metrics.contains("connector=\"\",operation=\"POST /admin"),
        "{metrics}"
    );
    app.finish().await;
}
