//! MyTimetable provisioning API simulator over real sockets (docs/connectors/mytimetable.md "MyTimetable", seeds 000/001).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use vendor_sim::mytimetable::{
    ApiProfile, ApiToken, MyTimetableConfig, MyTimetableSim, SyncDeletion, Synchronization,
    UnlinkMode,
};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

const ADMIN: &str = "admin-token";
const NON_ADMIN: &str = "reader-token";
const FORM: &str = "application/x-www-form-urlencoded";

struct Mtt {
    sim: MyTimetableSim,
    server: SimServer,
    client: reqwest::Client,
}

impl Mtt {
    fn start() -> Self {
        Self::with_config(MyTimetableConfig {
            tokens: vec![ApiToken::admin(ADMIN), ApiToken::non_admin(NON_ADMIN)],
            ..MyTimetableConfig::default()
        })
    }

    fn with_config(config: MyTimetableConfig) -> Self {
        let sim = MyTimetableSim::new(config);
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("start simulator");
        Self {
            sim,
            server,
            client: reqwest::Client::new(),
        }
    }

    /// `$base_url/api/v0{path}`, the seed's URL scheme.
    fn url(&self, path: &str) -> String {
        format!("{}/api/v0{path}", self.server.base_url())
    }

    /// A request carrying the admin token.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("apiToken", ADMIN)
    }

    async fn send(&self, method: Method, path: &str) -> Response {
        self.request(method, path).send().await.expect("send")
    }

    async fn put_form(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        self.request(Method::PUT, path)
            .header("Content-Type", FORM)
            .body(serde_urlencoded::to_string(pairs).expect("encode"))
            .send()
            .await
            .expect("send")
    }

    async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path)
            .header("Content-Type", FORM)
            .body(serde_urlencoded::to_string(pairs).expect("encode"))
            .send()
            .await
            .expect("send")
    }

    async fn json(&self, path: &str) -> Value {
        let res = self.send(Method::GET, path).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/json");
        res.json().await.expect("json body")
    }
}

/// Asserts the status and that the body is empty (204s, auth failures).
async fn assert_empty(res: Response, status: u16) {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.text().await.expect("body"), "");
}

#[actix_web::test]
async fn seed_get_examples_answer_the_seed_bodies() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    assert_eq!(
        mtt.json("/users").await,
        json!({ "users": ["alice", "bob", "carol"] })
    );
    assert_eq!(
        mtt.json("/synchronizations").await,
        json!({ "synchronizations": [
            { "id": 1, "username": "alice", "type": "o365" },
            { "id": 2, "username": "bob", "type": "googlecalendar" }
        ]})
    );
}

#[actix_web::test]
async fn empty_lists_are_empty_arrays() {
    let mtt = Mtt::start();
    assert_eq!(mtt.json("/users").await, json!({ "users": [] }));
    assert_eq!(
        mtt.json("/synchronizations").await,
        json!({ "synchronizations": [] })
    );
}

#[actix_web::test]
async fn put_user_is_an_idempotent_case_insensitive_ensure() {
    let mtt = Mtt::start();
    // Seed example: PUT $base_url/api/v0/users/alice, 204 "success/user already exists".
    assert_empty(mtt.send(Method::PUT, "/users/alice").await, 204).await;
    assert_empty(mtt.send(Method::PUT, "/users/alice").await, 204).await;
    assert_empty(mtt.send(Method::PUT, "/users/ALICE").await, 204).await;
    assert_empty(mtt.send(Method::PUT, "/users/Bob").await, 204).await;
    // docs/connectors/mytimetable.md "Quirks": one user per case-folded name, listed in its first-seen case.
    assert_eq!(
        mtt.json("/users").await,
        json!({ "users": ["alice", "Bob"] })
    );
    assert!(mtt.sim.has_user("BOB"));
}

