//! Queued delivery: a write is committed and queued in one step, workers claim due entries in
//! order per resource under leases, and operators list, retry and drop them.

use std::collections::HashSet;
use std::time::Duration;

use scim::ResourceKind::User;
use serde_json::json;
use store::{
    Change, Claim, DeliveryOutcome, DeliveryState, JournalFilter, JournalState, QueueFilter, Store,
    StoreError,
};

use crate::support::*;

on_both!(
    a_queued_write_is_committed_and_queued_at_once,
    deliveries_run_in_order_per_resource,
    a_failed_entry_holds_back_its_resource_until_retried_or_dropped,
    a_lease_keeps_others_off_until_released_or_expired,
    a_retry_waits_for_its_backoff,
    two_replicas_claim_disjoint_entries,
    a_refused_queued_write_leaves_nothing,
    operators_list_the_journal_by_state,
    pruning_removes_settled_history_and_keeps_what_is_needed,
);

const LEASE: Duration = Duration::from_secs(60);

fn connectors() -> Vec<String> {
    vec![CONNECTOR.to_owned()]
}

async fn claim(store: &dyn Store, owner: &str) -> Vec<store::Delivery> {
    let connectors = connectors();
    store
        .queue_claim(Claim {
            owner,
            connectors: &connectors,
            lease: LEASE,
            limit: 100,
        })
        .await
        .expect("claim")
}

async fn queue_create(store: &dyn Store, id: &str, name: &str) -> store::StoredResource {
    store
        .journal_commit_queue(entry(
            User,
            Change::Create {
                id: id.into(),
                attributes: user(name),
                members: Default::default(),
            },
        ))
        .await
        .expect("queued create")
        .expect("a resource")
}

async fn queue_rename(store: &dyn Store, id: &str, version: i64, name: &str) {
    let before = store.get(CONNECTOR, User, id).await.expect("get");
    let mut new = entry(
        User,
        Change::Replace {
            id: id.into(),
            expected_version: version,
            attributes: user(name),
            members: Default::default(),
        },
    );
    new.before = before;
    store
        .journal_commit_queue(new)
        .await
        .expect("queued replace");
}

fn ids(claimed: &[store::Delivery]) -> Vec<(&str, &str)> {
    claimed
        .iter()
        .map(|d| (d.entry.change.id(), d.entry.change.operation().as_str()))
        .collect()
}

async fn a_queued_write_is_committed_and_queued_at_once(env: Env) {
    let store = env.store.as_ref();
    let created = queue_create(store, "u1", "ann").await;
    assert_eq!((created.version, &created.vendor_keys), (1, &json!({})));
    // Readable at once, before any delivery.
    assert!(
        store
            .get(CONNECTOR, User, "u1")
            .await
            .expect("get")
            .is_some()
    );
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].queued, stats[0].failed), (1, 0));
    assert!(stats[0].oldest_queued.is_some());
    assert!(store.journal_pending().await.expect("pending").is_empty());

    let claimed = claim(store, "w1").await;
    assert_eq!(ids(&claimed), [("u1", "create")]);
    assert_eq!(claimed[0].vendor_keys, json!({}));
    store
        .queue_settle(
            claimed[0].entry.seq,
            "w1",
            DeliveryOutcome::Delivered(json!({"vendorId": 7})),
        )
        .await
        .expect("settle");
    // The vendor keys reach the resource without a new version.
    let stored = store
        .get(CONNECTOR, User, "u1")
        .await
        .expect("get")
        .expect("u1");
    assert_eq!(
        (stored.version, stored.vendor_keys),
        (1, json!({"vendorId": 7}))
    );
    assert!(store.queue_stats().await.expect("stats").is_empty());
    assert!(claim(store, "w1").await.is_empty());
    let delivered = store
        .queue_list(QueueFilter {
            state: Some(DeliveryState::Delivered),
            limit: 10,
            ..QueueFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].attempts, 1);
}

