//! The deletion guards' state: counted and decided in the store, so replicas on one database
//! let through at most the limit together, list the same held removals, obey one operator, and
//! a tripped guard is still tripped after a restart.

use std::time::Duration;

use scim::ResourceKind::{Group, User};
use store::{Admission, GuardRule, Removal, Store};
use time::OffsetDateTime;

use crate::support::*;

on_both_unopened!(
    a_guard_trips_holds_each_removal_once_and_obeys_the_operator,
    replicas_deciding_at_once_let_through_the_limit_together,
);

const RULE: GuardRule = GuardRule {
    limit: 3,
    window: Duration::from_secs(600),
};

fn removal(id: &str) -> Removal<'_> {
    Removal {
        kind: User,
        id,
        name: Some("leaver@example.edu"),
        what: "delete",
        request_id: Some("req-1"),
    }
}

async fn admit(store: &dyn Store, id: &str, rule: GuardRule) -> Admission {
    store
        .guard_admit(CONNECTOR, removal(id), rule, OffsetDateTime::now_utc())
        .await
        .expect("admit")
}

async fn state(store: &dyn Store) -> store::GuardState {
    store
        .guard_state(CONNECTOR, RULE.window, OffsetDateTime::now_utc(), 100)
        .await
        .expect("state")
}

async fn a_guard_trips_holds_each_removal_once_and_obeys_the_operator(location: Location) {
    let replica = location.replica().await;
    let store = replica.store();
    assert_eq!(state(store).await, store::GuardState::default());
    let mut answers = Vec::new();
    for i in 0..5 {
        answers.push(admit(store, &format!("u{i}"), RULE).await);
    }
    use Admission::*;
    assert_eq!(answers, [Pass, Pass, Pass, Tripped, Held]);
    // A retry is held again and listed once; another connector's guard is another guard.
    assert_eq!(admit(store, "u4", RULE).await, Held);
    let other = store
        .guard_admit("other", removal("u9"), RULE, OffsetDateTime::now_utc())
        .await
        .expect("other");
    assert_eq!(other, Pass);
    let group = Removal {
        kind: Group,
        ..removal("u3")
    };
    assert_eq!(
        store
            .guard_admit(CONNECTOR, group, RULE, OffsetDateTime::now_utc())
            .await
            .expect("group"),
        Held
    );

    // A restart keeps all of it.
    replica.close().await;
    let replica = location.replica().await;
    let store = replica.store();
    let held = state(store).await;
    assert!(held.tripped_since.is_some());
    assert_eq!((held.in_window, held.held_total), (3, 3));
    let listed: Vec<(&str, &str)> = held
        .held
        .iter()
        .map(|h| (h.kind.as_str(), h.id.as_str()))
        .collect();
    assert_eq!(listed, [("User", "u3"), ("User", "u4"), ("Group", "u3")]);
    assert_eq!(held.held[0].name.as_deref(), Some("leaver@example.edu"));
    assert_eq!(held.held[0].what, "delete");
    assert_eq!(held.held[0].request_id.as_deref(), Some("req-1"));
    let shown = store
        .guard_state(CONNECTOR, RULE.window, OffsetDateTime::now_utc(), 1)
        .await
        .expect("one shown");
    assert_eq!((shown.held.len(), shown.held_total), (1, 3));

    // The operator allows two: u3 and u4 pass and leave the list, the third is held.
    store.guard_allow(CONNECTOR, 2, None).await.expect("allow");
    assert_eq!(state(store).await.allowed_count, 2);
    assert_eq!(admit(store, "u3", RULE).await, Pass);
    assert_eq!(admit(store, "u4", RULE).await, Pass);
    assert_eq!(admit(store, "u5", RULE).await, Held);
    let after = state(store).await;
    assert_eq!((after.allowed_count, after.held_total), (0, 2));
    assert_eq!(after.in_window, 5);

    // For a time: everything passes until it ends.
    let until = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    store
        .guard_allow(CONNECTOR, 0, Some(until))
        .await
        .expect("allow for a time");
    assert_eq!(admit(store, "u5", RULE).await, Pass);
    let later = until + time::Duration::seconds(1);
    let expired = store
        .guard_admit(CONNECTOR, removal("u6"), RULE, later)
        .await
        .expect("admit later");
    assert_eq!(expired, Held);
    assert!(state(store).await.allowed_until.is_some());

    // A reset forgets it all; the guard counts afresh.
    store.guard_reset(CONNECTOR).await.expect("reset");
    assert_eq!(state(store).await, store::GuardState::default());
    assert_eq!(admit(store, "u6", RULE).await, Pass);
    replica.close().await;
}

async fn replicas_deciding_at_once_let_through_the_limit_together(location: Location) {
    let a = location.replica().await;
    let b = location.replica().await;
    let rule = GuardRule {
        limit: 25,
        window: Duration::from_secs(600),
    };
    let ids: Vec<String> = (0..40).map(|i| format!("u{i:02}")).collect();
    let decisions = ids.iter().enumerate().map(|(i, id)| {
        let store = if i % 2 == 0 { a.store() } else { b.store() };
        admit(store, id, rule)
    });
    // All forty at once, half through each replica.
    let answers = futures_util::future::join_all(decisions).await;
    let passed = answers.iter().filter(|&&a| a == Admission::Pass).count();
    let tripped = answers.iter().filter(|&&a| a == Admission::Tripped).count();
    assert_eq!((passed, tripped), (25, 1), "{answers:?}");
    // Both see the one state; an allowance given through one is spent through the other.
    let (seen_a, seen_b) = (state(a.store()).await, state(b.store()).await);
    assert_eq!(seen_a, seen_b);
    assert_eq!((seen_a.in_window, seen_a.held_total), (25, 15));
    a.store()
        .guard_allow(CONNECTOR, 15, None)
        .await
        .expect("allow");
    let held: Vec<String> = seen_b.held.iter().map(|h| h.id.clone()).collect();
    for id in &held {
        assert_eq!(admit(b.store(), id, rule).await, Admission::Pass);
    }
    assert_eq!(state(a.store()).await.held_total, 0);
    a.close().await;
    b.close().await;
}