#[actix_web::test]
async fn usernames_are_one_percent_decoded_path_segment() {
    let mtt = Mtt::start();
    assert_empty(mtt.send(Method::PUT, "/users/alice@example.org").await, 204).await;
    assert_empty(
        mtt.send(Method::PUT, "/users/alice%40example.org").await,
        204,
    )
    .await;
    assert_empty(mtt.send(Method::PUT, "/users/a%2Fb%20c%2Bd").await, 204).await;
    assert_eq!(mtt.sim.users(), ["alice@example.org", "a/b c+d"]);
    assert_empty(mtt.send(Method::DELETE, "/users/A%2FB%20C%2BD").await, 204).await;
    assert_eq!(mtt.sim.users(), ["alice@example.org"]);
}

#[actix_web::test]
async fn delete_user_is_204_whether_or_not_it_exists() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    // Seed example: DELETE $base_url/api/v0/users/alice, 204 "success/user not found".
    assert_empty(mtt.send(Method::DELETE, "/users/alice").await, 204).await;
    assert_eq!(mtt.sim.users(), ["bob", "carol"]);
    assert_empty(mtt.send(Method::DELETE, "/users/alice").await, 204).await;
    assert_empty(mtt.send(Method::DELETE, "/users/nobody").await, 204).await;
    assert_empty(mtt.send(Method::DELETE, "/users/CAROL").await, 204).await;
    assert_eq!(mtt.sim.users(), ["bob"]);
}

#[actix_web::test]
async fn deleting_a_user_unlinks_its_synchronizations() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    let bob_ews = mtt.sim.seed_synchronization("bob", "ews").expect("sync");
    assert_empty(mtt.send(Method::DELETE, "/users/BOB").await, 204).await;

    // docs/connectors/mytimetable.md "Quirks" [O]: the syncs go with the user, as UNLINK_ONLY.
    assert_eq!(
        mtt.json("/synchronizations").await,
        json!({ "synchronizations": [{ "id": 1, "username": "alice", "type": "o365" }] })
    );
    let deletions = mtt.sim.sync_deletions();
    assert_eq!(
        deletions
            .iter()
            .map(|d| (d.synchronization.id, d.mode, d.cascaded))
            .collect::<Vec<_>>(),
        [
            (2, UnlinkMode::UnlinkOnly, true),
            (bob_ews, UnlinkMode::UnlinkOnly, true)
        ]
    );
    let gone = mtt
        .send(Method::DELETE, "/synchronizations/2?unlinkMode=UNLINK_ONLY")
        .await;
    assert_eq!(gone.status(), 422);
}

#[actix_web::test]
async fn put_synchronization_seed_example_creates_without_returning_an_id() {
    let mtt = Mtt::start();
    mtt.sim.seed_user("alice");
    // Seed example body, byte for byte.
    let body = "username=alice&type=ews&provisioning_smtpAddress=alice@example.org";
    let res = mtt
        .request(Method::PUT, "/synchronizations")
        .header("Content-Type", FORM)
        .body(body)
        .send()
        .await
        .expect("send");
    assert!(res.headers().get("location").is_none());
    assert_empty(res, 204).await;

    let stored: Vec<Synchronization> = mtt.sim.synchronizations();
    assert_eq!(
        stored
            .iter()
            .map(|s| (
                s.id,
                s.username.as_str(),
                s.sync_type.as_str(),
                s.smtp_address.as_deref()
            ))
            .collect::<Vec<_>>(),
        [(1, "alice", "ews", Some("alice@example.org"))]
    );
    assert_eq!(
        mtt.json("/synchronizations").await,
        json!({ "synchronizations": [{ "id": 1, "username": "alice", "type": "ews" }] })
    );
    let recorded = &mtt.server.log().matching("PUT", "/api/v0/synchronizations")[0];
    assert_eq!(recorded.body, body);
    assert_eq!(recorded.header("apitoken"), Some("***"));
}

#[actix_web::test]
async fn one_synchronization_per_user_and_type() {
    let mtt = Mtt::start();
    mtt.sim.seed_user("Alice");
    for pairs in [
        [("username", "alice"), ("type", "ews")],
        [("username", "ALICE"), ("type", "EWS")],
        [("username", "alice"), ("type", "o365")],
    ] {
        assert_empty(mtt.put_form("/synchronizations", &pairs).await, 204).await;
    }
    // The owner is shown in its stored case; the repeat changed nothing.
    assert_eq!(
        mtt.json("/synchronizations").await,
        json!({ "synchronizations": [
            { "id": 1, "username": "Alice", "type": "ews" },
            { "id": 2, "username": "Alice", "type": "o365" }
        ]})
    );
    // charset parameters on the content type are fine.
    let res = mtt
        .request(Method::PUT, "/synchronizations")
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("username=alice&type=googlecalendar")
        .send()
        .await
        .expect("send");
    assert_empty(res, 204).await;
    assert_eq!(mtt.sim.synchronizations().len(), 3);
}