async fn deliveries_run_in_order_per_resource(env: Env) {
    let store = env.store.as_ref();
    queue_create(store, "u1", "ann").await;
    queue_rename(store, "u1", 1, "anne").await;
    queue_create(store, "u2", "bob").await;
    // The rename waits for the create of its resource; the other resource goes ahead.
    let first = claim(store, "w1").await;
    assert_eq!(ids(&first), [("u1", "create"), ("u2", "create")]);
    assert!(claim(store, "w2").await.is_empty(), "nothing else is due");
    store
        .queue_settle(
            first[0].entry.seq,
            "w1",
            DeliveryOutcome::Delivered(json!({"vendorId": 1})),
        )
        .await
        .expect("settle");
    let second = claim(store, "w1").await;
    assert_eq!(ids(&second), [("u1", "replace")]);
    // Journalled before the create was delivered, it still starts from the create's keys.
    assert_eq!(second[0].vendor_keys, json!({"vendorId": 1}));
    assert_eq!(second[0].entry.before.as_ref().map(|b| b.version), Some(1));
}

async fn a_failed_entry_holds_back_its_resource_until_retried_or_dropped(env: Env) {
    let store = env.store.as_ref();
    queue_create(store, "u1", "ann").await;
    queue_rename(store, "u1", 1, "anne").await;
    let create = claim(store, "w1").await;
    assert_eq!(ids(&create), [("u1", "create")]);
    let seq = create[0].entry.seq;
    store
        .queue_settle(
            seq,
            "w1",
            DeliveryOutcome::Failed("refused: bad name".into()),
        )
        .await
        .expect("settle");
    assert!(
        claim(store, "w1").await.is_empty(),
        "the rename is held back"
    );
    let failed = store
        .queue_list(QueueFilter {
            connector: Some(CONNECTOR),
            state: Some(DeliveryState::Failed),
            limit: 10,
            ..QueueFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("refused: bad name"));
    assert_eq!(store.queue_stats().await.expect("stats")[0].failed, 1);

    // Retried: due again at once.
    store.queue_retry(seq).await.expect("retry");
    assert!(matches!(
        store.queue_retry(seq).await,
        Err(StoreError::NoSuchEntry(_))
    ));
    let again = claim(store, "w1").await;
    assert_eq!(ids(&again), [("u1", "create")]);
    assert_eq!(again[0].attempts, 0);
    store
        .queue_settle(seq, "w1", DeliveryOutcome::Failed("refused again".into()))
        .await
        .expect("settle");
    // Dropped: the rename goes ahead, with the keys the resource had (none were delivered).
    store.queue_drop(seq).await.expect("drop");
    let rename = claim(store, "w1").await;
    assert_eq!(ids(&rename), [("u1", "replace")]);
    assert_eq!(rename[0].vendor_keys, json!({}));
    // A claimed entry cannot be dropped from under its worker.
    assert!(matches!(
        store.queue_drop(rename[0].entry.seq).await,
        Err(StoreError::NoSuchEntry(_))
    ));
}

async fn a_lease_keeps_others_off_until_released_or_expired(env: Env) {
    let store = env.store.as_ref();
    queue_create(store, "u1", "ann").await;
    let held = claim(store, "w1").await;
    assert_eq!(held.len(), 1);
    let seq = held[0].entry.seq;
    assert!(claim(store, "w2").await.is_empty());
    assert!(matches!(
        store
            .queue_settle(seq, "w2", DeliveryOutcome::Delivered(json!({})))
            .await,
        Err(StoreError::NoSuchEntry(_))
    ));
    store.queue_release("w1").await.expect("release");
    let taken = claim(store, "w2").await;
    assert_eq!(taken.len(), 1);

    // A lease that ends lets another worker take the entry, and the first can no longer settle.
    let connectors = connectors();
    store.queue_release("w2").await.expect("release");
    let short = store
        .queue_claim(Claim {
            owner: "w3",
            connectors: &connectors,
            lease: Duration::from_millis(1),
            limit: 10,
        })
        .await
        .expect("claim");
    assert_eq!(short.len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(claim(store, "w4").await.len(), 1);
    assert!(matches!(
        store
            .queue_settle(seq, "w3", DeliveryOutcome::Delivered(json!({})))
            .await,
        Err(StoreError::NoSuchEntry(_))
    ));
    store
        .queue_settle(seq, "w4", DeliveryOutcome::Delivered(json!({})))
        .await
        .expect("the new holder settles");
    // Entries of other connectors are not this worker's.
    let others = store
        .queue_claim(Claim {
            owner: "w5",
            connectors: &["elsewhere".to_owned()],
            lease: LEASE,
            limit: 10,
        })
        .await
        .expect("claim");
    assert!(others.is_empty());
}

async fn a_retry_waits_for_its_backoff(env: Env) {
    let store = env.store.as_ref();
    queue_create(store, "u1", "ann").await;
    let seq = claim(store, "w1").await[0].entry.seq;
    store
        .queue_settle(
            seq,
            "w1",
            DeliveryOutcome::RetryIn(Duration::from_secs(3600), "503 from the vendor".into()),
        )
        .await
        .expect("settle");
    assert!(claim(store, "w1").await.is_empty(), "backing off");
    let waiting = store
        .queue_list(QueueFilter {
            limit: 1,
            ..QueueFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(waiting[0].state, DeliveryState::Queued);
    assert_eq!(waiting[0].attempts, 1);
    assert_eq!(
        waiting[0].last_error.as_deref(),
        Some("503 from the vendor")
    );
    assert!(waiting[0].next_attempt > time::OffsetDateTime::now_utc() + Duration::from_secs(3000));
    // Dropping is how an operator gives up on a waiting entry.
    store.queue_drop(seq).await.expect("drop");
    assert!(store.queue_stats().await.expect("stats").is_empty());
}

async fn two_replicas_claim_disjoint_entries(env: Env) {
    let store = env.store.clone();
    for i in 0..60 {
        queue_create(store.as_ref(), &format!("u{i}"), &format!("user{i}")).await;
    }
    let other = env.location.open().await.expect("second replica");
    let work = |store: std::sync::Arc<dyn Store>, owner: &'static str| async move {
        let connectors = connectors();
        let mut mine = Vec::new();
        loop {
            let claimed = store
                .queue_claim(Claim {
                    owner,
                    connectors: &connectors,
                    lease: LEASE,
                    limit: 7,
                })
                .await
                .expect("claim");
            if claimed.is_empty() {
                return mine;
            }
            for delivery in claimed {
                store
                    .queue_settle(
                        delivery.entry.seq,
                        owner,
                        DeliveryOutcome::Delivered(json!({})),
                    )
                    .await
                    .expect("settle");
                mine.push(delivery.entry.seq);
            }
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(work(store.clone(), "replica-a")),
        tokio::spawn(work(other.clone(), "replica-b"))
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    let a_set: HashSet<i64> = a.iter().copied().collect();
    let b_set: HashSet<i64> = b.iter().copied().collect();
    assert!(a_set.is_disjoint(&b_set), "an entry was delivered twice");
    assert_eq!(a_set.len() + b_set.len(), 60);
    other.close().await;
}

async fn a_refused_queued_write_leaves_nothing(env: Env) {
    let store = env.store.as_ref();
    queue_create(store, "u1", "ann").await;
    let taken = store
        .journal_commit_queue(entry(
            User,
            Change::Create {
                id: "u2".into(),
                attributes: user("ANN"),
                members: Default::default(),
            },
        ))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Uniqueness { .. })),
        "{taken:?}"
    );
    assert!(
        store
            .get(CONNECTOR, User, "u2")
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(store.queue_stats().await.expect("stats")[0].queued, 1);
    assert_eq!(claim(store, "w1").await.len(), 1);
}

async fn operators_list_the_journal_by_state(env: Env) {
    let store = env.store.as_ref();
    create(store, User, "u1", user("ann")).await;
    let pending = store
        .journal_append(entry(
            User,
            Change::Create {
                id: "u2".into(),
                attributes: user("bob"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    let failed = store
        .journal_append(entry(
            User,
            Change::Create {
                id: "u3".into(),
                attributes: user("cy"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    store
        .journal_fail(failed, "the vendor said no")
        .await
        .expect("fail");
    let list = |state, before_seq| async move {
        store
            .journal_list(JournalFilter {
                connector: Some(CONNECTOR),
                state,
                before_seq,
                limit: 10,
            })
            .await
            .expect("journal")
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(Some(JournalState::Pending), None).await, [pending]);
    assert_eq!(list(Some(JournalState::Failed), None).await, [failed]);
    let all = list(None, None).await;
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(list(None, Some(failed)).await, all[1..]);
    let other = store
        .journal_list(JournalFilter {
            connector: Some("elsewhere"),
            limit: 10,
            ..JournalFilter::default()
        })
        .await
        .expect("journal");
    assert!(other.is_empty());
}

async fn pruning_removes_settled_history_and_keeps_what_is_needed(env: Env) {
    let store = env.store.as_ref();
    // Settled: a synchronous create, a refused write.
    create(store, User, "s1", user("sam")).await;
    let refused = store
        .journal_append(entry(
            User,
            Change::Create {
                id: "s2".into(),
                attributes: user("sue"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    store
        .journal_fail(refused, "refused by the vendor")
        .await
        .expect("fail");
    // Pending: a write a crash interrupted.
    store
        .journal_append(entry(
            User,
            Change::Create {
                id: "s3".into(),
                attributes: user("sid"),
                members: Default::default(),
            },
        ))
        .await
        .expect("append");
    // Delivered, nothing else waiting for q1; q2 has a rename waiting; q3 failed.
    queue_create(store, "q1", "quinn").await;
    queue_create(store, "q2", "quentin").await;
    queue_create(store, "q3", "quill").await;
    for (i, delivery) in claim(store, "w1").await.into_iter().enumerate() {
        let outcome = if delivery.entry.change.id() == "q3" {
            DeliveryOutcome::Failed("refused".into())
        } else {
            DeliveryOutcome::Delivered(json!({"vendorId": 100 + i}))
        };
        store
            .queue_settle(delivery.entry.seq, "w1", outcome)
            .await
            .expect("settle");
    }
    queue_rename(store, "q2", 1, "quentina").await;

    let before = journal_of(store).await;
    assert_eq!(before.len(), 7, "{before:?}");

    // Nothing is old yet.
    let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert_eq!(
        store.prune(hour_ago, 100).await.expect("prune"),
        store::Pruned::default()
    );
    assert_eq!(journal_of(store).await, before);

    // Everything is old; one row a batch, so the batches add up.
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let pruned = store.prune(later, 1).await.expect("prune");
    assert_eq!(
        pruned,
        store::Pruned {
            deliveries: 1,
            journal: 3,
            trail: 0
        },
        "q1's delivery; s1, s2 and q1's entries"
    );
    assert_eq!(
        journal_of(store).await,
        [
            ("q2".to_owned(), "create", JournalState::Committed),
            ("q2".to_owned(), "replace", JournalState::Committed),
            ("q3".to_owned(), "create", JournalState::Committed),
            ("s3".to_owned(), "create", JournalState::Pending),
        ],
        "the pending entry, the waiting and failed deliveries, and q2's delivered create \
         (its rename starts from its keys) stay"
    );
    assert_eq!(
        store.prune(later, 1).await.expect("again"),
        store::Pruned::default()
    );

    // The horizon between two writes: only the older goes.
    create(store, User, "t1", user("tia")).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let horizon = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    create(store, User, "t2", user("tom")).await;
    assert_eq!(
        store.prune(horizon, 100).await.expect("prune"),
        store::Pruned {
            deliveries: 0,
            journal: 1,
            trail: 0
        }
    );
    assert!(journal_of(store).await.iter().any(|(id, _, _)| id == "t2"));

    // The resources are untouched, and deliveries still start from the vendor's keys.
    let q1 = store.get(CONNECTOR, User, "q1").await.expect("get");
    assert!(q1.is_some());
    queue_rename(store, "q1", 1, "quinny").await;
    let next = claim(store, "w1").await;
    let keys_of = |id: &str| {
        next.iter()
            .find(|d| d.entry.change.id() == id)
            .map(|d| d.vendor_keys.clone())
    };
    assert_eq!(
        keys_of("q1"),
        q1.map(|r| r.vendor_keys),
        "q1's rename starts from the keys its pruned delivery left on the resource"
    );
    assert!(
        matches!(keys_of("q1"), Some(serde_json::Value::Object(ref m)) if m.contains_key("vendorId")),
        "{:?}",
        keys_of("q1")
    );
    assert!(keys_of("q2").is_some_and(|k| k.get("vendorId").is_some()));
}

/// The connector's journal as (id, operation, state), by id and operation.
async fn journal_of(store: &dyn Store) -> Vec<(String, &'static str, JournalState)> {
    let filter = JournalFilter {
        connector: Some(CONNECTOR),
        state: None,
        before_seq: None,
        limit: 100,
    };
    let mut entries: Vec<_> = store
        .journal_list(filter)
        .await
        .expect("journal")
        .into_iter()
        .map(|e| {
            (
                e.change.id().to_owned(),
                e.change.operation().as_str(),
                e.state,
            )
        })
        .collect();
    entries.sort_by_key(|(id, op, _)| (id.clone(), *op));
    entries
}
