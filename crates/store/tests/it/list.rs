//! Filters answered from indexes and by scanning, always exactly right; sorting with missing
//! values; the same answers whichever way the planner chose.

use scim::ResourceKind::{Group, User};
use scim::query::SortOrder::{self, Ascending, Descending};
use scim::{Filter, ResourceKind};
use serde_json::{Map, Value, json};

use crate::support::*;

on_both!(
    user_filters_are_answered_exactly,
    group_filters_are_answered_exactly,
    sorting_puts_missing_values_last_ascending_and_first_descending,
    every_plan_sorts_like_the_reference,
);

/// Four users covering the indexed attributes, their case rules and Entra's e-mail filter.
async fn users(env: &Env) {
    let store = env.store.as_ref();
    let fixtures = [
        (
            "u1",
            json!({
                "userName": "bjensen@example.com", "displayName": "Babs Jensen", "externalId": "Ext-1",
                "title": "Tour Guide", "active": true, "name": {"givenName": "Barbara"},
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": true},
                    {"value": "babs@jensen.org", "type": "home"}
                ]
            }),
        ),
        (
            "u2",
            json!({
                "userName": "jsmith", "displayName": "John Smith", "externalId": "ext-1",
                "title": "Engineer", "emails": [{"value": "Shared@Example.com", "type": "home"}]
            }),
        ),
        (
            "u3",
            json!({
                "userName": "ÄRNE", "active": false,
                "emails": [{"value": "shared@example.com", "type": "work"}]
            }),
        ),
        (
            "u4",
            json!({
                "userName": "zed", "displayName": "babs jensen", "title": "tour guide lead",
                "emails": [
                    {"value": "z@x.org", "type": "work"},
                    {"value": "bjensen@example.com", "type": "home"}
                ]
            }),
        ),
    ];
    for (id, attributes) in fixtures {
        create(store, User, id, object(attributes)).await;
    }
}

/// Every resource of a kind, in insertion order, whole (a Group with its members).
async fn everything(env: &Env, kind: ResourceKind) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for resource in list(env.store.as_ref(), kind, None, None, 0, 10_000)
        .await
        .resources
    {
        let mut view = resource.view();
        let members = env
            .store
            .members(CONNECTOR, &resource.id, None)
            .await
            .expect("members");
        if kind == ResourceKind::Group {
            scim::members::put_members(&mut view, &members);
        }
        out.push(view);
    }
    out
}

