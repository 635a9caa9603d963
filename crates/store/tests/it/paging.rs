//! Walking pages the way identity providers do (`startIndex`/`count`), and the counters behind
//! `totalResults`.

use std::collections::HashSet;

use scim::ResourceKind::{Group, User};
use scim::query::SortOrder::{self, Ascending, Descending};
use serde_json::json;

use crate::support::*;

on_both!(
    walking_pages_returns_every_user_once,
    counters_follow_creates_and_deletes,
);

const USERS: usize = 25;

/// Walks every page of `count`; the ids in order, checking `total` on every page.
async fn walk(
    env: &Env,
    filter: Option<&str>,
    sort: Option<(&str, SortOrder)>,
    count: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = list(env.store.as_ref(), User, filter, sort, offset, count).await;
        assert_eq!(page.total, USERS, "total on the page at {offset}");
        if page.resources.is_empty() {
            break;
        }
        assert!(page.resources.len() <= count);
        seen.extend(ids(&page).into_iter().map(str::to_owned));
        offset += count;
    }
    seen
}

async fn walking_pages_returns_every_user_once(env: Env) {
    // Created in an order that is not their name order.
    let mut created = Vec::new();
    for i in 0..USERS {
        let name = format!("user{:02}", (i * 7) % USERS);
        let mut attributes = user(&name);
        attributes.insert("title".into(), json!(format!("t{}", i % 3)));
        let id = format!("id{i:02}");
        create(env.store.as_ref(), User, &id, attributes).await;
        created.push((id, name));
    }
    let insertion: Vec<String> = created.iter().map(|(id, _)| id.clone()).collect();
    let mut by_name = created.clone();
    by_name.sort_by(|a, b| a.1.cmp(&b.1));
    let by_name: Vec<String> = by_name.into_iter().map(|(id, _)| id).collect();
    let reversed: Vec<String> = by_name.iter().rev().cloned().collect();

    for count in [1, 7, 10, 25, 100] {
        assert_eq!(
            walk(&env, None, None, count).await,
            insertion,
            "count {count}"
        );
    }
    assert_eq!(
        walk(&env, None, Some(("userName", Ascending)), 7).await,
        by_name
    );
    assert_eq!(
        walk(&env, None, Some(("userName", Descending)), 7).await,
        reversed
    );
    // Scanned filter, unsorted and sorted in memory (ties in insertion order).
    let scanned = Some(r#"userName sw "USER""#);
    assert_eq!(walk(&env, scanned, None, 7).await, insertion);
    assert_eq!(
        walk(&env, scanned, Some(("userName", Descending)), 7).await,
        reversed
    );
    let by_title = walk(&env, scanned, Some(("title", Ascending)), 4).await;
    assert_eq!(
        by_title.iter().collect::<HashSet<_>>().len(),
        USERS,
        "each once"
    );
    let expected: Vec<String> = (0..3)
        .flat_map(|t| {
            insertion
                .iter()
                .enumerate()
                .filter(move |(i, _)| i % 3 == t)
                .map(|(_, id)| id.clone())
        })
        .collect();
    assert_eq!(by_title, expected, "stable within each title");

    let past = list(env.store.as_ref(), User, None, None, 30, 10).await;
    assert_eq!((past.total, past.resources.len()), (USERS, 0));
    let none = list(env.store.as_ref(), User, scanned, None, 0, 0).await;
    assert_eq!(
        (none.total, none.resources.len()),
        (USERS, 0),
        "count=0 still counts"
    );
}

async fn counters_follow_creates_and_deletes(env: Env) {
    let store = env.store.as_ref();
    for i in 0..USERS {
        create(store, User, &format!("u{i}"), user(&format!("n{i}"))).await;
    }
    assert_eq!(list(store, User, None, None, 0, 0).await.total, USERS);
    for i in [3, 9, 20] {
        delete(store, User, &format!("u{i}"), 1)
            .await
            .expect("delete");
    }
    // A refused create counts nothing.
    assert!(
        apply(
            store,
            User,
            store::Change::Create {
                id: "dup".into(),
                attributes: user("N1"),
                members: Default::default(),
            }
        )
        .await
        .is_err()
    );
    let page = list(store, User, None, None, 0, 100).await;
    assert_eq!((page.total, page.resources.len()), (USERS - 3, USERS - 3));
    assert_eq!(list(store, Group, None, None, 0, 10).await.total, 0);
    create(store, Group, "g1", group("G", &["u1"])).await;
    assert_eq!(list(store, Group, None, None, 0, 10).await.total, 1);
    assert_eq!(list(store, User, None, None, 0, 0).await.total, USERS - 3);
}
