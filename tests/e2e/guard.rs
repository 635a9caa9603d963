//! The deletion guard (docs/architecture.md "The deletion guard"): a mis-scoped assignment
//! deprovisions in bulk; past 50 removals in ten minutes the connector refuses more with 503
//! and `Retry-After`, lists what it holds, and lets it through once an operator allows it, so
//! the identity provider's retry succeeds. The guard's state is in the store: it survives a
//! restart, and replicas on one database share it.

use reqwest::Method;
use serde_json::json;

use crate::common::TestApp;

crate::on_both_backends!(guarded:
    sixty_deletions_against_a_guard_of_fifty,
    replicas_share_one_guard_and_one_operator,
);
crate::on_both_backends!(guarded_share: a_guard_by_share_counts_the_connectors_users);

async fn sixty_deletions_against_a_guard_of_fifty(mut app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..61 {
        ids.push(app.create_user(&format!("leaver{i:02}@example.edu")).await);
    }
    let mut refused = Vec::new();
    for id in &ids[..60] {
        let reply = app.delete(&format!("/Users/{id}")).await;
        match reply.status {
            204 => {}
            503 => {
                assert_eq!(reply.header("retry-after"), Some("30"));
                let detail = reply.body["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.contains("deletion guard") && detail.contains("guard/allow"),
                    "{detail}"
                );
                refused.push(id.clone());
            }
            other => panic!("DELETE answered {other}: {:?}", reply.body),
        }
    }
    assert_eq!(refused.len(), 10, "50 pass, the rest are held");
    // A deactivation counts as a removal, and is held too.
    let deactivate = app
        .patch(
            &format!("/Users/{}", ids[60]),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(deactivate.status, 503, "{:?}", deactivate.body);
    refused.push(ids[60].clone());
    // Nothing held changed: the accounts are all still there.
    for id in &refused {
        assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    }
    // A restart does not open a tripped guard (nor let another fifty through).
    app.restart().await;
    assert_eq!(
        app.delete(&format!("/Users/{}", refused[0])).await.status,
        503
    );

    let status = app.admin(Method::GET, "/admin/connectors/test/guard").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert!(status.body["trippedSince"].is_string(), "{}", status.body);
    assert_eq!(status.body["inWindow"], 50);
    assert_eq!(status.body["heldTotal"], 11);
    let held = status.body["held"].as_array().expect("held");
    assert_eq!(held.len(), 11, "{}", status.body);
    assert_eq!(held[0]["what"], "delete");
    assert_eq!(held[0]["resourceType"], "User");
    assert!(
        held[0]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("leaver"))
    );
    assert_eq!(held[10]["what"], "deactivate");

    // Refused with a reason without a count; unknown connectors and guards are 404.
    app.admin(Method::POST, "/admin/connectors/test/guard/allow")
        .await
        .assert_error(400, Some("invalidValue"));
    app.admin(Method::POST, "/admin/connectors/other/guard/allow?count=1")
        .await
        .assert_error(404, None);

    // The operator allows the eleven; the identity provider retries them.
    let allowed = app
        .admin(Method::POST, "/admin/connectors/test/guard/allow?count=11")
        .await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
    assert_eq!(allowed.body["allowedCount"], 11);
    for id in &refused[..10] {
        assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    }
    let retried = app
        .patch(
            &format!("/Users/{}", ids[60]),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    let after = app.admin(Method::GET, "/admin/connectors/test/guard").await;
    assert_eq!(after.body["held"], json!([]), "{}", after.body);
    assert_eq!(after.body["allowedCount"], 0);
    // Still tripped: the next removal waits for an operator again.
    let another = app.create_user("late@example.edu").await;
    assert_eq!(app.delete(&format!("/Users/{another}")).await.status, 503);
    let reset = app
        .admin(Method::POST, "/admin/connectors/test/guard/reset")
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(app.delete(&format!("/Users/{another}")).await.status, 204);

    let metrics = app.metrics().await;
    for series in [
        "scim_deletion_guard_trips_total{connector=\"test\"}",
        "scim_deletion_guard_held_total{connector=\"test\"}",
        "scim_deletion_guard_releases_total{connector=\"test\"}",
    ] {
        assert!(metrics.contains(series), "{series}");
    }
    app.finish().await;
}

/// Two replicas on one PostgreSQL database: together they let fifty through, not fifty each;
/// what one holds the other lists; an operator's allowance given to one is spent through the
/// other, and a reset through one opens both.
async fn replicas_share_one_guard_and_one_operator(app: TestApp) {
    if !app.on_postgres() {
        return app.finish().await;
    }
    let other = app.replica().await;
    let roots = [app.root.clone(), other.url()];
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(app.create_user(&format!("leaver{i:02}@example.edu")).await);
    }
    // Thirty through each, at once.
    let paths: Vec<String> = ids.iter().map(|id| format!("/Users/{id}")).collect();
    let deletions = paths
        .iter()
        .enumerate()
        .map(|(i, path)| app.call_at(&roots[i % 2], Method::DELETE, path, None));
    let replies = futures_util::future::join_all(deletions).await;
    let mut held = Vec::new();
    for (id, reply) in ids.iter().zip(&replies) {
        match reply.status {
            204 => {}
            503 => held.push(id.clone()),
            other => panic!("DELETE answered {other}: {:?}", reply.body),
        }
    }
    assert_eq!(held.len(), 10, "50 pass in all, not 50 per replica");

    let seen: Vec<serde_json::Value> = {
        let mut seen = Vec::new();
        for root in &roots {
            let status = app
                .admin_at(root, Method::GET, "/admin/connectors/test/guard")
                .await;
            assert_eq!(status.status, 200, "{:?}", status.body);
            seen.push(status.body);
        }
        seen
    };
    for status in &seen {
        assert_eq!(status["inWindow"], 50, "{status}");
        assert_eq!(status["heldTotal"], 10, "{status}");
        assert_eq!(status["trippedSince"], seen[0]["trippedSince"]);
    }
    let mut listed: Vec<String> = seen[1]["held"]
        .as_array()
        .expect("held")
        .iter()
        .filter_map(|h| h["id"].as_str().map(str::to_owned))
        .collect();
    listed.sort();
    held.sort();
    assert_eq!(listed, held);

    // Allowed through the first replica, retried through the second.
    let allowed = app
        .admin_at(
            &roots[0],
            Method::POST,
            "/admin/connectors/test/guard/allow?count=10",
        )
        .await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
    for id in &held {
        let retry = app
            .call_at(&roots[1], Method::DELETE, &format!("/Users/{id}"), None)
            .await;
        assert_eq!(retry.status, 204, "{:?}", retry.body);
    }
    let late = app.create_user("late@example.edu").await;
    let path = format!("/Users/{late}");
    assert_eq!(
        app.call_at(&roots[0], Method::DELETE, &path, None)
            .await
            .status,
        503
    );
    let reset = app
        .admin_at(
            &roots[1],
            Method::POST,
            "/admin/connectors/test/guard/reset",
        )
        .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert_eq!(reset.body["heldTotal"], 0);
    assert_eq!(
        app.call_at(&roots[0], Method::DELETE, &path, None)
            .await
            .status,
        204
    );
    other.stop().await;
    app.finish().await;
}

