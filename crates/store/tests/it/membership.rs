//! Group membership: the `groups` of a User follow the Groups' `members`, and deleting a User
//! removes it from every Group in the same commit.

use scim::ResourceKind::{Group, User};

use crate::support::*;

on_both!(
    groups_of_follows_members,
    deleting_a_user_removes_it_from_its_groups,
    deleting_a_group_clears_its_memberships,
);

/// What `groups_of` answers, checked against `get_with_groups`, which must read the same.
async fn groups_of(env: &Env, member: &str) -> Vec<(String, String)> {
    let groups = env
        .store
        .groups_of(CONNECTOR, member)
        .await
        .expect("groups_of");
    let alone = env.store.get(CONNECTOR, User, member).await.expect("get");
    let together = env
        .store
        .get_with_groups(CONNECTOR, User, member)
        .await
        .expect("get_with_groups")
        .map(|(text, groups)| (text.parse().expect("stored text parses"), groups));
    assert_eq!(
        together,
        alone.map(|user| (user, groups.clone())),
        "get_with_groups is get and groups_of"
    );
    groups
}

async fn member_ids(env: &Env, group: &str) -> Vec<String> {
    env.store
        .members(CONNECTOR, group, None)
        .await
        .expect("members")
        .into_iter()
        .map(|m| m.value)
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn groups_of_follows_members(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    create(store, User, "u2", user("b")).await;
    create(store, Group, "g1", group("Sales", &["u1", "u2", "u1"])).await;
    create(store, Group, "g2", group("Ops", &["u1"])).await;
    assert_eq!(
        groups_of(&env, "u1").await,
        pairs(&[("g1", "Sales"), ("g2", "Ops")])
    );
    assert_eq!(groups_of(&env, "u2").await, pairs(&[("g1", "Sales")]));

    replace(store, Group, "g1", 1, group("Sales EU", &["u2"]))
        .await
        .expect("replace");
    assert_eq!(groups_of(&env, "u1").await, pairs(&[("g2", "Ops")]));
    assert_eq!(
        groups_of(&env, "u2").await,
        pairs(&[("g1", "Sales EU")]),
        "the current displayName"
    );
    assert!(groups_of(&env, "nobody").await.is_empty());
}

async fn deleting_a_user_removes_it_from_its_groups(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    create(store, User, "u2", user("b")).await;
    let g1 = create(store, Group, "g1", group("Sales", &["u1", "u2"])).await;
    create(store, Group, "g2", group("Ops", &["u1"])).await;
    create(store, Group, "g3", group("Idle", &["u2"])).await;

    delete(store, User, "u1", 1).await.expect("delete");

    let g1_after = store
        .get(CONNECTOR, Group, "g1")
        .await
        .expect("get")
        .expect("g1");
    assert_eq!(g1_after.version, 2, "a group that lost a member moves on");
    assert!(g1_after.last_modified >= g1.last_modified);
    assert!(!g1_after.attributes.contains_key("members"), "kept apart");
    assert_eq!(member_ids(&env, "g1").await, ["u2"]);
    let g2_after = store
        .get(CONNECTOR, Group, "g2")
        .await
        .expect("get")
        .expect("g2");
    assert_eq!(g2_after.version, 2);
    assert!(member_ids(&env, "g2").await.is_empty(), "no members left");
    let g3_after = store
        .get(CONNECTOR, Group, "g3")
        .await
        .expect("get")
        .expect("g3");
    assert_eq!(g3_after.version, 1, "other groups are untouched");

    assert!(groups_of(&env, "u1").await.is_empty());
    assert_eq!(
        groups_of(&env, "u2").await,
        pairs(&[("g1", "Sales"), ("g3", "Idle")])
    );
    // The bumped versions are the ones a client must now send.
    replace(store, Group, "g2", 2, group("Ops", &["u2"]))
        .await
        .expect("replace at the bumped version");
}

async fn deleting_a_group_clears_its_memberships(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("a")).await;
    create(store, Group, "g1", group("Sales", &["u1"])).await;
    delete(store, Group, "g1", 1).await.expect("delete");
    assert!(groups_of(&env, "u1").await.is_empty());
    create(store, Group, "g1", group("Sales", &[])).await;
    assert!(
        groups_of(&env, "u1").await.is_empty(),
        "a new group with the old id starts empty"
    );
    delete(store, User, "u1", 1)
        .await
        .expect("a user in no group");
}