/// The ids a filter selects, checked against evaluating it on every resource.
async fn selected(env: &Env, kind: ResourceKind, filter: &str) -> Vec<String> {
    let page = list(env.store.as_ref(), kind, Some(filter), None, 0, 100).await;
    let parsed = Filter::parse(filter).expect("filter");
    let schema = schema(kind);
    let reference: Vec<String> = everything(env, kind)
        .await
        .into_iter()
        .filter(|view| scim::filter::matches(&parsed, view, &schema))
        .map(|view| view["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let got: Vec<String> = ids(&page).into_iter().map(str::to_owned).collect();
    assert_eq!(
        got, reference,
        "{filter}: the store and the evaluator differ"
    );
    assert_eq!(page.total, got.len(), "{filter}: total");
    got
}

async fn user_filters_are_answered_exactly(env: Env) {
    users(&env).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"id eq "u2""#, &["u2"]),
        (r#"id eq "U2""#, &[]),
        (r#"userName eq "BJENSEN@example.com""#, &["u1"]),
        (r#"userName eq "ärne""#, &["u3"]),
        (r#"displayName eq "BABS JENSEN""#, &["u1", "u4"]),
        (r#"externalId eq "Ext-1""#, &["u1"]),
        (r#"externalId eq "EXT-1""#, &[]),
        (r#"emails.value eq "SHARED@example.com""#, &["u2", "u3"]),
        (r#"emails eq "BABS@jensen.org""#, &["u1"]),
        // Entra ID's shape: only a work address counts.
        (
            r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            &["u1"],
        ),
        (
            r#"emails[type eq "work" and value eq "Shared@example.com"]"#,
            &["u3"],
        ),
        (r#"emails[value eq "z@X.org"]"#, &["u4"]),
        (
            r#"userName eq "bjensen@example.com" and active eq false"#,
            &[],
        ),
        (
            r#"displayName eq "babs jensen" and title co "lead""#,
            &["u4"],
        ),
        (
            r#"userName eq "jsmith" or emails.value eq "z@x.org""#,
            &["u2", "u4"],
        ),
        // Not indexed: scanned.
        (r#"title co "guide""#, &["u1", "u4"]),
        (r#"name.givenName sw "bar""#, &["u1"]),
        ("not (title pr)", &["u3"]),
        ("active eq false", &["u3"]),
        (r#"emails[type eq "home"]"#, &["u1", "u2", "u4"]),
        (r#"userName eq "jsmith" or title eq "engineer""#, &["u2"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(selected(&env, User, filter).await, *expected, "{filter}");
    }
}

async fn group_filters_are_answered_exactly(env: Env) {
    let store = env.store.as_ref();
    let mut sales = group("Sales", &["u1"]);
    sales.insert("externalId".into(), json!("G-1"));
    create(store, Group, "g1", sales).await;
    create(store, Group, "g2", group("sales EU", &[])).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"displayName eq "SALES""#, &["g1"]),
        (r#"externalId eq "G-1""#, &["g1"]),
        (r#"externalId eq "g-1""#, &[]),
        (r#"displayName sw "sales""#, &["g1", "g2"]),
        (r#"members.value eq "u1""#, &["g1"]),
        (r#"id eq "g1" and members[value eq "u1"]"#, &["g1"]),
        (r#"id eq "g1" and members[value eq "u2"]"#, &[]),
        (r#"not (members[value eq "u1"])"#, &["g2"]),
        (r#"members[display pr]"#, &[]),
        (r#"members pr"#, &["g1"]),
        (r#"id eq "g2" or displayName eq "sales""#, &["g1", "g2"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(selected(&env, Group, filter).await, *expected, "{filter}");
    }
}

async fn sorting_puts_missing_values_last_ascending_and_first_descending(env: Env) {
    let store = env.store.as_ref();
    let titled = |name: &str, title: Option<&str>| {
        let mut u = user(name);
        if let Some(t) = title {
            u.insert("title".into(), json!(t));
            u.insert("displayName".into(), json!(t));
        }
        u
    };
    create(store, User, "a", titled("a", Some("beta"))).await;
    create(store, User, "b", titled("b", None)).await;
    create(store, User, "c", titled("c", Some("Alpha"))).await;
    create(store, User, "d", titled("d", Some("BETA"))).await;
    create(store, User, "e", titled("e", None)).await;
    // `title` is sorted in memory, `displayName` (same values) by SQL: both must agree.
    for path in ["title", "displayName"] {
        let sorted = |order| async move {
            let page = list(store, User, None, Some((path, order)), 0, 100).await;
            ids(&page).join(",")
        };
        assert_eq!(
            sorted(Ascending).await,
            "c,a,d,b,e",
            "{path}: case-insensitive, ties in insertion order, missing last"
        );
        assert_eq!(
            sorted(Descending).await,
            "b,e,a,d,c",
            "{path}: missing first, ties still in insertion order"
        );
    }
    let page = list(
        store,
        User,
        Some(r#"userName eq "a" or userName eq "b" or userName eq "c""#),
        Some(("title", Descending)),
        0,
        100,
    )
    .await;
    assert_eq!(
        ids(&page),
        ["b", "a", "c"],
        "an indexed filter, sorted in memory"
    );
}

/// The order a page must have: `scim::query::sort` on every match, in insertion order.
async fn reference(env: &Env, filter: Option<&str>, path: &str, order: SortOrder) -> Vec<String> {
    let schema = schema(User);
    let filter = filter.map(|f| Filter::parse(f).expect("filter"));
    let mut views: Vec<Map<String, Value>> = everything(env, User)
        .await
        .into_iter()
        .filter(|v| {
            filter
                .as_ref()
                .is_none_or(|f| scim::filter::matches(f, v, &schema))
        })
        .collect();
    let path = scim::AttrPath::parse(path).expect("path");
    scim::query::sort(&mut views, &path, order, &schema);
    views
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn every_plan_sorts_like_the_reference(env: Env) {
    let store = env.store.as_ref();
    let people = [
        ("p1", "Zoë", Some("x-2"), Some("Émile")),
        ("p2", "adam", None, Some("bob")),
        ("p3", "Bob", Some("X-1"), None),
        ("p4", "émile", Some("x-10"), Some("Bob")),
        ("p5", "carl", Some("x-1"), Some("")),
    ];
    for (id, name, external_id, display_name) in people {
        let mut u = user(name);
        if let Some(e) = external_id {
            u.insert("externalId".into(), json!(e));
        }
        if let Some(d) = display_name {
            u.insert("displayName".into(), json!(d));
        }
        create(store, User, id, u).await;
    }
    replace(store, User, "p2", 1, user("adam"))
        .await
        .expect("replace");
    let filters = [
        None,                                                                    // SQL order
        Some(r#"userName eq "zoë" or userName eq "BOB" or userName eq "carl""#), // lookups
        Some(r#"userName ne "nobody""#),                                         // scan
    ];
    let paths = [
        "userName",
        "displayName",
        "externalId",
        "id",
        "meta.created",
        "meta.lastModified",
        "name.givenName",
    ];
    for filter in filters {
        for path in paths {
            for order in [Ascending, Descending] {
                let page = list(store, User, filter, Some((path, order)), 0, 100).await;
                let got: Vec<String> = ids(&page).into_iter().map(str::to_owned).collect();
                assert_eq!(
                    got,
                    reference(&env, filter, path, order).await,
                    "filter {filter:?}, sortBy {path} {order:?}"
                );
            }
        }
    }
}
