//! Deep pages of unfiltered lists continue from keyset anchors, and an anchor is never used
//! once an insert or delete, on this store or another replica, has shifted the positions.

use scim::ResourceKind::{Group, User};
use serde_json::json;
use store::{PagingStats, Store, StoredResource};

use crate::support::*;

on_both_unopened!(
    a_walk_continues_from_anchors,
    walks_stay_exact_while_resources_come_and_go,
    replicas_never_serve_a_stale_anchor,
    replaces_keep_the_anchors,
    a_user_delete_keeps_the_group_anchors,
    loaded_resources_are_what_commits_write,
);

/// The ids of the page at `offset`, checked against the expected slice of `model`.
async fn page_of(store: &dyn Store, model: &[String], offset: usize, count: usize) -> Vec<String> {
    let page = list(store, User, None, None, offset, count).await;
    let got: Vec<String> = ids(&page).into_iter().map(str::to_owned).collect();
    let end = (offset + count).min(model.len());
    let expected = model.get(offset..end).unwrap_or_default();
    assert_eq!(got, expected, "page at {offset}");
    assert_eq!(page.total, model.len(), "total at {offset}");
    got
}

async fn create_users(store: &dyn Store, range: std::ops::Range<usize>) -> Vec<String> {
    let mut created = Vec::new();
    for i in range {
        let id = format!("u{i:03}");
        create(store, User, &id, user(&format!("user{i:03}"))).await;
        created.push(id);
    }
    created
}

/// What one more page read did: `(keyset, offset)` reads since `before`.
fn since(before: PagingStats, now: PagingStats) -> (u64, u64) {
    (now.keyset - before.keyset, now.offset - before.offset)
}

async fn a_walk_continues_from_anchors(location: Location) {
    let replica = location.replica().await;
    let store = replica.store();
    let model = create_users(store, 0..25).await;

    let mut walked = Vec::new();
    for offset in (0..=28).step_by(7) {
        walked.extend(page_of(store, &model, offset, 7).await);
    }
    assert_eq!(walked, model);
    assert_eq!(
        replica.stats(),
        PagingStats {
            keyset: 3,
            offset: 1
        },
        "the first page by OFFSET 0, then 7, 14, 21 from anchors; none read past the end"
    );

    // A second walk finds the anchors still valid; a jump has none.
    for offset in (0..=21).step_by(7) {
        page_of(store, &model, offset, 7).await;
    }
    let before = replica.stats();
    assert_eq!(before.keyset, 6);
    page_of(store, &model, 10, 7).await;
    assert_eq!(
        since(before, replica.stats()),
        (0, 1),
        "a jump reads by OFFSET"
    );
    let before = replica.stats();
    page_of(store, &model, 17, 7).await;
    assert_eq!(
        since(before, replica.stats()),
        (1, 0),
        "and leaves an anchor for the page after it"
    );
    replica.close().await;
}

async fn walks_stay_exact_while_resources_come_and_go(location: Location) {
    let replica = location.replica().await;
    let store = replica.store();
    let mut model = create_users(store, 0..30).await;
    let mut next = 30;
    let mut offset = 0;
    let mut step = 0;
    let mut shifted = false;
    loop {
        let before = replica.stats();
        let page = page_of(store, &model, offset, 5).await;
        if offset > 0 && !page.is_empty() {
            let expected = if shifted { (0, 1) } else { (1, 0) };
            assert_eq!(since(before, replica.stats()), expected, "page at {offset}");
        }
        if page.is_empty() {
            break;
        }
        offset += 5;
        // Between pages: delete one already walked past (the positions after it shift down by
        // one: a stale anchor would skip a user), create one, or leave the store alone.
        shifted = step % 3 != 2;
        match step % 3 {
            0 => {
                let gone = model.remove(1);
                delete(store, User, &gone, 1).await.expect("delete");
            }
            1 => {
                model.extend(create_users(store, next..next + 1).await);
                next += 1;
            }
            _ => {}
        }
        step += 1;
    }
    assert!(step >= 6, "the walk saw every kind of change: {step} pages");
    replica.close().await;
}

