//! Discovery endpoints one by one, searches by body, and the operations endpoints.

use serde_json::json;

use crate::common::{TestApp, send};
use crate::on_both_backends;

on_both_backends!(discovery_and_search);

async fn discovery_and_search(app: TestApp) {
    let user = app.get("/ResourceTypes/User").await;
    assert_eq!(
        (
            user.status,
            user.body["endpoint"].clone(),
            user.body["schema"].clone()
        ),
        (
            200,
            json!("/Users"),
            json!("urn:ietf:params:scim:schemas:core:2.0:User")
        )
    );
    app.get("/ResourceTypes/Printer")
        .await
        .assert_error(404, None);
    let schema = app
        .get("/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        .await;
    assert_eq!(schema.status, 200);
    assert_eq!(schema.body["attributes"].as_array().map(Vec::len), Some(6));
    app.get("/Schemas/urn:nope").await.assert_error(404, None);

    let alice = app.create_user("search-alice").await;
    app.create_user("search-bob").await;
    let group = app
        .post("/Groups", json!({"displayName": "search-group"}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let search = |filter: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter, "attributes": ["userName", "displayName"], "count": 10});
    let users = app
        .post("/Users/.search", search("userName sw \"search-a\""))
        .await;
    assert_eq!(users.status, 200, "{:?}", users.body);
    assert_eq!(users.ids(), [alice.as_str()]);
    assert!(
        users.body["Resources"][0].get("emails").is_none(),
        "attributes applied"
    );
    let groups = app
        .post("/Groups/.search", search("displayName eq \"SEARCH-GROUP\""))
        .await;
    assert_eq!(groups.ids(), [group.as_str()]);
    let everything = app
        .post("/.search", json!({"filter": "meta.created pr", "count": 2}))
        .await;
    assert_eq!(
        everything.body["totalResults"], 3,
        "Users and Groups together: {:?}",
        everything.body
    );
    assert_eq!(everything.ids().len(), 2);
    let rest = app
        .post(
            "/.search",
            json!({"filter": "meta.created pr", "startIndex": 3, "count": 2}),
        )
        .await;
    assert_eq!(
        rest.ids(),
        [group.as_str()],
        "the page crosses from Users into Groups"
    );
    app.post("/Users/.search", json!({"filter": "userName eq"}))
        .await
        .assert_error(400, Some("invalidFilter"));

    let metrics = send(app.client.get(format!("{}/metrics", app.root))).await;
    assert_eq!(metrics.status, 200);
    // Every series explains itself.
    let text = app.metrics().await;
    let series: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(series.contains(&"scim_requests_total"), "{text}");
    for name in series {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} "))),
            "no HELP for {name}:\n{text}"
        );
    }
    app.finish().await;
}
