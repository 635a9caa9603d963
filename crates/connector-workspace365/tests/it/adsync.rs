//! The `workspace365-adsync` connector against the Workspace 365 environment simulator over
//! real sockets: users, pictures, groups with user and nested members in both path forms,
//! minimal membership calls, replays, and faults. The simulator's state and request log prove
//! what was sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use connector::{Connector, ConnectorError, KeyLookup, ResourceChange, Secret};
use connector_workspace365::adsync::{
    AdSyncSettings, GROUP_EXTENSION_URN, NestedGroupPath, ObjectIdSource, USER_EXTENSION_URN,
    Workspace365AdSync,
};
use scim::ResourceKind;
use scim::members::delta_of_whole;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use vendor_sim::workspace365_env::{Workspace365EnvConfig, Workspace365EnvSim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

const ENV: &str = "contoso";
const TOKEN: &str = "4613e4c6-aa59-45d0-88c9-c99feddf3959";
const BASE: &str = "/contoso/ActiveDirectorySyncAPI";

const ALICE: &str = "a1111111-1111-4111-8111-111111111111";
const BOB: &str = "b2222222-2222-4222-8222-222222222222";
const CAROL: &str = "c3333333-3333-4333-8333-333333333333";
const STAFF: &str = "d4444444-4444-4444-8444-444444444444";
const FINANCE: &str = "e5555555-5555-4555-8555-555555555555";

/// A tiny PNG signature plus filler: what the vendor's type check needs.
fn png(filler: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(std::iter::repeat_n(filler, 32));
    bytes
}

fn data_uri(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", STANDARD.encode(bytes))
}

fn guid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("guid")
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

fn person(upn: &str, given: &str, family: &str) -> Map<String, Value> {
    object(json!({
        "userName": upn,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": upn, "type": "work", "primary": true}],
    }))
}

fn group(name: &str, members: Value) -> Map<String, Value> {
    object(json!({"displayName": name, "members": members}))
}

/// The store's vendor keys, as the gateway's [`KeyLookup`] would answer them.
#[derive(Debug, Clone, Default)]
struct Keys(Arc<Mutex<HashMap<(ResourceKind, String), Value>>>);

impl Keys {
    fn get(&self, kind: ResourceKind, id: &str) -> Option<Value> {
        self.0
            .lock()
            .expect("keys")
            .get(&(kind, id.to_owned()))
            .cloned()
    }

    fn set(&self, kind: ResourceKind, id: &str, keys: Option<Value>) {
        let mut map = self.0.lock().expect("keys");
        match keys {
            Some(k) => map.insert((kind, id.to_owned()), k),
            None => map.remove(&(kind, id.to_owned())),
        };
    }
}

#[async_trait]
impl KeyLookup for Keys {
    async fn vendor_keys(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        Ok(self.get(kind, id))
    }
}

struct Fixture {
    sim: Workspace365EnvSim,
    server: SimServer,
    keys: Keys,
}

impl Fixture {
    fn start() -> Fixture {
        let sim = Workspace365EnvSim::new(Workspace365EnvConfig::single(ENV, TOKEN, "api-key"));
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("simulator");
        Fixture {
            sim,
            server,
            keys: Keys::default(),
        }
    }

    fn connector(&self, edit: impl FnOnce(&mut AdSyncSettings)) -> Workspace365AdSync {
        let mut settings = AdSyncSettings::new(self.server.base_url(), ENV, TOKEN);
        settings.http.initial_backoff_ms = 10;
        settings.http.max_backoff_ms = 40;
        settings.http.timeout_secs = 2;
        edit(&mut settings);
        Workspace365AdSync::new(&connector::Context::named("workspace365-adsync"), settings)
            .expect("connector")
    }

    /// Checks and applies a change with the keys the store holds, and keeps what it returns
    /// (as the gateway does).
    async fn apply(
        &self,
        connector: &Workspace365AdSync,
        kind: ResourceKind,
        id: &str,
        before: Option<&Map<String, Value>>,
        after: Option<&Map<String, Value>>,
    ) -> Result<Value, ConnectorError> {
        let keys = self.keys.get(kind, id).unwrap_or_else(|| json!({}));
        let out = apply_with(connector, kind, id, before, after, &keys, &self.keys).await?;
        self.keys
            .set(kind, id, after.is_some().then(|| out.clone()));
        Ok(out)
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

/// One change with explicit vendor keys (a replay passes the keys of the first attempt).
async fn apply_with(
    connector: &Workspace365AdSync,
    kind: ResourceKind,
    id: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    keys: &Value,
    lookup: &dyn KeyLookup,
) -> Result<Value, ConnectorError> {
    // As the gateway sends a Group change: the members apart, as a delta.
    let (mut before, mut after) = (before.cloned(), after.cloned());
    let members = delta_of_whole(before.as_mut(), after.as_mut());
    let (before, after) = (before.as_ref(), after.as_ref());
    let change = ResourceChange {
        kind,
        members: &members,
        id,
        before,
        after,
        vendor_keys: keys,
        request_id: Some("req-1"),
        lookup,
    };
    connector.check(&change)?;
    connector.apply(change).await
}

#[tokio::test]
async fn users_are_upserted_by_object_id_with_every_field_and_deleted() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let alice = object(json!({
        "userName": "alice@contoso.onmicrosoft.com",
        "name": {"givenName": "Alice", "familyName": "de Vries"},
        "emails": [
            {"value": "alice@contoso.com", "type": "work", "primary": true},
            {"value": "alice.private@example.com", "type": "other"}
        ],
        "title": "Controller",
        "phoneNumbers": [{"value": "+31 6 12345678", "type": "mobile"}],
        USER_EXTENSION_URN: {"isAdmin": true},
    }));
    let keys = f
        .apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("created");
    assert_eq!(keys, json!({"objectId": ALICE}));
    let user = f.sim.user(ENV, guid(ALICE)).expect("in Workspace");
    assert_eq!(
        (
            user.first_name.as_str(),
            user.last_name.as_str(),
            user.user_principal_name.as_str()
        ),
        ("Alice", "de Vries", "alice@contoso.onmicrosoft.com")
    );
    assert_eq!(user.email.as_deref(), Some("alice@contoso.com"));
    assert_eq!(
        user.secondary_email.as_deref(),
        Some("alice.private@example.com")
    );
    assert!(user.is_admin && user.is_active && !user.deleted);
    assert_eq!(user.job_title.as_deref(), Some("Controller"));
    assert_eq!(user.mobile_phone.as_deref(), Some("+31 6 12345678"));
    let sent = f.server.log().last().expect("a request");
    assert_eq!(sent.method, "PUT");
    assert_eq!(sent.path, format!("{BASE}/Users/{ALICE}/"));
    assert_eq!(sent.header("authorization"), Some("Basic ***"));
    let body: Value = serde_json::from_str(&sent.body).expect("json");
    assert_eq!(body["IsAdmin"], json!(true), "real booleans");
    assert_eq!(body["IsActive"], json!(true));

    // Replace: the title goes, the admin flag comes from roles now, the user is disabled.
    let mut changed = alice.clone();
    changed.remove("title");
    changed.remove(USER_EXTENSION_URN);
    changed.insert("active".into(), json!(false));
    f.apply(&w, ResourceKind::User, ALICE, Some(&alice), Some(&changed))
        .await
        .expect("replaced");
    let user = f.sim.user(ENV, guid(ALICE)).expect("still there");
    assert_eq!(user.job_title, None);
    assert!(!user.is_admin && !user.is_active);

    // Delete: A2 (soft at the vendor); a replay of the delete is harmless.
    f.calls();
    f.apply(&w, ResourceKind::User, ALICE, Some(&changed), None)
        .await
        .expect("deleted");
    assert!(f.sim.user(ENV, guid(ALICE)).expect("soft").deleted);
    apply_with(
        &w,
        ResourceKind::User,
        ALICE,
        Some(&changed),
        None,
        &keys,
        &f.keys,
    )
    .await
    .expect("replayed delete");
    assert_eq!(
        f.calls(),
        [
            format!("DELETE {BASE}/Users/{ALICE}/"),
            format!("DELETE {BASE}/Users/{ALICE}/")
        ]
    );
    f.server.stop().await;
}

#[tokio::test]
async fn check_refuses_what_workspace_cannot_take_before_any_call() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let nameless = object(json!({"userName": "n@contoso.com", "name": {"givenName": "N"}}));
    let e = f
        .apply(&w, ResourceKind::User, ALICE, None, Some(&nameless))
        .await
        .expect_err("no last name");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("familyName")),
        "{e}"
    );
    let bob = person("bob@contoso.com", "Bob", "Baker");
    let e = f
        .apply(&w, ResourceKind::User, "bob", None, Some(&bob))
        .await
        .expect_err("not a GUID");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("not a GUID")),
        "{e}"
    );
    let unnamed = group("", json!([]));
    assert!(
        f.apply(&w, ResourceKind::Group, STAFF, None, Some(&unnamed))
            .await
            .is_err()
    );
    assert!(f.server.log().is_empty(), "nothing reached the vendor");
    f.server.stop().await;
}

