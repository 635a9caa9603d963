//! The `mytimetable` connector against the MyTimetable simulator over real sockets: every
//! operation and policy, and every fault. The simulator's state and request log prove what
//! was sent.

use std::time::{Duration, Instant};

use connector::{Connector, ConnectorError, ResourceChange};
use connector_mytimetable::MyTimetable;
use connector_mytimetable::{
    ApiProfile, EXTENSION_URN, MyTimetableSettings, RenamePolicy, UnlinkMode,
};
use scim::ResourceKind;
use serde_json::{Map, Value, json};
use vendor_sim::mytimetable::{self as sim, DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

struct Fixture {
    sim: MyTimetableSim,
    server: SimServer,
}

impl Fixture {
    fn start() -> Fixture {
        let sim = MyTimetableSim::new(MyTimetableConfig::default());
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("simulator");
        Fixture { sim, server }
    }

    fn settings(&self) -> MyTimetableSettings {
        let mut settings = MyTimetableSettings::new(
            format!("{}/api/v0", self.server.base_url()),
            DEMO_ADMIN_TOKEN,
        );
        settings.http.initial_backoff_ms = 10;
        settings.http.max_backoff_ms = 40;
        settings.http.timeout_secs = 2;
        settings
    }

    fn connector(&self, edit: impl FnOnce(&mut MyTimetableSettings)) -> MyTimetable {
        let mut settings = self.settings();
        edit(&mut settings);
        MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("connector")
    }

    /// `(username, type)` of every synchronization, sorted.
    fn syncs(&self) -> Vec<(String, String)> {
        let mut syncs: Vec<_> = self
            .sim
            .synchronizations()
            .into_iter()
            .map(|s| (s.username, s.sync_type))
            .collect();
        syncs.sort();
        syncs
    }

    /// `METHOD path` of every request so far, then clears the log.
    fn calls(&self) -> Vec<String> {
        let calls = self
            .server
            .log()
            .all()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        self.server.log().clear();
        calls
    }
}

fn user(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

/// Applies a change from `before` (with its keys) to `after`.
async fn apply(
    connector: &MyTimetable,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    keys: &Value,
) -> Result<Value, ConnectorError> {
    let change = ResourceChange {
        members: &scim::members::UNCHANGED,
        kind: ResourceKind::User,
        id: "u1",
        before,
        after,
        vendor_keys: keys,
        request_id: Some("req-1"),
        lookup: &connector::NoLookup,
    };
    connector.check(&change)?;
    connector.apply(change).await
}

fn no_keys() -> Value {
    json!({})
}

#[tokio::test]
async fn create_ensures_the_user_and_the_default_sync_with_the_primary_mailbox() {
    let f = Fixture::start();
    let mtt = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    let alice = user(json!({
        "userName": "alice@uni.edu",
        "emails": [{"value": "a.other@uni.edu"}, {"value": "alice@uni.edu", "primary": true}]
    }));
    let keys = apply(&mtt, None, Some(&alice), &no_keys())
        .await
        .expect("created");
    assert_eq!(f.sim.users(), ["alice@uni.edu"]);
    let syncs = f.sim.synchronizations();
    assert_eq!(syncs.len(), 1);
    assert_eq!(syncs[0].sync_type, "o365");
    assert_eq!(syncs[0].smtp_address.as_deref(), Some("alice@uni.edu"));
    assert_eq!(
        keys,
        json!({"username": "alice@uni.edu", "synchronizations": {"o365": syncs[0].id}})
    );
    let log = f.server.log().all();
    assert!(
        log.iter()
            .all(|r| r.header("x-request-id") == Some("req-1"))
    );
    let create = log
        .iter()
        .find(|r| r.method == "PUT" && r.path == "/api/v0/synchronizations");
    let body = create.expect("a sync was created").body.clone();
    assert!(
        body.contains("provisioning_smtpAddress=alice%40uni.edu"),
        "{body}"
    );
    assert_eq!(
        f.calls(),
        [
            "PUT /api/v0/users/alice@uni.edu",
            "GET /api/v0/synchronizations",
            "PUT /api/v0/synchronizations",
            "GET /api/v0/synchronizations",
        ]
    );

    // Replaying the same change (a crash before commit) changes nothing at the vendor.
    let again = apply(&mtt, None, Some(&alice), &no_keys())
        .await
        .expect("replayed");
    assert_eq!(again, keys);
    assert_eq!(f.sim.synchronizations().len(), 1);
    f.server.stop().await;
}

#[tokio::test]
async fn the_extension_decides_the_set_and_updates_bring_the_vendor_to_it() {
    let f = Fixture::start();
    let mtt = f.connector(|s| {
        s.default_sync_types = vec!["o365".into()];
        s.unlink_mode = UnlinkMode::DeleteAllEvents;
    });
    let v1 = user(json!({
        "userName": "bob",
        EXTENSION_URN: {"synchronizations": [{"type": "ews"}, {"type": "googlecalendar"}]}
    }));
    let k1 = apply(&mtt, None, Some(&v1), &no_keys())
        .await
        .expect("created");
    assert_eq!(
        f.syncs(),
        [
            ("bob".into(), "ews".into()),
            ("bob".into(), "googlecalendar".into())
        ]
    );
    let v2 = user(json!({
        "userName": "bob",
        EXTENSION_URN: {"synchronizations": [{"type": "googlecalendar"}, {"type": "o365"}]}
    }));
    let k2 = apply(&mtt, Some(&v1), Some(&v2), &k1)
        .await
        .expect("updated");
    assert_eq!(
        f.syncs(),
        [
            ("bob".into(), "googlecalendar".into()),
            ("bob".into(), "o365".into())
        ]
    );
    assert_eq!(
        k2["synchronizations"]["googlecalendar"], k1["synchronizations"]["googlecalendar"],
        "the kept synchronization keeps its id"
    );
    let deletions = f.sim.sync_deletions();
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0].synchronization.sync_type, "ews");
    assert_eq!(deletions[0].mode, sim::UnlinkMode::DeleteAllEvents);
    assert!(!deletions[0].cascaded);

    // A change MyTimetable does not hold (a display name) makes no call at all.
    f.calls();
    let mut v3 = v2.clone();
    v3.insert("displayName".into(), json!("Bob B."));
    let k3 = apply(&mtt, Some(&v2), Some(&v3), &k2)
        .await
        .expect("updated");
    assert_eq!(k3, k2);
    assert!(f.calls().is_empty(), "nothing to tell the vendor");
    f.server.stop().await;
}