#[actix_web::test]
async fn put_synchronization_rejects_bad_input() {
    let mtt = Mtt::start();
    mtt.sim.seed_user("alice");
    // docs/connectors/mytimetable.md "Quirks" [O]: an unknown user is 422, a missing or blank username/type is 400.
    let unknown = mtt
        .put_form(
            "/synchronizations",
            &[("username", "nobody"), ("type", "ews")],
        )
        .await;
    assert_eq!(unknown.status(), 422);
    for pairs in [
        &[("type", "ews")][..],
        &[("username", "alice")][..],
        &[("username", "alice"), ("type", "")][..],
        &[("username", " "), ("type", "ews")][..],
        &[][..],
    ] {
        let res = mtt.put_form("/synchronizations", pairs).await;
        assert_eq!(res.status(), 400, "{pairs:?}");
    }
    // Form-encoded input only: JSON, or parameters in the query string, carry nothing.
    let json_body = mtt
        .request(Method::PUT, "/synchronizations")
        .json(&json!({ "username": "alice", "type": "ews" }))
        .send()
        .await
        .expect("send");
    assert_eq!(json_body.status(), 400);
    let in_query = mtt
        .send(Method::PUT, "/synchronizations?username=alice&type=ews")
        .await;
    assert_eq!(in_query.status(), 400);
    let no_content_type = mtt
        .request(Method::PUT, "/synchronizations")
        .body("username=alice&type=ews")
        .send()
        .await
        .expect("send");
    assert_eq!(no_content_type.status(), 400);
    assert!(mtt.sim.synchronizations().is_empty());
}

#[actix_web::test]
async fn sync_types_can_be_restricted() {
    let mtt = Mtt::with_config(MyTimetableConfig {
        tokens: vec![ApiToken::admin(ADMIN)],
        sync_types: Some(vec!["ews".into(), "o365".into()]),
        ..MyTimetableConfig::default()
    });
    mtt.sim.seed_user("alice");
    let res = mtt
        .put_form(
            "/synchronizations",
            &[("username", "alice"), ("type", "caldav")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = mtt
        .put_form(
            "/synchronizations",
            &[("username", "alice"), ("type", "O365")],
        )
        .await;
    assert_empty(res, 204).await;
}

#[actix_web::test]
async fn delete_synchronization_seed_example_is_422_against_the_seed_dataset() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    // docs/connectors/mytimetable.md "Quirks" [S-ex]: id 3 is not in the GET example's dataset.
    let res = mtt
        .send(Method::DELETE, "/synchronizations/3?unlinkMode=UNLINK_ONLY")
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(mtt.sim.synchronizations().len(), 2);
}

#[actix_web::test]
async fn delete_synchronization_with_each_unlink_mode() {
    let mtt = Mtt::start();
    for user in ["u1", "u2", "u3", "u4"] {
        mtt.sim.seed_user(user);
        mtt.sim.seed_synchronization(user, "ews").expect("sync");
    }
    let modes = [
        ("UNLINK_ONLY", UnlinkMode::UnlinkOnly),
        ("DELETE_FUTURE_EVENTS", UnlinkMode::DeleteFutureEvents),
        ("DELETE_ALL_EVENTS", UnlinkMode::DeleteAllEvents),
        ("CLEANUP", UnlinkMode::Cleanup),
    ];
    for (id, (raw, _)) in (1..).zip(modes) {
        let res = mtt
            .send(
                Method::DELETE,
                &format!("/synchronizations/{id}?unlinkMode={raw}"),
            )
            .await;
        assert_empty(res, 204).await;
    }
    assert!(mtt.sim.synchronizations().is_empty());
    let recorded: Vec<(u64, UnlinkMode, bool)> = mtt
        .sim
        .sync_deletions()
        .iter()
        .map(|d: &SyncDeletion| (d.synchronization.id, d.mode, d.cascaded))
        .collect();
    assert_eq!(
        recorded,
        (1..)
            .zip(modes)
            .map(|(id, (_, mode))| (id, mode, false))
            .collect::<Vec<_>>()
    );
    // Deleting again: not found is 422, not 404.
    let res = mtt
        .send(Method::DELETE, "/synchronizations/1?unlinkMode=CLEANUP")
        .await;
    assert_eq!(res.status(), 422);
}

#[actix_web::test]
async fn unlink_mode_may_travel_in_a_form_body() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    let res = mtt
        .request(Method::DELETE, "/synchronizations/2")
        .header("Content-Type", FORM)
        .body("unlinkMode=DELETE_FUTURE_EVENTS")
        .send()
        .await
        .expect("send");
    assert_empty(res, 204).await;
    assert_eq!(
        mtt.sim.sync_deletions()[0].mode,
        UnlinkMode::DeleteFutureEvents
    );
}