#[tokio::test]
async fn external_id_mode_takes_a_guid_external_id_and_keeps_it() {
    let f = Fixture::start();
    let w = f.connector(|s| s.object_id = ObjectIdSource::ExternalId);
    let entra = "0f0f0f0f-1234-4abc-9def-0123456789ab";
    let mut bob = person("bob@contoso.com", "Bob", "Baker");
    bob.insert("externalId".into(), json!(entra.to_uppercase()));
    // The SCIM id is not a GUID in this mode's world, and need not be.
    let keys = f
        .apply(&w, ResourceKind::User, "scim-bob", None, Some(&bob))
        .await
        .expect("created");
    assert_eq!(keys, json!({"objectId": entra}));
    assert!(f.sim.user(ENV, guid(entra)).is_some());

    let mut okta = bob.clone();
    okta.insert("externalId".into(), json!("00u1abcdEFGH"));
    let e = f
        .apply(&w, ResourceKind::User, "scim-carol", None, Some(&okta))
        .await
        .expect_err("not a GUID");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("00u1abcdEFGH") && reason.contains("externalId")),
        "{e}"
    );
    let mut moved = bob.clone();
    moved.insert("externalId".into(), json!(CAROL));
    let e = f
        .apply(&w, ResourceKind::User, "scim-bob", Some(&bob), Some(&moved))
        .await
        .expect_err("the ObjectId is fixed");
    assert!(matches!(e, ConnectorError::Immutable { .. }), "{e}");
    f.server.stop().await;
}