#[tokio::test]
async fn deactivation_removes_the_syncs_and_reactivation_restores_them() {
    let f = Fixture::start();
    let mtt = f.connector(|s| {
        s.default_sync_types = vec!["o365".into(), "ews".into()];
        s.unlink_mode = UnlinkMode::DeleteFutureEvents;
    });
    let active = user(json!({"userName": "carol", "active": true}));
    let k1 = apply(&mtt, None, Some(&active), &no_keys())
        .await
        .expect("created");
    let inactive = user(json!({"userName": "carol", "active": false}));
    let k2 = apply(&mtt, Some(&active), Some(&inactive), &k1)
        .await
        .expect("deactivated");
    assert!(f.sim.synchronizations().is_empty());
    assert!(f.sim.has_user("carol"), "the profile stays");
    assert_eq!(k2, json!({"username": "carol", "synchronizations": {}}));
    let modes: Vec<_> = f.sim.sync_deletions().iter().map(|d| d.mode).collect();
    assert_eq!(modes, [sim::UnlinkMode::DeleteFutureEvents; 2]);
    let k3 = apply(&mtt, Some(&inactive), Some(&active), &k2)
        .await
        .expect("reactivated");
    assert_eq!(
        f.syncs(),
        [
            ("carol".into(), "ews".into()),
            ("carol".into(), "o365".into())
        ]
    );
    assert_eq!(k3["synchronizations"].as_object().map(Map::len), Some(2));
    f.server.stop().await;
}

#[tokio::test]
async fn delete_removes_the_syncs_first_then_the_user() {
    let f = Fixture::start();
    let mtt = f.connector(|s| {
        s.default_sync_types = vec!["o365".into()];
        s.unlink_mode = UnlinkMode::Cleanup;
    });
    let dave = user(json!({"userName": "dave"}));
    let keys = apply(&mtt, None, Some(&dave), &no_keys())
        .await
        .expect("created");
    f.calls();
    assert_eq!(apply(&mtt, Some(&dave), None, &keys).await, Ok(json!({})));
    assert!(f.sim.users().is_empty());
    let deletions = f.sim.sync_deletions();
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0].mode, sim::UnlinkMode::Cleanup);
    assert!(
        !deletions[0].cascaded,
        "removed explicitly, not by the user's cascade"
    );
    let id = keys["synchronizations"]["o365"].as_u64().expect("an id");
    assert_eq!(
        f.calls(),
        [
            "GET /api/v0/synchronizations".to_owned(),
            format!("DELETE /api/v0/synchronizations/{id}?unlinkMode=CLEANUP"),
            "DELETE /api/v0/users/dave".to_owned(),
        ]
    );
    // Deleting again (a replay) is harmless: the vendor answers 204 for a missing user.
    assert_eq!(apply(&mtt, Some(&dave), None, &keys).await, Ok(json!({})));
    f.server.stop().await;
}