async fn replicas_never_serve_a_stale_anchor(location: Location) {
    let a = location.replica().await;
    let b = location.replica().await;
    let mut model = create_users(a.store(), 0..22).await;

    page_of(a.store(), &model, 0, 5).await;
    page_of(a.store(), &model, 5, 5).await;
    // B deletes a user A walked past: the user at position 10 moves to 9.
    let gone = model.remove(2);
    delete(b.store(), User, &gone, 1).await.expect("delete");
    let before = a.stats();
    page_of(a.store(), &model, 10, 5).await;
    assert_eq!(
        since(before, a.stats()),
        (0, 1),
        "A's anchor at 10 is stale"
    );

    // B creates one: positions before the end do not move, but A cannot know that a
    // concurrent insert on PostgreSQL did not take a lower seq; it reads by OFFSET again.
    model.extend(create_users(b.store(), 90..91).await);
    let before = a.stats();
    page_of(a.store(), &model, 15, 5).await;
    assert_eq!(since(before, a.stats()), (0, 1));

    // B's own walk leaves anchors in B only; A's next page uses its own.
    for offset in [0, 5, 10] {
        page_of(b.store(), &model, offset, 5).await;
    }
    assert_eq!(b.stats().keyset, 2);
    let before = a.stats();
    page_of(a.store(), &model, 20, 5).await;
    assert_eq!(
        since(before, a.stats()),
        (1, 0),
        "nothing changed since A's page at 15"
    );
    a.close().await;
    b.close().await;
}

async fn replaces_keep_the_anchors(location: Location) {
    let a = location.replica().await;
    let b = location.replica().await;
    let model = create_users(a.store(), 0..12).await;
    page_of(a.store(), &model, 0, 4).await;
    let mut renamed = user("renamed");
    renamed.insert("title".into(), json!("moved on"));
    replace(a.store(), User, &model[1], 1, renamed)
        .await
        .expect("replace");
    replace(b.store(), User, &model[6], 1, user("renamed-too"))
        .await
        .expect("replace on the other replica");
    let before = a.stats();
    page_of(a.store(), &model, 4, 4).await;
    page_of(a.store(), &model, 8, 4).await;
    assert_eq!(since(before, a.stats()), (2, 0));
    let page = list(a.store(), User, None, None, 4, 4).await;
    assert_eq!(page.resources[2].attributes["userName"], "renamed-too");
    a.close().await;
    b.close().await;
}

async fn a_user_delete_keeps_the_group_anchors(location: Location) {
    let replica = location.replica().await;
    let store = replica.store();
    create_users(store, 0..3).await;
    let groups: Vec<String> = (0..6).map(|i| format!("g{i}")).collect();
    for (i, id) in groups.iter().enumerate() {
        create(store, Group, id, group(&format!("G{i}"), &["u000", "u001"])).await;
    }
    let first = list(store, Group, None, None, 0, 3).await;
    assert_eq!(ids(&first), ["g0", "g1", "g2"]);
    // Removes u001 from every Group: each is rewritten in place, none moves.
    delete(store, User, "u001", 1).await.expect("delete");
    let before = replica.stats();
    let second = list(store, Group, None, None, 3, 3).await;
    assert_eq!(ids(&second), ["g3", "g4", "g5"]);
    assert_eq!(
        second.resources[0].version, 2,
        "the delete edited the Group"
    );
    assert_eq!(since(before, replica.stats()), (1, 0));
    replica.close().await;
}

async fn loaded_resources_are_what_commits_write(location: Location) {
    let replica = location.replica().await;
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let resources: Vec<StoredResource> = (0..5)
        .map(|i| StoredResource {
            kind: User,
            id: format!("l{i}"),
            version: 1,
            created: now,
            last_modified: now,
            attributes: object(json!({
                "userName": format!("Loaded{i}"),
                "externalId": format!("ext-{i}"),
                "emails": [{"value": format!("L{i}@Work.example"), "type": "work"}],
            })),
            vendor_keys: json!({"vendorId": i}),
        })
        .collect();
    replica.load(&resources).await.expect("load");
    let store = replica.store();
    assert_eq!(
        store
            .find_by_unique_key(CONNECTOR, User, "loaded3")
            .await
            .expect("find"),
        Some("l3".to_owned())
    );
    let by_email = list(
        store,
        User,
        Some(r#"emails[type eq "work"].value eq "l2@work.example""#),
        None,
        0,
        10,
    )
    .await;
    assert_eq!(ids(&by_email), ["l2"]);
    let by_external = list(store, User, Some(r#"externalId eq "ext-4""#), None, 0, 10).await;
    assert_eq!(ids(&by_external), ["l4"]);
    assert_eq!(
        store.get(CONNECTOR, User, "l0").await.expect("get"),
        resources.first().cloned()
    );
    // The counters count them, and commits continue after them.
    create(store, User, "c", user("committed")).await;
    let all = list(store, User, None, None, 0, 10).await;
    assert_eq!(ids(&all), ["l0", "l1", "l2", "l3", "l4", "c"]);
    assert_eq!(all.total, 6);
    // A taken unique key fails the whole load.
    let mut clash = resources[..1].to_vec();
    clash[0].id = "other".into();
    assert!(replica.load(&clash).await.is_err());
    assert_eq!(list(store, User, None, None, 0, 0).await.total, 6);
    replica.close().await;
}