#[tokio::test]
async fn a_data_uri_picture_is_uploaded_once_and_deleted_when_removed() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut alice = person("alice@contoso.com", "Alice", "Adams");
    alice.insert(
        "photos".into(),
        json!([{"value": data_uri(&png(1)), "type": "photo", "primary": true}]),
    );
    let keys = f
        .apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("created");
    let picture = f.sim.picture(ENV, guid(ALICE)).expect("uploaded");
    assert_eq!(picture.bytes, png(1));
    assert_eq!(picture.content_type, "image/png");
    assert_eq!(picture.field_name, "file");
    assert_eq!(
        keys["pictureSha256"].as_str().map(str::len),
        Some(64),
        "{keys}"
    );
    assert_eq!(
        f.calls(),
        [
            format!("PUT {BASE}/Users/{ALICE}/"),
            format!("PUT {BASE}/Users/{ALICE}/ProfilePicture")
        ]
    );

    // Another attribute changes, the picture does not: no upload.
    let mut titled = alice.clone();
    titled.insert("title".into(), json!("Auditor"));
    f.apply(&w, ResourceKind::User, ALICE, Some(&alice), Some(&titled))
        .await
        .expect("updated");
    assert_eq!(f.calls(), [format!("PUT {BASE}/Users/{ALICE}/")]);

    // A new picture is uploaded.
    let mut repictured = titled.clone();
    repictured.insert(
        "photos".into(),
        json!([{"value": data_uri(&png(2)), "type": "photo"}]),
    );
    f.apply(
        &w,
        ResourceKind::User,
        ALICE,
        Some(&titled),
        Some(&repictured),
    )
    .await
    .expect("new picture");
    assert_eq!(
        f.sim.picture(ENV, guid(ALICE)).expect("there").bytes,
        png(2)
    );
    assert_eq!(f.calls().len(), 2);

    // The photo goes: A10, and the keys forget the hash.
    let mut unpictured = titled.clone();
    unpictured.remove("photos");
    let keys = f
        .apply(
            &w,
            ResourceKind::User,
            ALICE,
            Some(&repictured),
            Some(&unpictured),
        )
        .await
        .expect("photo removed");
    assert_eq!(keys, json!({"objectId": ALICE}));
    assert_eq!(f.sim.picture(ENV, guid(ALICE)), None);
    assert_eq!(
        f.calls(),
        [
            format!("PUT {BASE}/Users/{ALICE}/"),
            format!("DELETE {BASE}/Users/{ALICE}/ProfilePicture")
        ]
    );

    // Too large for the configured cap: refused in check, nothing sent.
    let small = f.connector(|s| s.max_picture_bytes = 16);
    let e = f
        .apply(
            &small,
            ResourceKind::User,
            ALICE,
            Some(&unpictured),
            Some(&alice),
        )
        .await
        .expect_err("too large");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("max_picture_bytes")),
        "{e}"
    );
    assert!(f.calls().is_empty());
    f.server.stop().await;
}