#[tokio::test]
async fn existing_accounts_are_adopted() {
    let f = Fixture::start();
    f.sim.seed_user("Erin");
    let kept = f.sim.seed_synchronization("Erin", "o365").expect("seeded");
    f.sim
        .seed_synchronization("Erin", "googlecalendar")
        .expect("seeded");
    let mtt = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    let erin = user(json!({"userName": "erin"}));
    let keys = apply(&mtt, None, Some(&erin), &no_keys())
        .await
        .expect("adopted");
    assert_eq!(f.sim.users(), ["Erin"], "no second account");
    assert_eq!(
        keys["synchronizations"],
        json!({"o365": kept}),
        "the existing sync is kept"
    );
    assert_eq!(
        f.syncs(),
        [("Erin".into(), "o365".into())],
        "the unwanted one goes"
    );
    assert!(
        f.server
            .log()
            .matching("PUT", "/api/v0/synchronizations")
            .is_empty(),
        "nothing was created"
    );
    f.server.stop().await;
}

#[tokio::test]
async fn renames_are_refused_or_recreated_as_configured() {
    let f = Fixture::start();
    let refuse = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    let old = user(json!({"userName": "frank"}));
    let keys = apply(&refuse, None, Some(&old), &no_keys())
        .await
        .expect("created");
    let new = user(json!({"userName": "franklin"}));
    f.calls();
    let e = apply(&refuse, Some(&old), Some(&new), &keys)
        .await
        .expect_err("refused");
    assert!(
        matches!(e, ConnectorError::Immutable { ref reason } if reason.contains("franklin")),
        "{e}"
    );
    assert!(f.calls().is_empty(), "refused before any call");
    // A change of case is not a rename: the vendor compares usernames case-insensitively.
    let recased = user(json!({"userName": "Frank"}));
    apply(&refuse, Some(&old), Some(&recased), &keys)
        .await
        .expect("same account");
    assert_eq!(f.sim.users(), ["frank"]);

    let recreate = f.connector(|s| {
        s.default_sync_types = vec!["o365".into()];
        s.rename = RenamePolicy::Recreate;
        s.unlink_mode = UnlinkMode::DeleteAllEvents;
    });
    let keys = apply(&recreate, Some(&old), Some(&new), &keys)
        .await
        .expect("recreated");
    assert_eq!(f.sim.users(), ["franklin"]);
    assert_eq!(f.syncs(), [("franklin".into(), "o365".into())]);
    assert_eq!(keys["username"], "franklin");
    assert_eq!(
        f.sim.sync_deletions()[0].mode,
        sim::UnlinkMode::DeleteAllEvents
    );
    f.server.stop().await;
}

#[tokio::test]
async fn usernames_travel_as_one_encoded_path_segment() {
    let f = Fixture::start();
    let mtt = f.connector(|_| {});
    for name in ["o'brien+test@uni.edu", "ann marie", "a/b?c#d%e", "Åsa"] {
        let u = user(json!({ "userName": name }));
        let keys = apply(&mtt, None, Some(&u), &no_keys())
            .await
            .expect("created");
        assert!(f.sim.has_user(name), "{name} reached the vendor intact");
        apply(&mtt, Some(&u), None, &keys).await.expect("deleted");
        assert!(!f.sim.has_user(name), "{name} was deleted");
    }
    f.server.stop().await;
}

