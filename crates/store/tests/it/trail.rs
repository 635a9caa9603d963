//! A resource's history and a write's trail: the journal read by resource and by request,
//! trail records kept and read back by request, and pruned once no entry holds their request.

use scim::ResourceKind::User;
use serde_json::json;
use store::{Change, HistoryFilter, HistoryKey, JournalState, TrailRecord};

use crate::support::*;

on_both!(
    history_reads_one_resource_or_one_request_newest_first,
    trail_records_are_read_by_request_and_pruned_with_the_journal,
);

fn page(key: HistoryKey<'_>) -> HistoryFilter<'_> {
    HistoryFilter {
        key,
        state: None,
        since: None,
        until: None,
        before_seq: None,
        limit: 100,
    }
}

async fn history_reads_one_resource_or_one_request_newest_first(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("ann")).await;
    create(store, User, "u2", user("bob")).await;
    replace(store, User, "u1", 1, user("anna"))
        .await
        .expect("replace");
    // A refused write of u1, journalled by another request.
    let mut refused = entry(
        User,
        Change::Delete {
            id: "u1".into(),
            expected_version: 2,
            members: Default::default(),
        },
    );
    refused.request_id = Some("req-2".into());
    let seq = store.journal_append(refused).await.expect("append");
    store
        .journal_fail(seq, "the vendor refused")
        .await
        .expect("fail");

    let u1 = HistoryKey::Resource {
        connector: CONNECTOR,
        id: "u1",
    };
    let all = store.journal_history(page(u1)).await.expect("history");
    let ops: Vec<(&str, JournalState)> = all
        .iter()
        .map(|e| (e.change.operation().as_str(), e.state))
        .collect();
    assert_eq!(
        ops,
        [
            ("delete", JournalState::Failed),
            ("replace", JournalState::Committed),
            ("create", JournalState::Committed),
        ]
    );
    assert!(all.iter().all(|e| e.change.id() == "u1"));

    // Filtered by outcome, paged, and by time.
    let failed = HistoryFilter {
        state: Some(JournalState::Failed),
        ..page(u1)
    };
    assert_eq!(
        store.journal_history(failed).await.expect("failed").len(),
        1
    );
    let older = HistoryFilter {
        before_seq: Some(all[0].seq),
        limit: 1,
        ..page(u1)
    };
    let next = store.journal_history(older).await.expect("page");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].seq, all[1].seq);
    let future = HistoryFilter {
        since: Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1)),
        ..page(u1)
    };
    assert!(
        store
            .journal_history(future)
            .await
            .expect("since")
            .is_empty()
    );
    let past = HistoryFilter {
        until: Some(time::OffsetDateTime::now_utc() - time::Duration::hours(1)),
        ..page(u1)
    };
    assert!(store.journal_history(past).await.expect("until").is_empty());

    // By request: req-2 wrote once; req-1 (every other write here) four times.
    let by_request = store
        .journal_history(page(HistoryKey::Request("req-2")))
        .await
        .expect("request");
    assert_eq!(by_request.len(), 1);
    assert_eq!(by_request[0].seq, seq);
    let other = store
        .journal_history(page(HistoryKey::Request("req-1")))
        .await
        .expect("request");
    assert_eq!(other.len(), 3);
}

fn record(request_id: &str, at: time::OffsetDateTime, n: u32) -> TrailRecord {
    TrailRecord {
        request_id: request_id.into(),
        at,
        record: json!({"kind": "vendor", "attempt": n}),
    }
}

async fn trail_records_are_read_by_request_and_pruned_with_the_journal(env: Env) {
    let store = env.store.as_ref();
    let old = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    create(store, User, "u1", user("ann")).await; // journalled by req-1
    store
        .trail_append(vec![
            record("req-1", old, 1),
            record("req-gone", old, 1),
            record("req-1", old, 2),
            record("req-young", time::OffsetDateTime::now_utc(), 1),
        ])
        .await
        .expect("append");
    store.trail_append(Vec::new()).await.expect("nothing");

    let of = |ids: &[&str]| {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        async move { store.trail_of(&ids).await.expect("trail") }
    };
    let req1 = of(&["req-1"]).await;
    assert_eq!(
        req1.iter()
            .map(|r| r.record["attempt"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2)],
        "in the order kept"
    );
    assert_eq!(req1[0].request_id, "req-1");
    assert_eq!(of(&["req-1", "req-gone"]).await.len(), 3);
    assert!(of(&["nobody"]).await.is_empty());

    // A day ago is the horizon: req-gone's record goes (no entry holds it), req-1's stay
    // while its entry does, req-young's is young.
    let day_ago = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let pruned = store.prune(day_ago, 100).await.expect("prune");
    assert_eq!(pruned.trail, 1);
    assert!(of(&["req-gone"]).await.is_empty());
    assert_eq!(of(&["req-1", "req-young"]).await.len(), 3);
}