/// A plain-HTTP picture host for tests: `/a.png` and `/b.png` are pictures, `/away` redirects
/// to another host name, `/big` is larger than any test cap. Counts the requests it gets.
struct PictureHost {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl PictureHost {
    async fn start() -> PictureHost {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (head, body) = match path.as_str() {
                        "/a.png" => ("200 OK\r\nContent-Type: image/png".to_owned(), png(7)),
                        "/b.png" => ("200 OK\r\nContent-Type: image/png".to_owned(), png(8)),
                        "/big" => (
                            "200 OK\r\nContent-Type: image/png".to_owned(),
                            png(9).repeat(100),
                        ),
                        "/away" => (
                            format!("302 Found\r\nLocation: http://localhost:{port}/a.png"),
                            Vec::new(),
                        ),
                        _ => ("404 Not Found".to_owned(), Vec::new()),
                    };
                    let mut response = format!(
                        "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    response.extend_from_slice(&body);
                    let _ = socket.write_all(&response).await;
                });
            }
        });
        PictureHost { port, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn with_photo(user: &Map<String, Value>, url: &str) -> Map<String, Value> {
    let mut user = user.clone();
    user.insert("photos".into(), json!([{"value": url, "type": "photo"}]));
    user
}

#[tokio::test]
async fn pictures_are_fetched_only_from_allowed_hosts() {
    // https is what production allows; the test host speaks plain http, which only
    // `allow_http_for_tests` admits (the https-only rule is unit-tested in picture.rs).
    let f = Fixture::start();
    let host = PictureHost::start().await;
    let w = f.connector(|s| {
        s.allowed_picture_hosts = vec!["127.0.0.1".into()];
        s.allow_http_for_tests = true;
        s.max_picture_bytes = 1024;
    });
    let bob = person("bob@contoso.com", "Bob", "Baker");
    let bob_a = with_photo(&bob, &host.url("/a.png"));
    f.apply(&w, ResourceKind::User, BOB, None, Some(&bob_a))
        .await
        .expect("fetched and uploaded");
    assert_eq!(
        f.sim.picture(ENV, guid(BOB)).expect("uploaded").bytes,
        png(7)
    );
    assert_eq!(host.hits(), 1);
    f.calls();

    // The same URL again: fetched (the content may have changed) but not re-uploaded.
    let mut bob_a2 = bob_a.clone();
    bob_a2.insert("title".into(), json!("Clerk"));
    f.apply(&w, ResourceKind::User, BOB, Some(&bob_a), Some(&bob_a2))
        .await
        .expect("unchanged picture");
    assert_eq!(host.hits(), 2);
    assert_eq!(f.calls(), [format!("PUT {BASE}/Users/{BOB}/")]);

    // A redirect to a host name not on the list is not followed.
    let away = with_photo(&bob, &host.url("/away"));
    let e = f
        .apply(&w, ResourceKind::User, BOB, Some(&bob_a2), Some(&away))
        .await
        .expect_err("redirect refused");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("localhost")),
        "{e}"
    );
    assert_eq!(host.hits(), 3, "the redirect target was never requested");

    // Larger than the cap.
    let big = with_photo(&bob, &host.url("/big"));
    let e = f
        .apply(&w, ResourceKind::User, BOB, Some(&bob_a2), Some(&big))
        .await
        .expect_err("too large");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("max_picture_bytes")),
        "{e}"
    );

    // Another host, or any URL when no host is listed: refused in check, nothing requested.
    f.calls();
    let hits = host.hits();
    let elsewhere = with_photo(&bob, &format!("http://localhost:{}/a.png", host.port));
    assert!(
        f.apply(&w, ResourceKind::User, BOB, Some(&bob_a2), Some(&elsewhere))
            .await
            .is_err()
    );
    let data_only = f.connector(|s| s.allow_http_for_tests = true);
    let e = f
        .apply(
            &data_only,
            ResourceKind::User,
            BOB,
            Some(&bob_a2),
            Some(&bob_a),
        )
        .await
        .expect_err("no hosts allowed");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("only data: URIs")),
        "{e}"
    );
    let https_only = f.connector(|s| s.allowed_picture_hosts = vec!["127.0.0.1".into()]);
    assert!(
        f.apply(
            &https_only,
            ResourceKind::User,
            BOB,
            Some(&bob_a2),
            Some(&bob_a)
        )
        .await
        .is_err(),
        "plain http is refused without allow_http_for_tests"
    );
    assert_eq!(host.hits(), hits);
    assert!(f.calls().is_empty());
    f.server.stop().await;
}

/// Alice and Bob as users, then Finance (with Bob) and Staff (with Alice and Finance).
async fn users_and_groups(f: &Fixture, w: &Workspace365AdSync) {
    for (id, upn, given) in [
        (ALICE, "alice@contoso.com", "Alice"),
        (BOB, "bob@contoso.com", "Bob"),
        (CAROL, "carol@contoso.com", "Carol"),
    ] {
        f.apply(
            w,
            ResourceKind::User,
            id,
            None,
            Some(&person(upn, given, "X")),
        )
        .await
        .expect("user");
    }
    let finance = object(json!({
        "displayName": "Finance",
        "members": [{"value": BOB, "type": "User"}],
        GROUP_EXTENSION_URN: {"description": "Everyone from Finance"},
    }));
    f.apply(w, ResourceKind::Group, FINANCE, None, Some(&finance))
        .await
        .expect("finance");
    // Members without a type: found by lookup.
    let staff = group("Staff", json!([{"value": ALICE}, {"value": FINANCE}]));
    f.apply(w, ResourceKind::Group, STAFF, None, Some(&staff))
        .await
        .expect("staff");
}