#[actix_web::test]
async fn delete_synchronization_rejects_a_missing_or_invalid_unlink_mode() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    // The seed's example URL has no unlinkMode at all: 400 (docs/connectors/mytimetable.md "Quirks" [O]), checked before
    // the id is looked up.
    for path in [
        "/synchronizations/1",
        "/synchronizations/3",
        "/synchronizations/1?unlinkMode=",
        "/synchronizations/1?unlinkMode=unlink_only",
        "/synchronizations/1?unlinkMode=DELETE",
        "/synchronizations/1?unlinkmode=UNLINK_ONLY",
        "/synchronizations/one?unlinkMode=UNLINK_ONLY",
        "/synchronizations/-1?unlinkMode=UNLINK_ONLY",
    ] {
        let res = mtt.send(Method::DELETE, path).await;
        assert_eq!(res.status(), 400, "{path}");
    }
    assert_eq!(mtt.sim.synchronizations().len(), 2);
    assert!(mtt.sim.sync_deletions().is_empty());
}

/// One request per endpoint, each of which would change or read state.
fn every_endpoint() -> Vec<(Method, &'static str)> {
    vec![
        (Method::GET, "/users"),
        (Method::PUT, "/users/mallory"),
        (Method::DELETE, "/users/alice"),
        (Method::GET, "/synchronizations"),
        (Method::PUT, "/synchronizations"),
        (Method::DELETE, "/synchronizations/1?unlinkMode=CLEANUP"),
    ]
}

#[actix_web::test]
async fn missing_or_unknown_token_is_401_and_non_admin_is_403() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    for (method, path) in every_endpoint() {
        let url = mtt.url(path);
        let form = "username=alice&type=ews";
        let base = || {
            mtt.client
                .request(method.clone(), &url)
                .header("Content-Type", FORM)
                .body(form)
        };
        let missing = base().send().await.expect("send");
        assert_empty(missing, 401).await;
        let unknown = base()
            .header("apiToken", "guess")
            .send()
            .await
            .expect("send");
        assert_empty(unknown, 401).await;
        let empty = base().header("apiToken", "").send().await.expect("send");
        assert_empty(empty, 401).await;
        let wrong_case = base()
            .header("apiToken", ADMIN.to_uppercase())
            .send()
            .await
            .expect("send");
        assert_empty(wrong_case, 401).await;
        let non_admin = base()
            .header("apiToken", NON_ADMIN)
            .send()
            .await
            .expect("send");
        assert_empty(non_admin, 403).await;
    }
    // Nothing changed, and the tokens were masked in the log.
    assert_eq!(mtt.sim.users(), ["alice", "bob", "carol"]);
    assert_eq!(mtt.sim.synchronizations().len(), 2);
    assert!(
        mtt.server
            .log()
            .all()
            .iter()
            .all(|r| r.header("apitoken").is_none_or(|v| v == "***"))
    );
}