#[tokio::test]
async fn vendor_faults_are_retried_or_passed_on() {
    let f = Fixture::start();
    let mtt = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    // 5xx on the user call: retried (the call is idempotent), then success.
    f.server.faults().push(
        FaultRule::always(RouteMatch::new("PUT", "/api/v0/users"), Fault::Status(502)).times(2),
    );
    let grace = user(json!({"userName": "grace"}));
    apply(&mtt, None, Some(&grace), &no_keys())
        .await
        .expect("retried through 502");
    assert_eq!(
        f.server.log().matching("PUT", "/api/v0/users/grace").len(),
        3
    );

    // 429 with a short Retry-After: waited for.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("GET", "/api/v0/synchronizations"),
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let heidi = user(json!({"userName": "heidi"}));
    let started = Instant::now();
    apply(&mtt, None, Some(&heidi), &no_keys())
        .await
        .expect("waited");
    assert!(started.elapsed() >= Duration::from_secs(1));

    // A long Retry-After goes back to the SCIM client with the vendor's figure.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", "/api/v0/users"),
            Fault::TooManyRequests {
                retry_after_secs: 120,
            },
        )
        .times(1),
    );
    let ivan = user(json!({"userName": "ivan"}));
    let e = apply(&mtt, None, Some(&ivan), &no_keys())
        .await
        .expect_err("429");
    assert_eq!(
        e,
        ConnectorError::Unavailable {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(120))
        }
    );

    // Persistent 503: retried up to the limit, then unavailable.
    f.server.log().clear();
    f.server.faults().push(FaultRule::always(
        RouteMatch::new("PUT", "/api/v0/users"),
        Fault::Status(503),
    ));
    let e = apply(&mtt, None, Some(&ivan), &no_keys())
        .await
        .expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(f.server.log().len(), 4, "one call and three retries");
    f.server.faults().clear();

    // A vendor that hangs: the whole-call timeout fires.
    f.server.faults().push(FaultRule::always(
        RouteMatch::any(),
        Fault::Hang(Duration::from_secs(3600)),
    ));
    let slow = f.connector(|s| {
        s.http.timeout_secs = 1;
        s.http.max_retries = 0;
    });
    let e = apply(&slow, None, Some(&ivan), &no_keys())
        .await
        .expect_err("timeout");
    assert!(
        matches!(&e, ConnectorError::Unavailable { reason, .. } if reason.contains("timed out")),
        "{e}"
    );
    f.server.faults().clear();
    f.server.stop().await;
}

#[tokio::test]
async fn refused_credentials_are_not_retried() {
    let f = Fixture::start();
    let wrong = f.connector(|s| s.api_token = Some(connector::Secret::new("not-the-token")));
    let judy = user(json!({"userName": "judy"}));
    let e = apply(&wrong, None, Some(&judy), &no_keys())
        .await
        .expect_err("401");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    assert_eq!(f.server.log().len(), 1);
    assert_eq!(f.server.log().all()[0].header("apitoken"), Some("***"));
    f.server.stop().await;

    // A token without admin rights gets 403: also a credential problem.
    let sim = MyTimetableSim::new(MyTimetableConfig {
        tokens: vec![sim::ApiToken::non_admin("reader")],
        ..MyTimetableConfig::default()
    });
    let server = sim.start(SimOptions::default()).expect("simulator");
    let reader = MyTimetable::new(
        &connector::Context::named("mytimetable"),
        MyTimetableSettings::new(format!("{}/api/v0", server.base_url()), "reader"),
    )
    .expect("connector");
    let e = apply(&reader, None, Some(&judy), &no_keys())
        .await
        .expect_err("403");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn a_vanished_synchronization_is_already_gone() {
    let f = Fixture::start();
    let mtt = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    let kim = user(json!({"userName": "kim"}));
    let keys = apply(&mtt, None, Some(&kim), &no_keys())
        .await
        .expect("created");
    // Someone removes the synchronization between our list and our delete: the vendor
    // answers 422, which means the job is done.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("DELETE", "/api/v0/synchronizations"),
            Fault::Status(422),
        )
        .times(1),
    );
    let inactive = user(json!({"userName": "kim", "active": false}));
    let keys = apply(&mtt, Some(&kim), Some(&inactive), &keys)
        .await
        .expect("deactivated");
    assert_eq!(keys["synchronizations"], json!({}));
    assert_eq!(
        f.server
            .log()
            .matching("DELETE", "/api/v0/synchronizations")
            .len(),
        1,
        "422 is not retried"
    );
    f.server.stop().await;
}