#[tokio::test]
async fn groups_with_user_and_nested_members_in_the_seed_path_form() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    users_and_groups(&f, &w).await;
    let calls = f.calls();
    assert_eq!(
        &calls[3..],
        [
            format!("PUT {BASE}/Groups/{FINANCE}/"),
            format!("PUT {BASE}/Groups/{FINANCE}/Users/{BOB}/"),
            format!("PUT {BASE}/Groups/{STAFF}/"),
            format!("PUT {BASE}/Groups/{STAFF}/Users/{ALICE}/"),
            format!("PUT {BASE}/{STAFF}/Groups/{FINANCE}/"),
        ]
    );
    let finance = f.sim.group(ENV, guid(FINANCE)).expect("group");
    assert_eq!(finance.name, "Finance");
    assert_eq!(
        finance.description.as_deref(),
        Some("Everyone from Finance")
    );
    assert_eq!(f.sim.group_memberships(ENV), [(guid(STAFF), guid(FINANCE))]);
    let mut everyone = f.sim.effective_members(ENV, guid(STAFF));
    everyone.sort();
    assert_eq!(everyone, [guid(ALICE), guid(BOB)]);
    assert_eq!(
        f.keys.get(ResourceKind::Group, STAFF),
        Some(json!({"objectId": STAFF}))
    );

    // Finance leaves Staff: A8 in the seed's literal form (no trailing slash).
    let staff = group("Staff", json!([{"value": ALICE}, {"value": FINANCE}]));
    let alone = group("Staff", json!([{"value": ALICE, "type": "User"}]));
    f.apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&alone))
        .await
        .expect("nested member removed");
    assert_eq!(
        f.calls(),
        [format!("DELETE {BASE}/{STAFF}/Groups/{FINANCE}")]
    );
    assert!(f.sim.group_memberships(ENV).is_empty());

    // Delete, and a replay of the delete.
    for _ in 0..2 {
        apply_with(
            &w,
            ResourceKind::Group,
            FINANCE,
            None,
            None,
            &json!({"objectId": FINANCE}),
            &f.keys,
        )
        .await
        .expect("deleted");
    }
    assert!(f.sim.group(ENV, guid(FINANCE)).is_none());
    assert_eq!(f.calls().len(), 2);
    f.server.stop().await;
}

#[tokio::test]
async fn nested_members_in_the_prefixed_path_form() {
    let f = Fixture::start();
    let w = f.connector(|s| s.nested_group_path = NestedGroupPath::Prefixed);
    users_and_groups(&f, &w).await;
    assert!(
        f.calls()
            .contains(&format!("PUT {BASE}/Groups/{STAFF}/Groups/{FINANCE}/"))
    );
    assert_eq!(f.sim.group_memberships(ENV), [(guid(STAFF), guid(FINANCE))]);
    let staff = group("Staff", json!([{"value": ALICE}, {"value": FINANCE}]));
    let alone = group("Staff", json!([{"value": ALICE}]));
    f.apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&alone))
        .await
        .expect("removed");
    assert_eq!(
        f.calls(),
        [format!("DELETE {BASE}/Groups/{STAFF}/Groups/{FINANCE}")]
    );
    assert!(f.sim.group_memberships(ENV).is_empty());
    f.server.stop().await;
}