#[actix_web::test]
async fn default_config_accepts_the_demo_token_only() {
    let mtt = Mtt::with_config(MyTimetableConfig::default());
    let ok = mtt
        .client
        .get(mtt.url("/users"))
        .header("apiToken", vendor_sim::mytimetable::DEMO_ADMIN_TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status(), 200);
    assert_empty(mtt.send(Method::GET, "/users").await, 401).await;
}

#[actix_web::test]
async fn faults_apply_to_the_routes() {
    let mtt = Mtt::start();
    mtt.server.faults().push(
        FaultRule::always(RouteMatch::new("PUT", "/api/v0/users"), Fault::Status(503)).times(1),
    );
    let res = mtt.send(Method::PUT, "/users/alice").await;
    assert_eq!(res.status(), 503);
    assert!(
        !mtt.sim.has_user("alice"),
        "a faulted request must not reach the state"
    );
    assert_empty(mtt.send(Method::PUT, "/users/alice").await, 204).await;

    mtt.server.faults().push(
        FaultRule::always(
            RouteMatch::path("/api/v0/synchronizations"),
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        )
        .times(1),
    );
    let res = mtt.send(Method::GET, "/synchronizations").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(
        mtt.send(Method::GET, "/synchronizations").await.status(),
        200
    );
}

#[actix_web::test]
async fn concurrent_clients_leave_a_consistent_state() {
    let mtt = Mtt::start();
    let clients = (0..32).map(|i| {
        let mtt = &mtt;
        async move {
            let user = format!("user{i}");
            let upper = user.to_uppercase();
            assert_empty(mtt.send(Method::PUT, &format!("/users/{user}")).await, 204).await;
            assert_empty(mtt.send(Method::PUT, &format!("/users/{upper}")).await, 204).await;
            for sync_type in ["ews", "EWS", "o365"] {
                let pairs = [("username", upper.as_str()), ("type", sync_type)];
                assert_empty(mtt.put_form("/synchronizations", &pairs).await, 204).await;
            }
            if i % 2 == 1 {
                assert_empty(
                    mtt.send(Method::DELETE, &format!("/users/{user}")).await,
                    204,
                )
                .await;
            }
        }
    });
    futures_util::future::join_all(clients).await;

    let mut users = mtt.sim.users();
    users.sort();
    let mut expected: Vec<String> = (0..32).step_by(2).map(|i| format!("user{i}")).collect();
    expected.sort();
    assert_eq!(users, expected);

    let syncs = mtt.sim.synchronizations();
    assert_eq!(syncs.len(), 32);
    assert!(syncs.iter().all(|s| expected.contains(&s.username)));
    // 64 distinct (user, type) pairs were created: ids 1..=64, each used once.
    let mut ids: Vec<u64> = syncs.iter().map(|s| s.id).collect();
    ids.extend(
        mtt.sim
            .sync_deletions()
            .iter()
            .map(|d| d.synchronization.id),
    );
    ids.sort_unstable();
    assert_eq!(ids, (1..=64).collect::<Vec<_>>());
}

#[actix_web::test]
async fn v8_has_none_of_the_later_routes() {
    let mtt = Mtt::start();
    mtt.sim.seed_example_dataset();
    let attempts = [
        (Method::GET, "/users/alice"),
        (Method::POST, "/users"),
        (Method::GET, "/users/alice/synchronizations"),
        (
            Method::DELETE,
            "/users/alice/synchronizations?unlinkMode=CLEANUP",
        ),
        (
            Method::DELETE,
            "/users/alice/synchronizations/o365?unlinkMode=CLEANUP",
        ),
    ];
    for (method, path) in attempts {
        let status = mtt.send(method.clone(), path).await.status();
        assert!(
            matches!(status.as_u16(), 404 | 405),
            "{method} {path}: {status}"
        );
    }
    // A body on PUT /users/{u} is ignored: still the 204 ensure.
    let res = mtt
        .put_form("/users/dave", &[("displayName", "Dave")])
        .await;
    assert_empty(res, 204).await;
    assert_eq!(
        mtt.sim.user_profile("dave").and_then(|p| p.display_name),
        None
    );
    assert_eq!(mtt.sim.synchronizations().len(), 2);
}