/// `max_share = 0.25`: the limit is a quarter of the users, counted at start and then every
/// minute (here: when the test asks, as the minute's tick would).
async fn a_guard_by_share_counts_the_connectors_users(mut app: TestApp) {
    let status = app.admin(Method::GET, "/admin/connectors/test/guard").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(
        (status.body["users"].clone(), status.body["max"].clone()),
        (json!(0), json!(1))
    );
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(app.create_user(&format!("member{i}@example.edu")).await);
    }
    gateway::guard::count_users(
        app.store().as_ref(),
        app.state().connectors.values().map(AsRef::as_ref),
    )
    .await;
    let status = app.admin(Method::GET, "/admin/connectors/test/guard").await;
    assert_eq!(status.body["users"], 8);
    assert_eq!(status.body["max"], 2, "a quarter of 8");
    assert_eq!(status.body["maxShare"], 0.25);
    let answers: Vec<u16> = {
        let mut answers = Vec::new();
        for id in &ids[..3] {
            answers.push(app.delete(&format!("/Users/{id}")).await.status);
        }
        answers
    };
    assert_eq!(answers, [204, 204, 503]);
    // A new process counts at its start: 6 users are left.
    app.restart().await;
    let status = app.admin(Method::GET, "/admin/connectors/test/guard").await;
    assert_eq!(status.body["users"], 6, "{}", status.body);
    app.finish().await;
}