#[tokio::test]
async fn member_changes_make_the_smallest_set_of_calls_and_replays_converge() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    users_and_groups(&f, &w).await;
    f.calls();
    let staff = group("Staff", json!([{"value": ALICE}, {"value": FINANCE}]));

    // PATCH add Bob, remove Alice.
    let patched = group("Staff", json!([{"value": FINANCE}, {"value": BOB}]));
    let keys = f.keys.get(ResourceKind::Group, STAFF).expect("keys");
    f.apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&patched))
        .await
        .expect("patched");
    let expected = [
        format!("DELETE {BASE}/Groups/{STAFF}/Users/{ALICE}/"),
        format!("PUT {BASE}/Groups/{STAFF}/Users/{BOB}/"),
    ];
    assert_eq!(f.calls(), expected, "no group PUT, one call per member");

    // A replay of the same change (a crash before the store committed): the same calls, and
    // the vendor ends where it was.
    apply_with(
        &w,
        ResourceKind::Group,
        STAFF,
        Some(&staff),
        Some(&patched),
        &keys,
        &f.keys,
    )
    .await
    .expect("replayed");
    assert_eq!(f.calls(), expected);
    let mut direct: Vec<_> = f
        .sim
        .user_memberships(ENV)
        .into_iter()
        .filter(|(g, _)| *g == guid(STAFF))
        .map(|(_, u)| u)
        .collect();
    direct.sort();
    assert_eq!(direct, [guid(BOB)]);

    // Adding a member that is already there (the PATCH add of an existing member) sends nothing.
    f.apply(
        &w,
        ResourceKind::Group,
        STAFF,
        Some(&patched),
        Some(&patched),
    )
    .await
    .expect("no-op");
    assert!(f.calls().is_empty());

    // A rename only: A3 only.
    let renamed = group("All staff", json!([{"value": FINANCE}, {"value": BOB}]));
    f.apply(
        &w,
        ResourceKind::Group,
        STAFF,
        Some(&patched),
        Some(&renamed),
    )
    .await
    .expect("renamed");
    assert_eq!(f.calls(), [format!("PUT {BASE}/Groups/{STAFF}/")]);
    assert_eq!(
        f.sim.group(ENV, guid(STAFF)).expect("group").name,
        "All staff"
    );

    // A member deleted from the store meanwhile: its removal needs no call (A2 dropped it).
    f.apply(
        &w,
        ResourceKind::User,
        BOB,
        Some(&person("bob@contoso.com", "Bob", "X")),
        None,
    )
    .await
    .expect("bob deleted");
    f.calls();
    let without_bob = group("All staff", json!([{"value": FINANCE}, {"value": CAROL}]));
    f.apply(
        &w,
        ResourceKind::Group,
        STAFF,
        Some(&renamed),
        Some(&without_bob),
    )
    .await
    .expect("bob gone, carol in");
    assert_eq!(
        f.calls(),
        [format!("PUT {BASE}/Groups/{STAFF}/Users/{CAROL}/")]
    );
    f.server.stop().await;
}

#[tokio::test]
async fn unresolvable_members_stop_the_change_before_any_call() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    users_and_groups(&f, &w).await;
    f.calls();
    let staff = group("Staff", json!([{"value": ALICE}, {"value": FINANCE}]));
    let ghost = group(
        "Staff",
        json!([{"value": "f0000000-0000-4000-8000-000000000000", "type": "User"}]),
    );
    let e = f
        .apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&ghost))
        .await
        .expect_err("unknown member");
    assert!(matches!(e, ConnectorError::Rejected { .. }), "{e}");
    // Known to the store but not delivered yet (keys without an ObjectId): try again later.
    f.keys.set(ResourceKind::User, "pending", Some(json!({})));
    let pending = group(
        "Staff",
        json!([{"value": ALICE}, {"value": FINANCE}, {"value": "pending"}]),
    );
    let e = f
        .apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&pending))
        .await
        .expect_err("pending member");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert!(f.calls().is_empty(), "no membership changed half-way");
    // Removing a member that never reached the vendor needs no call.
    let f_keys = f.keys.get(ResourceKind::Group, STAFF).expect("keys");
    apply_with(
        &w,
        ResourceKind::Group,
        STAFF,
        Some(&pending),
        Some(&staff),
        &f_keys,
        &f.keys,
    )
    .await
    .expect("pending member dropped");
    assert!(f.calls().is_empty());

    // A vendor refusal (a group inside itself) comes back with the vendor's message.
    let selfish = group(
        "Staff",
        json!([{"value": ALICE}, {"value": FINANCE}, {"value": STAFF}]),
    );
    let e = f
        .apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&selfish))
        .await
        .expect_err("cycle");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("itself")),
        "{e}"
    );
    assert_eq!(f.calls().len(), 1, "a 400 is not retried");
    f.server.stop().await;
}