fn later() -> Mtt {
    Mtt::with_config(MyTimetableConfig {
        tokens: vec![ApiToken::admin(ADMIN), ApiToken::non_admin(NON_ADMIN)],
        profile: ApiProfile::V2019_16,
        ..MyTimetableConfig::default()
    })
}

#[actix_web::test]
async fn profile_2019_creates_reads_and_updates_user_profiles() {
    let mtt = later();
    let mail = "urn:mace:dir:attribute-def:mail";
    let res = mtt
        .request(Method::POST, "/users")
        .header("Content-Type", FORM)
        .body(format!(
            "username=alice%40example.org&displayName=Alice&locale=en&attributes={mail}%3Dalice%40example.org\
             &attributes={mail}%3Da%40example.org&roles=ROLE_MEMBER&roles=ROLE_STUDENT"
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    let alice = json!({
        "username": "alice@example.org", "displayName": "Alice", "locale": "en",
        "attributes": [{ "name": mail, "values": ["alice@example.org", "a@example.org"] }],
        "roles": ["ROLE_MEMBER", "ROLE_STUDENT"]
    });
    assert_eq!(res.json::<Value>().await.expect("json"), alice);
    assert_eq!(mtt.json("/users/ALICE@example.org").await, alice);

    // POST for an existing user (any case) is 409; invalid input is 400.
    let again = mtt
        .post_form("/users", &[("username", "Alice@Example.org")])
        .await;
    assert_eq!(again.status(), 409);
    for pairs in [
        &[("displayName", "No Name")][..],
        &[("username", "bob"), ("roles", "MEMBER")][..],
        &[("username", "bob"), ("locale", "english!")][..],
        &[("username", "bob"), ("attributes", "novalue")][..],
        &[("username", "bob"), ("displayName", " ")][..],
    ] {
        assert_eq!(
            mtt.post_form("/users", pairs).await.status(),
            400,
            "{pairs:?}"
        );
    }
    assert!(!mtt.sim.has_user("bob"));

    // PUT with a body: 201 created, 200 updated (absent fields unchanged), 400 invalid.
    let res = mtt.put_form("/users/bob", &[("displayName", "Bob")]).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({ "username": "bob", "displayName": "Bob", "locale": null, "attributes": null, "roles": [] })
    );
    let res = mtt
        .put_form(
            "/users/BOB",
            &[("locale", "nl_NL"), ("roles", "ROLE_STAFF")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({ "username": "bob", "displayName": "Bob", "locale": "nl_NL", "attributes": null, "roles": ["ROLE_STAFF"] })
    );
    assert_eq!(
        mtt.put_form("/users/bob", &[("roles", "staff")])
            .await
            .status(),
        400
    );
    assert_eq!(
        mtt.put_form("/users/bob", &[("username", "carol")])
            .await
            .status(),
        400
    );
    let json_body = mtt
        .request(Method::PUT, "/users/bob")
        .json(&json!({ "displayName": "B" }))
        .send()
        .await
        .expect("send");
    assert_eq!(json_body.status(), 400);
    // Without a body PUT stays the 204 ensure.
    assert_empty(mtt.send(Method::PUT, "/users/bob").await, 204).await;
    assert_empty(mtt.send(Method::PUT, "/users/carol").await, 204).await;
    assert_eq!(
        mtt.json("/users/carol").await,
        json!({ "username": "carol", "displayName": null, "locale": null, "attributes": null, "roles": [] })
    );
    assert_eq!(mtt.send(Method::GET, "/users/nobody").await.status(), 404);
}

#[actix_web::test]
async fn profile_2019_delete_of_an_unknown_user_is_404() {
    let mtt = later();
    mtt.sim.seed_user("alice");
    assert_empty(mtt.send(Method::DELETE, "/users/ALICE").await, 204).await;
    assert_eq!(mtt.send(Method::DELETE, "/users/alice").await.status(), 404);
}

#[actix_web::test]
async fn profile_2019_per_user_synchronizations() {
    let mtt = later();
    mtt.sim.seed_example_dataset();
    let bob_ews = mtt.sim.seed_synchronization("bob", "ews").expect("sync");
    let carol_ews = mtt.sim.seed_synchronization("carol", "ews").expect("sync");
    let listed = mtt.json("/users/BOB/synchronizations").await;
    let syncs = listed["synchronizations"].as_array().expect("array");
    assert_eq!(syncs.len(), 2);
    assert_eq!(
        (
            &syncs[0]["id"],
            &syncs[0]["type"],
            &syncs[0]["username"],
            &syncs[0]["status"],
            &syncs[0]["enabled"]
        ),
        (
            &json!(2),
            &json!("googlecalendar"),
            &json!("bob"),
            &json!("OK"),
            &json!(true)
        )
    );
    assert!(
        syncs[1]["lastResync"]
            .as_u64()
            .is_some_and(|ms| ms > 1_600_000_000_000)
    );
    assert_eq!(
        mtt.send(Method::GET, "/users/nobody/synchronizations")
            .await
            .status(),
        404
    );

    // By type: unlinkMode required (400), unknown type 422, unknown user 404.
    let path = "/users/bob/synchronizations/EWS";
    assert_eq!(mtt.send(Method::DELETE, path).await.status(), 400);
    let res = mtt
        .send(
            Method::DELETE,
            &format!("{path}?unlinkMode=DELETE_ALL_EVENTS"),
        )
        .await;
    assert_empty(res, 204).await;
    let res = mtt
        .send(
            Method::DELETE,
            &format!("{path}?unlinkMode=DELETE_ALL_EVENTS"),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = mtt
        .send(
            Method::DELETE,
            "/users/nobody/synchronizations/ews?unlinkMode=CLEANUP",
        )
        .await;
    assert_eq!(res.status(), 404);

    // All of a user's syncs.
    assert_eq!(
        mtt.send(Method::DELETE, "/users/carol/synchronizations")
            .await
            .status(),
        400
    );
    let res = mtt
        .send(
            Method::DELETE,
            "/users/carol/synchronizations?unlinkMode=CLEANUP",
        )
        .await;
    assert_empty(res, 204).await;
    let res = mtt
        .send(
            Method::DELETE,
            "/users/nobody/synchronizations?unlinkMode=CLEANUP",
        )
        .await;
    assert_eq!(res.status(), 404);

    let deleted: Vec<(u64, UnlinkMode)> = mtt
        .sim
        .sync_deletions()
        .iter()
        .map(|d| (d.synchronization.id, d.mode))
        .collect();
    assert_eq!(
        deleted,
        [
            (bob_ews, UnlinkMode::DeleteAllEvents),
            (carol_ews, UnlinkMode::Cleanup)
        ]
    );
    let remaining: Vec<u64> = mtt.sim.synchronizations().iter().map(|s| s.id).collect();
    assert_eq!(remaining, [1, 2]);
}

#[actix_web::test]
async fn profile_2019_routes_need_an_admin_token() {
    let mtt = later();
    mtt.sim.seed_example_dataset();
    for (method, path) in [
        (Method::GET, "/users/alice"),
        (Method::POST, "/users"),
        (Method::GET, "/users/alice/synchronizations"),
        (
            Method::DELETE,
            "/users/alice/synchronizations?unlinkMode=CLEANUP",
        ),
        (
            Method::DELETE,
            "/users/alice/synchronizations/o365?unlinkMode=CLEANUP",
        ),
    ] {
        let url = mtt.url(path);
        let missing = mtt
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .expect("send");
        assert_empty(missing, 401).await;
        let non_admin = mtt
            .client
            .request(method.clone(), &url)
            .header("apiToken", NON_ADMIN)
            .send()
            .await
            .expect("send");
        assert_empty(non_admin, 403).await;
    }
    assert_eq!(mtt.sim.synchronizations().len(), 2);
}

#[test]
fn profiles_parse_from_their_config_values() {
    assert_eq!("v8".parse(), Ok(ApiProfile::V8));
    assert_eq!("2019.16+".parse(), Ok(ApiProfile::V2019_16));
    assert!("v9".parse::<ApiProfile>().is_err());
    assert_eq!(MyTimetableConfig::default().profile, ApiProfile::V8);
}
