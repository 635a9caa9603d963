//! Concurrent writers: no lost update, uniqueness decided once.

use futures_util::future::join_all;
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    concurrent_member_adds_lose_nothing,
    concurrent_creates_of_one_user_name
);

async fn concurrent_member_adds_lose_nothing(app: TestApp) {
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(app.create_user(&format!("member-{i}")).await);
    }
    let gid = app
        .post("/Groups", json!({"displayName": "Race"}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/Groups/{gid}");
    let replies = join_all(users.iter().map(|u| {
        app.patch(
            &path,
            json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]),
        )
    }))
    .await;
    assert!(
        replies.iter().all(|r| r.status == 204),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let group = app.get(&format!("/Groups/{gid}")).await;
    let mut members: Vec<String> = group.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    members.sort();
    users.sort();
    assert_eq!(members, users, "every concurrent add survived");
    app.finish().await;
}

async fn concurrent_creates_of_one_user_name(app: TestApp) {
    let replies = join_all((0..12).map(|i| {
        app.post(
            "/Users",
            json!({"userName": if i % 2 == 0 { "Racer" } else { "racer" }}),
        )
    }))
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert_error(409, Some("uniqueness"));
    }
    app.finish().await;
}