#[tokio::test]
async fn faults_are_retried_waited_for_or_reported() {
    let f = Fixture::start();
    let w = f.connector(|_| {});

    // 503 twice on A1, then success.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", &format!("{BASE}/Users/{ALICE}")),
            Fault::Status(503),
        )
        .times(2),
    );
    let mut alice = person("alice@contoso.com", "Alice", "Adams");
    alice.insert(
        "photos".into(),
        json!([{"value": data_uri(&png(3)), "type": "photo"}]),
    );
    // And a 502 on the picture upload: the multipart body is sent again whole.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", &format!("{BASE}/Users/{ALICE}/ProfilePicture")),
            Fault::Status(502),
        )
        .times(1),
    );
    f.apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("retried");
    assert_eq!(
        f.server
            .log()
            .matching("PUT", &format!("{BASE}/Users/{ALICE}/ProfilePicture"))
            .len(),
        2
    );
    assert_eq!(f.server.log().len(), 5, "three A1 and two A9 attempts");
    assert_eq!(
        f.sim.picture(ENV, guid(ALICE)).expect("picture").bytes,
        png(3)
    );
    f.calls();

    // 429 with a short Retry-After is waited for; a long one is passed on.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", BASE),
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let bob = person("bob@contoso.com", "Bob", "Baker");
    let started = Instant::now();
    f.apply(&w, ResourceKind::User, BOB, None, Some(&bob))
        .await
        .expect("waited");
    assert!(started.elapsed() >= Duration::from_secs(1));
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", BASE),
            Fault::TooManyRequests {
                retry_after_secs: 120,
            },
        )
        .times(1),
    );
    let e = f
        .apply(&w, ResourceKind::User, BOB, Some(&bob), Some(&bob))
        .await
        .expect_err("429");
    assert_eq!(
        e,
        ConnectorError::Unavailable {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(120))
        }
    );

    // A vendor 400 (a UPN another ObjectId holds): a conflict (SCIM 409 `uniqueness`) with
    // its message, not retried.
    f.calls();
    let twin = person("bob@contoso.com", "Bobby", "Baker");
    let e = f
        .apply(&w, ResourceKind::User, CAROL, None, Some(&twin))
        .await
        .expect_err("UPN taken");
    assert!(
        matches!(&e, ConnectorError::Conflict { reason } if reason.contains("UserPrincipalName") && reason.contains("already exists")),
        "{e}"
    );
    assert_eq!(f.calls().len(), 1);

    // A vendor that hangs: the whole-call timeout fires.
    f.server.faults().push(FaultRule::always(
        RouteMatch::any(),
        Fault::Hang(Duration::from_secs(3600)),
    ));
    let slow = f.connector(|s| {
        s.http.timeout_secs = 1;
        s.http.max_retries = 0;
    });
    let e = f
        .apply(&slow, ResourceKind::User, BOB, Some(&bob), Some(&bob))
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
async fn refused_credentials_are_unauthorized_and_not_retried() {
    let f = Fixture::start();
    let wrong = f.connector(|s| s.token = Some(Secret::new("not-the-token")));
    let alice = person("alice@contoso.com", "Alice", "Adams");
    let e = f
        .apply(&wrong, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect_err("401");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let elsewhere = f.connector(|s| s.environment = "fabrikam".into());
    let e = f
        .apply(&elsewhere, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect_err("no such environment");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    assert_eq!(f.server.log().len(), 2, "one attempt each");
    assert!(f.sim.users(ENV).is_empty());
    f.server.stop().await;
}

#[test]
fn publishes_its_extensions_and_offers_groups() {
    let w = Workspace365AdSync::new(
        &connector::Context::named("workspace365-adsync"),
        AdSyncSettings::new("http://127.0.0.1:9", ENV, TOKEN),
    )
    .expect("connector");
    assert_eq!(w.kind(), "workspace365-adsync");
    assert!(w.capabilities().groups && !w.capabilities().change_password);
    let ids: Vec<(ResourceKind, String)> =
        w.extensions().into_iter().map(|(k, s)| (k, s.id)).collect();
    assert_eq!(
        ids,
        [
            (ResourceKind::User, USER_EXTENSION_URN.to_owned()),
            (ResourceKind::Group, GROUP_EXTENSION_URN.to_owned())
        ]
    );
    assert!(
        !format!("{w:?}").contains(TOKEN),
        "the token stays out of Debug"
    );
}

/// The default mapping sends exactly the calls the connector always sent: a transcript
/// recorded once in `tests/golden/`.
#[tokio::test]
async fn the_default_mapping_sends_what_it_always_sent() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let alice = object(json!({
        "userName": "alice@contoso.onmicrosoft.com",
        "name": {"givenName": "Alice", "familyName": "de Vries"},
        "title": "Teacher",
        "emails": [
            {"value": "alice.home@example.com", "type": "home"},
            {"value": "alice@contoso.com", "type": "work"},
            {"value": "alice.private@example.com", "type": "other"}
        ],
        "phoneNumbers": [{"value": "+31 6 1", "type": "mobile"}],
        "roles": [{"value": "staff"}, {"value": " Admin "}]
    }));
    f.apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("alice");
    let bob = person("bob@contoso.onmicrosoft.com", "Bob", "Ek");
    f.apply(&w, ResourceKind::User, BOB, None, Some(&bob))
        .await
        .expect("bob");
    let mut alice2 = alice.clone();
    alice2.insert("active".into(), json!(false));
    alice2.insert(USER_EXTENSION_URN.into(), json!({"isAdmin": false}));
    alice2.shift_remove("title");
    f.apply(&w, ResourceKind::User, ALICE, Some(&alice), Some(&alice2))
        .await
        .expect("alice changed");
    let mut staff = group("Staff", json!([{"value": ALICE}, {"value": BOB}]));
    staff.insert(
        GROUP_EXTENSION_URN.into(),
        json!({"description": "All staff"}),
    );
    f.apply(&w, ResourceKind::Group, STAFF, None, Some(&staff))
        .await
        .expect("group");
    let mut staff2 = group("Staff members", json!([{"value": ALICE}]));
    staff2.insert(
        GROUP_EXTENSION_URN.into(),
        json!({"description": "All staff"}),
    );
    f.apply(&w, ResourceKind::Group, STAFF, Some(&staff), Some(&staff2))
        .await
        .expect("renamed");
    f.apply(&w, ResourceKind::Group, STAFF, Some(&staff2), None)
        .await
        .expect("group deleted");
    f.apply(&w, ResourceKind::User, BOB, Some(&bob), None)
        .await
        .expect("bob deleted");
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/adsync_default_mapping.txt");
    vendor_sim::golden::assert_golden(&golden, &f.server.log().transcript());
}

/// What `mapping preview` shows is what a real write then sends.
#[tokio::test]
async fn the_preview_is_what_a_write_sends() {
    let f = Fixture::start();
    let w = f.connector(|s| {
        s.mapping = serde_json::from_value(json!({"user": {
            "JobTitle": {"from": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}
        }}))
        .expect("mapping");
    });
    let mut alice = person("alice@contoso.onmicrosoft.com", "Alice", "de Vries");
    alice.insert(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
        json!({"department": "Finance"}),
    );
    let mut planned = w
        .preview(ResourceKind::User, ALICE, &alice)
        .expect("preview");
    assert!(
        planned[0].body.contains("\"JobTitle\":\"Finance\""),
        "{planned:?}"
    );
    f.apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("alice");
    let staff = group("Staff", json!([]));
    planned.extend(
        w.preview(ResourceKind::Group, STAFF, &staff)
            .expect("group preview"),
    );
    f.apply(&w, ResourceKind::Group, STAFF, None, Some(&staff))
        .await
        .expect("staff");
    let sent = f.server.log().all();
    for call in &planned {
        assert!(
            sent.iter().any(|r| call.call
                == format!("{} {}{}", r.method, f.server.base_url(), r.path)
                && r.body == call.body),
            "{call:?} was not sent; sent {sent:?}"
        );
    }
}

/// With the environment API configured, a new user gets the welcome activity and the
/// extension's integration credentials, as the `workspace365` connector does; without it,
/// credentials are refused before any call.
#[tokio::test]
async fn a_created_user_is_welcomed_and_gets_its_integration_credentials() {
    use connector_workspace365::environment::{EnvironmentApiSettings, WelcomeActivity};
    let f = Fixture::start();
    let w = f.connector(|s| {
        s.environment_api = Some(EnvironmentApiSettings::new(f.server.base_url(), "api-key"));
        s.welcome_activity = Some(WelcomeActivity {
            title: "Welcome, {firstName}!".into(),
            url: None,
            icon: None,
            tag: Some("onboarding".into()),
        });
    });
    let mut alice = person("alice@contoso.onmicrosoft.com", "Alice", "de Vries");
    alice.insert(
        USER_EXTENSION_URN.into(),
        json!({"integrationCredentials": {"password": "Int-Pw-1"}}),
    );
    let keys = f
        .apply(&w, ResourceKind::User, ALICE, None, Some(&alice))
        .await
        .expect("created");
    let activities = f.sim.activities(ENV);
    assert_eq!(activities.len(), 1, "{activities:?}");
    assert_eq!(activities[0].title, "Welcome, Alice!");
    assert_eq!(activities[0].user_upn, "alice@contoso.onmicrosoft.com");
    let credentials = f.sim.credentials(ENV);
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].username, "alice@contoso.onmicrosoft.com");
    assert_eq!(keys["welcomeActivityId"], json!(activities[0].id));
    assert_eq!(keys["integrationCredentialsId"], json!(credentials[0].id));
    // An update welcomes no one again.
    let mut renamed = alice.clone();
    renamed.insert(
        "name".into(),
        json!({"givenName": "Alicia", "familyName": "de Vries"}),
    );
    renamed.shift_remove(USER_EXTENSION_URN);
    f.apply(&w, ResourceKind::User, ALICE, Some(&alice), Some(&renamed))
        .await
        .expect("updated");
    assert_eq!(f.sim.activities(ENV).len(), 1);

    let without = f.connector(|_| {});
    let mut bob = person("bob@contoso.onmicrosoft.com", "Bob", "Ek");
    bob.insert(
        USER_EXTENSION_URN.into(),
        json!({"integrationCredentials": {"password": "x"}}),
    );
    f.server.log().clear();
    let e = f
        .apply(&without, ResourceKind::User, BOB, None, Some(&bob))
        .await
        .expect_err("no environment API");
    assert!(e.to_string().contains("environment API"), "{e}");
    assert!(f.server.log().is_empty());
}