#[tokio::test]
async fn accounts_are_listed_for_reconciliation() {
    let f = Fixture::start();
    f.sim.seed_example_dataset();
    let mtt = f.connector(|_| {});
    let page = mtt
        .list_accounts(ResourceKind::User, None)
        .await
        .expect("listed");
    assert_eq!(page.total, Some(3));
    assert!(page.next.is_none());
    let names: Vec<_> = page.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(
        page.accounts[0].keys,
        json!({"username": "alice", "synchronizations": {"o365": 1}})
    );
    let stored = json!({"username": "alice", "synchronizations": {}});
    assert_eq!(mtt.compare(&stored, &page.accounts[0]).len(), 1);
    assert!(
        mtt.compare(&page.accounts[1].keys, &page.accounts[1])
            .is_empty()
    );
    f.server.stop().await;
}

#[tokio::test]
async fn one_account_is_read_from_the_two_lists() {
    let f = Fixture::start();
    f.sim.seed_example_dataset();
    let mtt = f.connector(|_| {});
    // Usernames compare ignoring case; the account is named as the vendor lists it.
    let alice = mtt
        .read_account(ResourceKind::User, "ALICE", &json!({}))
        .await
        .expect("read")
        .expect("alice is there");
    assert_eq!(alice.name, "alice");
    assert_eq!(
        alice.keys,
        json!({"username": "alice", "synchronizations": {"o365": 1}})
    );
    assert_eq!(
        f.calls(),
        ["GET /api/v0/users", "GET /api/v0/synchronizations"]
    );
    let stored = json!({"username": "alice", "synchronizations": {"o365": 1, "ews": 4}});
    assert_eq!(
        mtt.compare(&stored, &alice),
        ["synchronization ews (id 4) is missing at the vendor"]
    );
    // A user the vendor lacks costs no list of synchronizations.
    assert_eq!(
        mtt.read_account(ResourceKind::User, "dave", &json!({}))
            .await,
        Ok(None)
    );
    assert_eq!(f.calls(), ["GET /api/v0/users"]);
    let group = mtt
        .read_account(ResourceKind::Group, "staff", &json!({}))
        .await;
    assert!(
        matches!(group, Err(ConnectorError::Unsupported(ref reason)) if reason.contains("no groups")),
        "{group:?}"
    );
    f.server.stop().await;
}

/// The default mapping sends exactly the calls the connector always sent: a transcript
/// recorded once in `tests/golden/`.
#[tokio::test]
async fn the_default_mapping_sends_what_it_always_sent() {
    let f = Fixture::start();
    let mtt = f.connector(|s| s.default_sync_types = vec!["o365".into()]);
    let alice = user(json!({
        "userName": "alice@uni.edu",
        "displayName": "Alice Ek", "locale": "nl-NL",
        "emails": [{"value": "a.other@uni.edu"}, {"value": "alice@uni.edu", "primary": true}],
        "roles": [{"value": "student"}]
    }));
    let keys = apply(&mtt, None, Some(&alice), &no_keys())
        .await
        .expect("created");
    let with_syncs = user(json!({
        "userName": "alice@uni.edu",
        "emails": [{"value": "alice@uni.edu"}],
        EXTENSION_URN: {"synchronizations": [{"type": "ews"}, {"type": "googlecalendar"}]}
    }));
    let keys = apply(&mtt, Some(&alice), Some(&with_syncs), &keys)
        .await
        .expect("synchronizations changed");
    let mut inactive = with_syncs.clone();
    inactive.insert("active".into(), json!(false));
    let keys = apply(&mtt, Some(&with_syncs), Some(&inactive), &keys)
        .await
        .expect("deactivated");
    apply(&mtt, Some(&inactive), None, &keys)
        .await
        .expect("deleted");
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/default_mapping.txt");
    vendor_sim::golden::assert_golden(&golden, &f.server.log().transcript());
}

/// The 2019.16+ profile: the user's display name, locale, mail, eppn and roles are written
/// with `PUT /users/{username}` from the mapping, updated when they change, and a delete of
/// a user the vendor no longer has (404 there) is done.
#[tokio::test]
async fn the_2019_profile_carries_the_mapped_attributes() {
    let sim = MyTimetableSim::new(MyTimetableConfig {
        profile: sim::ApiProfile::V2019_16,
        ..MyTimetableConfig::default()
    });
    let server = sim
        .start(SimOptions {
            workers: 2,
            ..SimOptions::default()
        })
        .expect("simulator");
    let f = Fixture { sim, server };
    let mtt = f.connector(|s| {
        s.api_profile = ApiProfile::V2019;
        s.mapping = serde_json::from_value(json!({"user": {
            "username": {"from": "userName", "transform": [{"before": "@"}, "lower"]},
            "roles": {"from": "roles.value", "transform": [{"map": {"student": "ROLE_STUDENT", "staff": "ROLE_EMPLOYEE"}}], "default": "ROLE_MEMBER"}
        }}))
        .expect("mapping");
    });
    let alice = user(json!({
        "userName": "Alice@uni.edu", "displayName": "Alice Ek", "preferredLanguage": "nl-NL",
        "emails": [{"value": "alice@uni.edu", "primary": true}],
        "roles": [{"value": "student"}]
    }));
    let keys = apply(&mtt, None, Some(&alice), &no_keys())
        .await
        .expect("created");
    assert_eq!(keys["username"], "alice");
    let profile = f.sim.user_profile("alice").expect("profile");
    assert_eq!(profile.display_name.as_deref(), Some("Alice Ek"));
    assert_eq!(profile.locale.as_deref(), Some("nl-NL"));
    assert_eq!(profile.roles, ["ROLE_STUDENT"]);
    let attributes: Vec<(String, Vec<String>)> = profile
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.name, a.values))
        .collect();
    assert_eq!(
        attributes,
        [
            (
                connector_mytimetable::mapping::MAIL_ATTRIBUTE.to_owned(),
                vec!["alice@uni.edu".to_owned()]
            ),
            (
                connector_mytimetable::mapping::EPPN_ATTRIBUTE.to_owned(),
                vec!["Alice@uni.edu".to_owned()]
            ),
        ]
    );
    // A profile change is sent; a change MyTimetable holds nothing of is not.
    let mut renamed = alice.clone();
    renamed.insert("displayName".into(), json!("Alice de Ek"));
    f.calls();
    let keys = apply(&mtt, Some(&alice), Some(&renamed), &keys)
        .await
        .expect("updated");
    assert_eq!(f.calls()[0], "PUT /api/v0/users/alice");
    assert_eq!(
        f.sim
            .user_profile("alice")
            .expect("alice")
            .display_name
            .as_deref(),
        Some("Alice de Ek")
    );
    let mut titled = renamed.clone();
    titled.insert("title".into(), json!("Dr"));
    apply(&mtt, Some(&renamed), Some(&titled), &keys)
        .await
        .expect("nothing to send");
    assert!(f.calls().is_empty());
    // Deleted at the vendor already: 404 there is the delete done.
    let raw = reqwest::Client::new()
        .delete(format!("{}/api/v0/users/alice", f.server.base_url()))
        .header("apiToken", DEMO_ADMIN_TOKEN)
        .send()
        .await
        .expect("delete");
    assert_eq!(raw.status(), 204);
    apply(&mtt, Some(&titled), None, &keys)
        .await
        .expect("deleted");
}

/// What `mapping preview` shows is what a real write then sends, on both API profiles.
#[tokio::test]
async fn the_preview_is_what_a_write_sends() {
    for profile in [sim::ApiProfile::V8, sim::ApiProfile::V2019_16] {
        let sim = MyTimetableSim::new(MyTimetableConfig {
            profile,
            ..MyTimetableConfig::default()
        });
        let server = sim.start(SimOptions::default()).expect("simulator");
        let f = Fixture { sim, server };
        let mtt = f.connector(|s| {
            s.default_sync_types = vec!["o365".into(), "googlecalendar".into()];
            if profile == sim::ApiProfile::V2019_16 {
                s.api_profile = ApiProfile::V2019;
            }
        });
        let alice = user(json!({
            "userName": "alice@uni.edu", "displayName": "Alice", "locale": "nl_NL",
            "emails": [{"value": "alice@uni.edu"}], "roles": [{"value": "student"}]
        }));
        let planned = mtt
            .preview(ResourceKind::User, "u1", &alice)
            .expect("preview");
        assert_eq!(planned.len(), 3, "{planned:?}");
        apply(&mtt, None, Some(&alice), &no_keys())
            .await
            .expect("created");
        let sent = f.server.log().all();
        for call in &planned {
            let found = sent.iter().any(|r| {
                call.call == format!("{} {}{}", r.method, f.server.base_url(), r.path)
                    && r.body == call.body
            });
            assert!(found, "{profile:?}: {call:?} was not sent; sent {sent:?}");
        }
    }
}
