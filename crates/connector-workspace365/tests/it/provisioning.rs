//! The `workspace365` connector against the Workspace 365 Provisioning simulator, and the
//! environment API client (and the connector's extras) against the environment simulator,
//! over real sockets. The simulators' state and request logs prove what was sent.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector::{Connector, ConnectorError, ResourceChange, Secret};
use connector_workspace365::environment::{
    ActivityData, CategoryLookup, Color, CredentialsUpdate, EnvApi, EnvApiError,
    EnvironmentApiSettings, GroupLookup, IconSource, IntegrationCredentials, Media, NewActivity,
    NewAnnouncement, Scope, UserLookup,
};
use connector_workspace365::provisioning::{
    EXTENSION_URN, PasswordPolicy, WelcomeActivity, Workspace365, Workspace365Settings,
};
use scim::ResourceKind;
use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use vendor_sim::workspace365::{DEMO_PROVISIONING_KEY, Workspace365Config, Workspace365Sim};
use vendor_sim::workspace365_env::{
    self as envsim, ApiKey, IconSource as IconSourceSim, Workspace365EnvConfig, Workspace365EnvSim,
};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

const ENV: &str = "example";
const API_TOKEN: &str = "9f1c2d3e-0000-4000-8000-00000000a001";
const ADSYNC_TOKEN: &str = "9f1c2d3e-0000-4000-8000-00000000b002";
const USERS: &str = "/Provisioning/example/User/";

struct EnvFixture {
    sim: Workspace365EnvSim,
    server: SimServer,
}

impl EnvFixture {
    fn start(config: Workspace365EnvConfig) -> EnvFixture {
        let sim = Workspace365EnvSim::new(config);
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("environment simulator");
        EnvFixture { sim, server }
    }

    fn default_start() -> EnvFixture {
        EnvFixture::start(Workspace365EnvConfig::single(ENV, ADSYNC_TOKEN, API_TOKEN))
    }

    fn settings(&self) -> EnvironmentApiSettings {
        let mut s = EnvironmentApiSettings::new(self.server.base_url(), API_TOKEN);
        s.http.initial_backoff_ms = 10;
        s.http.max_backoff_ms = 40;
        s.http.timeout_secs = 2;
        s
    }

    fn api(&self) -> EnvApi {
        EnvApi::new(
            &connector::Context::named("workspace365"),
            &self.settings(),
            ENV,
        )
        .expect("client")
    }

    /// Makes the environment know a user, as the AD sync (A1) would; returns its integer id.
    async fn ad_user(&self, n: u32, upn: &str) -> u64 {
        let object_id = format!("00000000-0000-4000-8000-{n:012x}");
        let url = format!(
            "{}/{ENV}/ActiveDirectorySyncAPI/Users/{object_id}/",
            self.server.base_url()
        );
        let status = reqwest::Client::new()
            .put(url)
            .basic_auth(ADSYNC_TOKEN, Some(""))
            .json(
                &json!({"FirstName": "F", "LastName": "L", "UserPrincipalName": upn,
                "Email": upn, "IsActive": true, "IsAdmin": false}),
            )
            .send()
            .await
            .expect("A1")
            .status();
        assert_eq!(status, 200);
        // Only the client's own requests are asserted on.
        self.server.log().clear();
        self.sim
            .users(ENV)
            .into_iter()
            .find(|u| u.user_principal_name == upn)
            .map(|u| u.id)
            .expect("the AD user")
    }
}

struct Fixture {
    sim: Workspace365Sim,
    server: SimServer,
    env: Option<EnvFixture>,
}

impl Fixture {
    fn start() -> Fixture {
        Fixture::with_config(Workspace365Config::default())
    }

    fn with_config(config: Workspace365Config) -> Fixture {
        let sim = Workspace365Sim::new(config);
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("simulator");
        Fixture {
            sim,
            server,
            env: None,
        }
    }

    fn with_env_api(mut self) -> Fixture {
        self.env = Some(EnvFixture::default_start());
        self
    }

    fn env(&self) -> &EnvFixture {
        self.env.as_ref().expect("environment simulator")
    }

    fn settings(&self) -> Workspace365Settings {
        let mut s =
            Workspace365Settings::new(self.sim.api_base(&self.server), ENV, DEMO_PROVISIONING_KEY);
        s.http.initial_backoff_ms = 10;
        s.http.max_backoff_ms = 40;
        s.http.timeout_secs = 2;
        s.environment_api = self.env.as_ref().map(EnvFixture::settings);
        s
    }

    fn connector(&self, edit: impl FnOnce(&mut Workspace365Settings)) -> Workspace365 {
        let mut s = self.settings();
        edit(&mut s);
        Workspace365::new(&connector::Context::named("workspace365"), s).expect("connector")
    }

    /// `METHOD path` of every Provisioning request so far, then clears the log.
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

    async fn stop(self) {
        if let Some(env) = self.env {
            env.server.stop().await;
        }
        self.server.stop().await;
    }
}

fn user(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

fn ann() -> Map<String, Value> {
    user(json!({
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Smith"},
        "emails": [{"value": "ann@example.com", "primary": true}],
        "password": "Given-Password-1"
    }))
}

fn no_keys() -> Value {
    json!({})
}

async fn apply(
    connector: &Workspace365,
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

/// A replay after a crash: `apply` without `check`, and without the password (the journal
/// never holds it).
async fn replay(
    connector: &Workspace365,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    keys: &Value,
) -> Result<Value, ConnectorError> {
    let mut after = after.cloned();
    if let Some(a) = after.as_mut() {
        a.shift_remove("password");
    }
    connector
        .apply(ResourceChange {
            members: &scim::members::UNCHANGED,
            kind: ResourceKind::User,
            id: "u1",
            before,
            after: after.as_ref(),
            vendor_keys: keys,
            request_id: None,
            lookup: &connector::NoLookup,
        })
        .await
}

#[tokio::test]
async fn create_validates_then_creates_and_keeps_the_id_and_address() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let keys = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("created");
    let stored = f.sim.user(ENV, "ann@example.com").expect("at the vendor");
    assert_eq!(
        keys,
        json!({"id": stored.id, "emailAddress": "ann@example.com"})
    );
    assert_eq!(
        (
            stored.first_name.as_str(),
            stored.last_name.as_str(),
            stored.active
        ),
        ("Ann", "Smith", true)
    );
    assert!(!stored.is_administrator && !stored.create_in_office365);
    assert_eq!(stored.password, "Given-Password-1", "SCIM's password");
    let log = f.server.log().all();
    for r in &log {
        assert_eq!(r.header("provisioningkey"), Some("***"));
        assert_eq!(r.header("x-requested-with"), Some("XMLHttpRequest"));
        assert_eq!(r.header("x-request-id"), Some("req-1"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(!r.body.contains("Given-Password-1"), "{}", r.body);
    }
    let body: Value = serde_json::from_str(&log[1].body).expect("json");
    assert_eq!(
        body,
        json!({"EmailAddress": "ann@example.com", "FirstName": "Ann", "LastName": "Smith",
            "IsAdministrator": false, "Password": "***", "CreateInOffice365": false})
    );
    assert_eq!(
        f.calls(),
        [
            "POST /Provisioning/example/User/Validate/",
            "POST /Provisioning/example/User/"
        ]
    );

    // Without validate_first, only W1.
    let no_validate = f.connector(|s| s.validate_first = false);
    let bob =
        user(json!({"userName": "bob@example.com", "name": {"givenName": "B", "familyName": "C"}}));
    apply(&no_validate, None, Some(&bob), &no_keys())
        .await
        .expect("created");
    assert_eq!(f.calls(), ["POST /Provisioning/example/User/"]);
    f.stop().await;
}

#[tokio::test]
async fn the_extension_and_the_defaults_set_the_flags() {
    let f = Fixture::start();
    let w = f.connector(|s| {
        s.create_in_office365 = true;
        s.is_administrator = true;
    });
    let defaults =
        user(json!({"userName": "d@example.com", "name": {"givenName": "D", "familyName": "E"}}));
    apply(&w, None, Some(&defaults), &no_keys())
        .await
        .expect("created");
    let d = f.sim.user(ENV, "d@example.com").expect("created");
    assert!(d.create_in_office365 && d.is_administrator);
    let ext = user(
        json!({"userName": "e@example.com", "name": {"givenName": "E", "familyName": "F"},
        EXTENSION_URN: {"createInOffice365": false, "isAdministrator": false}}),
    );
    let keys = apply(&w, None, Some(&ext), &no_keys())
        .await
        .expect("created");
    let e = f.sim.user(ENV, "e@example.com").expect("created");
    assert!(!e.create_in_office365 && !e.is_administrator);
    // Promote through the extension: W3 carries IsAdministrator, never CreateInOffice365.
    let mut promoted = ext.clone();
    promoted.insert(EXTENSION_URN.into(), json!({"isAdministrator": true}));
    f.calls();
    apply(&w, Some(&ext), Some(&promoted), &keys)
        .await
        .expect("updated");
    assert!(
        f.sim
            .user(ENV, "e@example.com")
            .expect("kept")
            .is_administrator
    );
    let put = f.server.log().matching("PUT", USERS);
    let body: Value = serde_json::from_str(&put[1].body).expect("json");
    assert_eq!(
        body,
        json!({"EmailAddress": "e@example.com", "FirstName": "E", "LastName": "F", "IsAdministrator": true})
    );
    f.stop().await;
}

/// Collects every tracing event's fields as text, on this thread, while alive.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<String>>);

struct FieldWriter<'a>(&'a mut String);

impl tracing::field::Visit for FieldWriter<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for CapturedLogs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = self.0.lock().expect("lock");
        span.record(&mut FieldWriter(&mut text));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut FieldWriter(&mut self.0.lock().expect("lock")));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().expect("lock");
        event.record(&mut FieldWriter(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn passwords_are_given_or_generated_and_never_logged() {
    let f = Fixture::start();
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let w = f.connector(|_| {});
    apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("created");
    let nameless = |email: &str| {
        user(json!({"userName": email, "name": {"givenName": "G", "familyName": "H"}}))
    };
    let k1 = apply(&w, None, Some(&nameless("g1@example.com")), &no_keys())
        .await
        .expect("created");
    apply(&w, None, Some(&nameless("g2@example.com")), &no_keys())
        .await
        .expect("created");
    let g1 = f.sim.user(ENV, "g1@example.com").expect("g1").password;
    let g2 = f.sim.user(ENV, "g2@example.com").expect("g2").password;
    assert_eq!(g1.len(), 24);
    assert_ne!(g1, g2, "each user gets its own");
    let custom = f.connector(|s| s.generated_password_length = 40);
    apply(&custom, None, Some(&nameless("g3@example.com")), &no_keys())
        .await
        .expect("created");
    assert_eq!(
        f.sim
            .user(ENV, "g3@example.com")
            .expect("g3")
            .password
            .len(),
        40
    );

    // A password change travels in W3; an update without one leaves the vendor's alone.
    let g1_user = nameless("g1@example.com");
    let mut with_password = g1_user.clone();
    with_password.insert("password".into(), json!("New-Password-2"));
    apply(&w, Some(&g1_user), Some(&with_password), &k1)
        .await
        .expect("password changed");
    assert_eq!(
        f.sim.user(ENV, "g1@example.com").expect("g1").password,
        "New-Password-2"
    );

    let text = logs.0.lock().expect("lock").clone();
    assert!(text.contains("created a Workspace 365 user"), "{text}");
    for secret in [
        "Given-Password-1",
        "New-Password-2",
        g1.as_str(),
        g2.as_str(),
        DEMO_PROVISIONING_KEY,
    ] {
        assert!(!text.contains(secret), "a secret was logged: {text}");
    }
    for r in f.server.log().all() {
        for secret in ["Given-Password-1", "New-Password-2", g1.as_str()] {
            assert!(!r.body.contains(secret));
        }
    }
    assert!(!format!("{w:?}").contains(DEMO_PROVISIONING_KEY));
    f.stop().await;
}

#[tokio::test]
async fn password_policy_refuse_needs_a_scim_password() {
    let f = Fixture::start();
    let w = f.connector(|s| s.password_policy = PasswordPolicy::Refuse);
    let nopw =
        user(json!({"userName": "r@example.com", "name": {"givenName": "R", "familyName": "S"}}));
    let e = apply(&w, None, Some(&nopw), &no_keys())
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("password_policy")),
        "{e}"
    );
    assert!(f.calls().is_empty(), "refused before any call");
    let mut given = nopw.clone();
    given.insert("password".into(), json!("Pw-123456"));
    apply(&w, None, Some(&given), &no_keys())
        .await
        .expect("created");
    assert_eq!(
        f.sim.user(ENV, "r@example.com").expect("r").password,
        "Pw-123456"
    );
    f.stop().await;
}

#[tokio::test]
async fn updates_call_only_when_the_vendor_holds_what_changed() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut v1 = ann();
    let keys = apply(&w, None, Some(&v1), &no_keys())
        .await
        .expect("created");
    v1.shift_remove("password");
    let mut v2 = v1.clone();
    v2.insert("displayName".into(), json!("Ann S."));
    v2.insert("title".into(), json!("Teacher"));
    f.calls();
    let same = apply(&w, Some(&v1), Some(&v2), &keys)
        .await
        .expect("nothing to do");
    assert_eq!(same, keys);
    assert!(f.calls().is_empty(), "nothing the vendor holds changed");

    let mut v3 = v2.clone();
    v3.insert(
        "name".into(),
        json!({"givenName": "Anne", "familyName": "Smith"}),
    );
    let k3 = apply(&w, Some(&v2), Some(&v3), &keys)
        .await
        .expect("updated");
    assert_eq!(k3, keys);
    assert_eq!(
        f.calls(),
        [
            "PUT /Provisioning/example/User/ann@example.com/Validate/",
            "PUT /Provisioning/example/User/ann@example.com/"
        ]
    );
    let stored = f.sim.user(ENV, "ann@example.com").expect("kept");
    assert_eq!(stored.first_name, "Anne");
    assert_eq!(stored.password, "Given-Password-1", "absent = unchanged");
    f.stop().await;
}

#[tokio::test]
async fn a_new_primary_email_renames_through_the_old_address() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut old = ann();
    let keys = apply(&w, None, Some(&old), &no_keys())
        .await
        .expect("created");
    old.shift_remove("password");
    let id = keys["id"].clone();
    let mut new = old.clone();
    new.insert(
        "emails".into(),
        json!([{"value": "ann.smith@example.com", "primary": true}]),
    );
    f.calls();
    let renamed = apply(&w, Some(&old), Some(&new), &keys)
        .await
        .expect("renamed");
    assert_eq!(
        renamed,
        json!({"id": id, "emailAddress": "ann.smith@example.com"})
    );
    assert_eq!(
        f.calls(),
        [
            "PUT /Provisioning/example/User/ann@example.com/Validate/",
            "PUT /Provisioning/example/User/ann@example.com/"
        ]
    );
    assert!(f.sim.user(ENV, "ann@example.com").is_none());
    assert_eq!(
        f.sim
            .user(ENV, "ann.smith@example.com")
            .map(|u| Value::from(u.id)),
        Some(id.clone()),
        "the same account"
    );

    // A replay of the rename (a crash before commit: the old keys again) finds the user at
    // its new address.
    let replayed = replay(&w, Some(&old), Some(&new), &keys)
        .await
        .expect("replayed");
    assert_eq!(replayed, renamed);
    assert_eq!(
        f.calls(),
        [
            "PUT /Provisioning/example/User/ann@example.com/Validate/",
            "PUT /Provisioning/example/User/ann.smith@example.com/Validate/",
            "PUT /Provisioning/example/User/ann.smith@example.com/"
        ]
    );

    // The next change goes to the new address.
    let inactive = {
        let mut u = new.clone();
        u.insert("active".into(), json!(false));
        u
    };
    apply(&w, Some(&new), Some(&inactive), &renamed)
        .await
        .expect("deactivated");
    assert_eq!(
        f.calls(),
        ["PUT /Provisioning/example/User/ann.smith@example.com/Deactivate/"]
    );
    f.stop().await;
}

/// Sends a raw HTTP/1.1 PUT without any Content-Length (no client library in between).
fn raw_put_without_length(server: &SimServer, path: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(server.addr()).expect("connect");
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: localhost\r\nProvisioningKey: {DEMO_PROVISIONING_KEY}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line")
}

#[tokio::test]
async fn activate_and_deactivate_say_content_length_zero() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut inactive = ann();
    inactive.insert("active".into(), json!(false));
    let keys = apply(&w, None, Some(&inactive), &no_keys())
        .await
        .expect("created inactive");
    assert!(!f.sim.user(ENV, "ann@example.com").expect("ann").active);
    assert_eq!(
        f.calls()[2],
        "PUT /Provisioning/example/User/ann@example.com/Deactivate/"
    );
    inactive.shift_remove("password");
    let mut active = inactive.clone();
    active.insert("active".into(), json!(true));
    apply(&w, Some(&inactive), Some(&active), &keys)
        .await
        .expect("activated");
    assert!(f.sim.user(ENV, "ann@example.com").expect("ann").active);
    let log = f.server.log().all();
    assert_eq!(log.len(), 1, "only W5: nothing else changed");
    assert_eq!(
        log[0].path,
        "/Provisioning/example/User/ann@example.com/Activate/"
    );
    assert_eq!(log[0].header("content-length"), Some("0"));
    assert_eq!(log[0].header("transfer-encoding"), None);

    // The rule the explicit header satisfies: without it the vendor answers 411.
    let path = "/Provisioning/example/User/ann@example.com/Deactivate/";
    assert_eq!(raw_put_without_length(&f.server, path), 411);
    assert!(
        f.sim.user(ENV, "ann@example.com").expect("ann").active,
        "411 changed nothing"
    );
    f.stop().await;
}

#[tokio::test]
async fn validation_messages_reach_the_scim_client() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let nameless = user(json!({"userName": "n@example.com", "password": "Pw-1234567"}));
    let e = apply(&w, None, Some(&nameless), &no_keys())
        .await
        .expect_err("refused");
    let ConnectorError::Rejected { reason } = &e else {
        panic!("{e:?}")
    };
    assert!(
        reason.contains("FirstName (name.givenName): The FirstName field is required."),
        "{reason}"
    );
    assert!(
        reason.contains("LastName (name.familyName): The LastName field is required."),
        "{reason}"
    );
    assert_eq!(
        f.calls(),
        ["POST /Provisioning/example/User/Validate/"],
        "W2 refused: no W1"
    );

    // Without validate_first, W1's own 400 says the same.
    let direct = f.connector(|s| s.validate_first = false);
    let e = apply(&direct, None, Some(&nameless), &no_keys())
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("FirstName"), "{e}");

    // An update the vendor refuses; renaming onto another user's address is a conflict.
    let mut a = ann();
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("created");
    a.shift_remove("password");
    f.sim
        .seed_user(ENV, "taken@example.com", "T", "U")
        .expect("seeded");
    let mut blank = a.clone();
    blank.insert(
        "name".into(),
        json!({"givenName": " ", "familyName": "Smith"}),
    );
    let e = apply(&w, Some(&a), Some(&blank), &keys)
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("FirstName")),
        "{e}"
    );
    let mut onto = a.clone();
    onto.insert("emails".into(), json!([{"value": "taken@example.com"}]));
    let e = apply(&w, Some(&a), Some(&onto), &keys)
        .await
        .expect_err("conflict");
    assert!(
        matches!(&e, ConnectorError::Conflict { reason } if reason.contains("already exists")),
        "{e}"
    );
    assert_eq!(
        f.sim.user(ENV, "ann@example.com").expect("kept").first_name,
        "Ann"
    );
    f.stop().await;
}

#[tokio::test]
async fn existing_accounts_are_adopted() {
    let f = Fixture::start();
    f.sim
        .seed_user(ENV, "Old@Example.com", "Old", "Name")
        .expect("seeded");
    let w = f.connector(|_| {});
    let mut old = user(json!({"userName": "old@example.com", "active": false,
        "name": {"givenName": "New", "familyName": "Name"}}));
    let keys = apply(&w, None, Some(&old), &no_keys())
        .await
        .expect("adopted");
    assert_eq!(
        keys,
        json!({"emailAddress": "old@example.com", "adopted": true})
    );
    let stored = f.sim.users(ENV);
    assert_eq!(stored.len(), 1, "no second account");
    assert_eq!(stored[0].first_name, "New");
    assert!(!stored[0].active, "SCIM's active");
    assert_eq!(
        stored[0].password, "seed-password",
        "no generated password replaces the owner's"
    );
    assert_eq!(
        f.calls(),
        [
            "POST /Provisioning/example/User/Validate/",
            "PUT /Provisioning/example/User/old@example.com/Validate/",
            "PUT /Provisioning/example/User/old@example.com/",
            "PUT /Provisioning/example/User/old@example.com/Deactivate/",
        ]
    );
    // Without validate_first the duplicate answer comes from W1 itself; a SCIM password is
    // applied.
    let direct = f.connector(|s| s.validate_first = false);
    old.insert("password".into(), json!("Adopted-Pw-1"));
    apply(&direct, None, Some(&old), &no_keys())
        .await
        .expect("adopted");
    assert_eq!(f.sim.users(ENV)[0].password, "Adopted-Pw-1");

    // adopt_existing = false: a conflict, nothing changed.
    let strict = f.connector(|s| s.adopt_existing = false);
    f.calls();
    let e = apply(&strict, None, Some(&old), &no_keys())
        .await
        .expect_err("conflict");
    assert!(matches!(e, ConnectorError::Conflict { .. }), "{e}");
    assert_eq!(f.calls(), ["POST /Provisioning/example/User/Validate/"]);
    f.stop().await;
}

#[tokio::test]
async fn a_create_replayed_after_a_crash_adopts_its_first_attempt() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let first = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("created");
    // The gateway crashed before committing: recovery applies the create again, without the
    // password.
    let again = replay(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("replayed");
    assert_eq!(f.sim.users(ENV).len(), 1);
    assert_eq!(
        again,
        json!({"emailAddress": "ann@example.com", "adopted": true})
    );
    assert_eq!(
        f.sim.user(ENV, "ann@example.com").expect("ann").password,
        "Given-Password-1",
        "the first attempt's password stays"
    );
    assert!(first["id"].is_u64());
    f.stop().await;
}

#[tokio::test]
async fn delete_removes_the_user_and_a_missing_user_is_already_gone() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut a = ann();
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("created");
    a.shift_remove("password");
    f.calls();
    assert_eq!(apply(&w, Some(&a), None, &keys).await, Ok(json!({})));
    assert!(f.sim.users(ENV).is_empty());
    assert_eq!(
        f.calls(),
        ["DELETE /Provisioning/example/User/ann@example.com/"]
    );
    assert_eq!(
        apply(&w, Some(&a), None, &keys).await,
        Ok(json!({})),
        "404 = gone"
    );
    f.stop().await;
}

#[tokio::test]
async fn a_user_the_vendor_lost_is_created_again() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let mut a = ann();
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("created");
    a.shift_remove("password");
    // Someone deletes it in Workspace itself.
    apply(&w, Some(&a), None, &keys).await.expect("deleted");
    let mut b = a.clone();
    b.insert(
        "name".into(),
        json!({"givenName": "Ann", "familyName": "Jones"}),
    );
    let k2 = apply(&w, Some(&a), Some(&b), &keys)
        .await
        .expect("recreated");
    let stored = f.sim.user(ENV, "ann@example.com").expect("back");
    assert_eq!(stored.last_name, "Jones");
    assert_eq!(k2["id"], json!(stored.id));
    assert_ne!(k2["id"], keys["id"]);
    f.stop().await;
}

#[tokio::test]
async fn addresses_travel_as_one_encoded_segment_and_the_strict_vendor_is_satisfied() {
    let f = Fixture::with_config(Workspace365Config {
        strict_trailing_slash: true,
        require_x_requested_with: true,
        ..Workspace365Config::default()
    });
    let w = f.connector(|_| {});
    let odd = user(json!({"userName": "o'brien+test@example.com",
        "name": {"givenName": "O", "familyName": "B"}}));
    let keys = apply(&w, None, Some(&odd), &no_keys())
        .await
        .expect("created");
    let mut inactive = odd.clone();
    inactive.insert("active".into(), json!(false));
    apply(&w, Some(&odd), Some(&inactive), &keys)
        .await
        .expect("deactivated");
    assert!(
        !f.sim
            .user(ENV, "o'brien+test@example.com")
            .expect("intact")
            .active
    );
    assert!(
        f.server
            .log()
            .all()
            .iter()
            .any(|r| r.path.contains("o%27brien%2Btest@example.com/Deactivate/"))
    );
    apply(&w, Some(&inactive), None, &keys)
        .await
        .expect("deleted");
    assert!(f.sim.users(ENV).is_empty());
    f.stop().await;
}

#[tokio::test]
async fn faults_are_retried_only_for_calls_safe_to_repeat() {
    let f = Fixture::start();
    let w = f.connector(|s| s.validate_first = false);
    // POST create is not safe to repeat: a 503 goes back, sent once.
    f.server
        .faults()
        .push(FaultRule::always(RouteMatch::new("POST", USERS), Fault::Status(503)).times(1));
    let e = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(f.calls(), ["POST /Provisioning/example/User/"]);
    assert!(f.sim.users(ENV).is_empty());
    let mut a = ann();
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("created");
    a.shift_remove("password");

    // PUT update is: retried through two 502s.
    f.server
        .faults()
        .push(FaultRule::always(RouteMatch::new("PUT", USERS), Fault::Status(502)).times(2));
    let mut b = a.clone();
    b.insert(
        "name".into(),
        json!({"givenName": "B", "familyName": "Smith"}),
    );
    f.calls();
    apply(&w, Some(&a), Some(&b), &keys).await.expect("retried");
    assert_eq!(f.calls().len(), 3);

    // Deactivate with a short Retry-After: waited for.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", USERS),
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let mut c = b.clone();
    c.insert("active".into(), json!(false));
    let started = Instant::now();
    apply(&w, Some(&b), Some(&c), &keys).await.expect("waited");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(!f.sim.user(ENV, "ann@example.com").expect("ann").active);

    // A long Retry-After goes back with the vendor's figure.
    f.server.faults().push(
        FaultRule::always(
            RouteMatch::new("DELETE", USERS),
            Fault::TooManyRequests {
                retry_after_secs: 120,
            },
        )
        .times(1),
    );
    let e = apply(&w, Some(&c), None, &keys).await.expect_err("429");
    assert_eq!(
        e,
        ConnectorError::Unavailable {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(120))
        }
    );

    // Persistent 500 on a call without a body: retried up to the limit, still unavailable, and
    // the reason says what a 500 can mean.
    f.calls();
    f.server.faults().push(FaultRule::always(
        RouteMatch::new("DELETE", USERS),
        Fault::Status(500),
    ));
    let e = apply(&w, Some(&c), None, &keys).await.expect_err("500");
    assert!(
        matches!(&e, ConnectorError::Unavailable { reason, .. } if reason.contains("cannot bind")),
        "{e}"
    );
    assert_eq!(f.calls().len(), 4, "one call and three retries");
    f.server.faults().clear();

    // Persistent 500 on an update, which carries the user: the vendor answers 500 to a body
    // it cannot bind, so after the retries it is a refusal (SCIM 400 with the vendor's
    // reason) that the identity provider does not send again forever.
    f.calls();
    f.server.faults().push(FaultRule::always(
        RouteMatch::new("PUT", USERS),
        Fault::Status(500),
    ));
    let mut d = c.clone();
    d.insert(
        "name".into(),
        json!({"givenName": "D", "familyName": "Smith"}),
    );
    let e = apply(&w, Some(&c), Some(&d), &keys).await.expect_err("500");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("cannot bind") && reason.contains("likely cause")),
        "{e}"
    );
    assert_eq!(f.calls().len(), 4, "one call and three retries");
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
    let e = apply(&slow, Some(&c), None, &keys)
        .await
        .expect_err("timeout");
    assert!(
        matches!(&e, ConnectorError::Unavailable { reason, .. } if reason.contains("timed out")),
        "{e}"
    );
    f.server.faults().clear();
    f.stop().await;
}

#[tokio::test]
async fn refused_keys_and_unknown_environments_need_an_operator() {
    let f = Fixture::start();
    let wrong = f.connector(|s| s.provisioning_key = Some(Secret::new("not-the-key")));
    let e = apply(&wrong, None, Some(&ann()), &no_keys())
        .await
        .expect_err("403");
    assert!(
        matches!(&e, ConnectorError::Unauthorized { reason } if reason.contains("does not match")),
        "{e}"
    );
    assert_eq!(f.server.log().len(), 1, "not retried");
    let elsewhere = f.connector(|s| s.environment = "nowhere".into());
    let e = apply(&elsewhere, None, Some(&ann()), &no_keys())
        .await
        .expect_err("404");
    assert!(
        matches!(&e, ConnectorError::Unauthorized { reason } if reason.contains("nowhere")),
        "{e}"
    );
    f.stop().await;

    let disabled = Fixture::with_config(Workspace365Config {
        api_enabled: false,
        ..Workspace365Config::default()
    });
    let w = disabled.connector(|_| {});
    let e = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect_err("403");
    assert!(
        matches!(&e, ConnectorError::Unauthorized { reason } if reason.contains("not enabled")),
        "{e}"
    );
    disabled.stop().await;
}

// ----- the connector's environment-API extras -----

fn welcome() -> WelcomeActivity {
    WelcomeActivity {
        title: "Welcome, {firstName}!".into(),
        url: Some("https://intranet.example.com/start".into()),
        icon: Some("Phone".into()),
        tag: Some("onboarding".into()),
    }
}

#[tokio::test]
async fn a_created_user_is_welcomed_and_gets_its_integration_credentials() {
    let f = Fixture::start().with_env_api();
    f.env().ad_user(1, "ann@example.com").await;
    let w = f.connector(|s| s.welcome_activity = Some(welcome()));
    let mut a = ann();
    a.insert(
        EXTENSION_URN.into(),
        json!({"integrationCredentials": {"username": "ann.i@example.com", "password": "Int-Pw-1"}}),
    );
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("created");
    let activities = f.env().sim.activities(ENV);
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0].title, "Welcome, Ann!");
    assert_eq!(activities[0].user_upn, "ann@example.com");
    assert_eq!(activities[0].tag.as_deref(), Some("onboarding"));
    let credentials = f.env().sim.credentials(ENV);
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].username, "ann.i@example.com");
    assert_eq!(credentials[0].password, "Int-Pw-1");
    assert_eq!(keys["welcomeActivityId"], json!(activities[0].id));
    assert_eq!(keys["integrationCredentialsId"], json!(credentials[0].id));
    for r in f.env().server.log().all() {
        assert_eq!(r.header("authorization"), Some("Workspace365 ***"));
        assert!(!r.body.contains("Int-Pw-1"), "{}", r.body);
    }

    // Unchanged credentials: no environment call. New ones: a PUT to the same record.
    a.shift_remove("password");
    let mut renamed = a.clone();
    renamed.insert(
        "name".into(),
        json!({"givenName": "Anne", "familyName": "Smith"}),
    );
    f.env().server.log().clear();
    let k2 = apply(&w, Some(&a), Some(&renamed), &keys)
        .await
        .expect("updated");
    assert!(f.env().server.log().is_empty());
    assert_eq!(k2, keys);
    let mut new_creds = renamed.clone();
    new_creds.insert(
        EXTENSION_URN.into(),
        json!({"integrationCredentials": {"username": "ann.i@example.com", "password": "Int-Pw-2"}}),
    );
    f.calls();
    let k3 = apply(&w, Some(&renamed), Some(&new_creds), &k2)
        .await
        .expect("credentials updated");
    assert!(
        f.calls().is_empty(),
        "the Provisioning API holds none of it"
    );
    assert_eq!(k3, k2);
    let id = credentials[0].id;
    assert_eq!(
        f.env()
            .server
            .log()
            .all()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        [format!("PUT /{ENV}/IntegrationCredentialsApi/{id}/")]
    );
    let credentials = f.env().sim.credentials(ENV);
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].password, "Int-Pw-2");
    f.stop().await;
}

#[tokio::test]
async fn a_failed_welcome_does_not_fail_the_create() {
    let f = Fixture::start().with_env_api();
    // The environment API does not know the user: the activity is refused (400).
    let w = f.connector(|s| s.welcome_activity = Some(welcome()));
    let keys = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("created anyway");
    assert!(f.sim.user(ENV, "ann@example.com").is_some());
    assert!(keys.get("welcomeActivityId").is_none(), "{keys}");
    assert_eq!(
        f.env()
            .server
            .log()
            .matching("POST", "/example/api/activities")
            .len(),
        1,
        "a POST is never repeated"
    );
    f.stop().await;
}

#[tokio::test]
async fn a_failed_credentials_push_fails_the_call_and_the_retry_adopts() {
    let f = Fixture::start().with_env_api();
    f.env().ad_user(2, "ann@example.com").await;
    let w = f.connector(|s| s.welcome_activity = Some(welcome()));
    let mut a = ann();
    a.insert(
        EXTENSION_URN.into(),
        json!({"integrationCredentials": {"password": "Int-Pw-1"}}),
    );
    f.env().server.faults().push(
        FaultRule::always(
            RouteMatch::new("POST", "/example/IntegrationCredentialsApi"),
            Fault::Status(503),
        )
        .times(1),
    );
    let e = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert!(
        f.sim.user(ENV, "ann@example.com").is_some(),
        "the user exists"
    );
    // The SCIM client retries its create: the user is adopted, the credentials sent, and
    // the welcome not repeated.
    let keys = apply(&w, None, Some(&a), &no_keys())
        .await
        .expect("retried");
    assert_eq!(f.sim.users(ENV).len(), 1);
    let credentials = f.env().sim.credentials(ENV);
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].username, "ann@example.com", "the default");
    assert_eq!(keys["adopted"], json!(true));
    assert_eq!(keys["integrationCredentialsId"], json!(credentials[0].id));
    assert_eq!(f.env().sim.activities(ENV).len(), 1, "welcomed once");
    f.stop().await;
}

// ----- the environment API client -----

#[tokio::test]
async fn activities_one_user_or_a_scope() {
    let env = EnvFixture::default_start();
    let ann_id = env.ad_user(1, "ann@example.com").await;
    env.ad_user(2, "bob@example.com").await;
    let api = env.api();
    let created = api
        .post_activity(
            &NewActivity {
                user: UserLookup::Upn("ANN@example.com".into()),
                data: ActivityData {
                    icon: Some("Phone".into()),
                    title: "Call back".into(),
                    url: Some("https://x/call".into()),
                    tag: None,
                    color: Some(Color::Custom("#ff0000".into())),
                    actions: vec![connector_workspace365::environment::Action {
                        kind: 1,
                        title: "Accept proposal".into(),
                        url: "https://x/accept".into(),
                    }],
                },
            },
            Some("req-a"),
        )
        .await
        .expect("posted");
    assert_eq!(created.user.id, ann_id);
    assert_eq!(created.user.upn, "ann@example.com");
    let stored = env.sim.activities(ENV);
    assert_eq!(
        stored[0].color.as_ref().and_then(|c| c.value.as_deref()),
        Some("#ff0000")
    );
    assert_eq!(stored[0].actions[0].title, "Accept proposal");
    let by_id = api
        .post_activity(
            &NewActivity {
                user: UserLookup::Id(ann_id),
                data: ActivityData::titled("By id"),
            },
            None,
        )
        .await
        .expect("posted");
    assert_eq!(by_id.user.upn, "ann@example.com");

    let all = api
        .post_activities_batch(&Scope::All, &ActivityData::titled("Everyone"), None)
        .await
        .expect("batch");
    assert_eq!(all.len(), 2);
    let some = api
        .post_activities_batch(
            &Scope::Users(vec![UserLookup::Upn("bob@example.com".into())]),
            &ActivityData {
                color: Some(Color::Primary),
                ..ActivityData::titled("Bob only")
            },
            None,
        )
        .await
        .expect("batch");
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].user.upn, "bob@example.com");
    let e = api
        .post_activities_batch(
            &Scope::Groups(vec![GroupLookup::Name("Nobody".into())]),
            &ActivityData::titled("x"),
            None,
        )
        .await
        .expect_err("unknown group");
    assert!(
        matches!(&e, EnvApiError::Invalid(errors) if errors.to_string().contains("Nobody")),
        "{e}"
    );
    let e = api
        .post_activity(
            &NewActivity {
                user: UserLookup::Upn("ann@example.com".into()),
                data: ActivityData::titled(""),
            },
            None,
        )
        .await
        .expect_err("no title");
    assert_eq!(
        e.to_string(),
        "Workspace 365 refused the request: Title: The Title field is required."
    );
    let into: ConnectorError = e.into();
    assert!(matches!(into, ConnectorError::Rejected { .. }));
    env.server.stop().await;
}

#[tokio::test]
async fn announcements_apps_and_icons() {
    let env = EnvFixture::default_start();
    let api = env.api();
    let mut a = NewAnnouncement::titled("Maintenance");
    a.description = Some("Tonight".into());
    a.media = Media::Image {
        filename: "m.png".into(),
        base64: "iVBORw0KGgo=".into(),
    };
    a.category = Some(CategoryLookup::Name("IT".into()));
    a.show_popup_directly_to_user = true;
    a.allow_comments = false;
    a.start_time = Some("2021-04-15T00:00:00Z".into());
    let id = api.post_announcement(&a, None).await.expect("posted");
    let stored = env.sim.announcements(ENV);
    assert_eq!(stored[0].id, id);
    assert_eq!(
        stored[0].media,
        envsim::Media::Image {
            filename: "m.png".into(),
            uri: "iVBORw0KGgo=".into()
        }
    );
    assert_eq!(stored[0].category, envsim::Category::Name("IT".into()));
    assert!(stored[0].show_popup_directly_to_user && !stored[0].allow_comments);

    env.ad_user(1, "ann@example.com").await;
    env.sim.seed_app(
        ENV,
        "ann@example.com",
        envsim::App {
            app_id: 7,
            app_type: 20,
            icon_name: "Outlook".into(),
            app_name: "Mail".into(),
            url: None,
            color: envsim::Color {
                kind: 1,
                value: Some("#123456".into()),
            },
        },
    );
    let apps = api.user_apps("ann@example.com", None).await.expect("apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(
        (apps[0].app_id, apps[0].app_type, apps[0].app_name.as_str()),
        (7, 20, "Mail")
    );
    assert_eq!(apps[0].color.value.as_deref(), Some("#123456"));
    assert!(apps[0].url.is_none());
    let e = api
        .user_apps("nobody@example.com", None)
        .await
        .expect_err("404");
    assert!(matches!(e, EnvApiError::NotFound(_)), "{e}");

    env.sim.seed_icon(
        ENV,
        IconSourceSim::Global,
        envsim::AppIcon {
            id: 36,
            kind: 1,
            name: "Phone".into(),
            content_type: "image/svg+xml".into(),
            content: b"<svg/>".to_vec(),
        },
    );
    let icons = api
        .app_icons(IconSource::Global, None)
        .await
        .expect("icons");
    assert_eq!(icons.len(), 1);
    assert_eq!(icons[0].name, "Phone");
    assert!(
        api.app_icons(IconSource::Environment, None)
            .await
            .expect("icons")
            .is_empty()
    );
    let icon = api
        .app_icon(IconSource::Global, 36, None)
        .await
        .expect("icon");
    assert_eq!((icon.id, icon.kind), (36, 1));
    let content = api
        .app_icon_content(IconSource::Global, 36, None)
        .await
        .expect("content");
    assert_eq!(content.bytes, b"<svg/>");
    assert_eq!(content.content_type.as_deref(), Some("image/svg+xml"));
    let e = api
        .app_icon(IconSource::Global, 99, None)
        .await
        .expect_err("400");
    assert!(
        matches!(&e, EnvApiError::Invalid(errors) if errors.to_string().contains("not found")),
        "{e}"
    );
    env.server.stop().await;
}

/// How many `GET {path}` the environment simulator received.
fn gets(env: &EnvFixture, path: &str) -> usize {
    env.server
        .log()
        .all()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

#[tokio::test]
async fn app_icon_reads_are_kept_for_their_ttl() {
    let env = EnvFixture::default_start();
    let icon = |id: i64, name: &str| envsim::AppIcon {
        id,
        kind: 1,
        name: name.into(),
        content_type: "image/svg+xml".into(),
        content: format!("<svg id=\"{id}\"/>").into_bytes(),
    };
    env.sim
        .seed_icon(ENV, IconSourceSim::Global, icon(36, "Phone"));
    let mut settings = env.settings();
    settings.metadata_cache.ttl_secs = 1;
    let api =
        EnvApi::new(&connector::Context::named("workspace365"), &settings, ENV).expect("client");
    const GLOBAL: &str = "/example/api/appicons/global";

    // Many readers at once: one vendor call; a second read later: none.
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let api = api.clone();
        readers.spawn(async move { api.app_icons(IconSource::Global, None).await });
    }
    for icons in readers.join_all().await {
        assert_eq!(icons.expect("icons")[0].name, "Phone");
    }
    assert_eq!(gets(&env, GLOBAL), 1);
    api.app_icons(IconSource::Global, None)
        .await
        .expect("icons");
    assert_eq!(gets(&env, GLOBAL), 1);

    // One icon and its image, each read twice: one call each.
    for _ in 0..2 {
        let info = api
            .app_icon(IconSource::Global, 36, None)
            .await
            .expect("icon");
        assert_eq!(info.name, "Phone");
        let content = api
            .app_icon_content(IconSource::Global, 36, None)
            .await
            .expect("content");
        assert_eq!(content.bytes, br#"<svg id="36"/>"#);
    }
    assert_eq!(gets(&env, "/example/api/appicons/global/36"), 1);
    assert_eq!(gets(&env, "/example/api/appicons/global/36/content"), 1);

    // A refusal is not kept: an icon added since is found.
    for _ in 0..2 {
        let e = api
            .app_icon(IconSource::Global, 37, None)
            .await
            .expect_err("400");
        assert!(matches!(e, EnvApiError::Invalid(_)), "{e}");
    }
    assert_eq!(gets(&env, "/example/api/appicons/global/37"), 2);
    env.sim
        .seed_icon(ENV, IconSourceSim::Global, icon(37, "Mail"));
    let mail = api
        .app_icon(IconSource::Global, 37, None)
        .await
        .expect("icon");
    assert_eq!(mail.name, "Mail");

    // The probe's read of the environment's icons is what the next lookup finds.
    env.sim
        .seed_icon(ENV, IconSourceSim::Environment, icon(5, "Own"));
    api.probe().await.expect("probe");
    let own = api
        .app_icons(IconSource::Environment, None)
        .await
        .expect("icons");
    assert_eq!(own[0].name, "Own");
    assert_eq!(
        gets(&env, "/example/api/appicons/environment"),
        1,
        "the probe's only"
    );

    // After the TTL the list is read again, and now has the icon added meanwhile.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let icons = api
        .app_icons(IconSource::Global, None)
        .await
        .expect("icons");
    assert_eq!(icons.len(), 2);
    assert_eq!(gets(&env, GLOBAL), 2);
    env.server.stop().await;
}

#[tokio::test]
async fn integration_credentials_create_update_and_not_found() {
    let env = EnvFixture::default_start();
    env.ad_user(1, "ann@example.com").await;
    let api = env.api();
    let creds = |pw: &str| IntegrationCredentials {
        username: "ann@example.com".into(),
        password: Secret::new(pw),
    };
    let id = api
        .create_integration_credentials("ann@example.com", &creds("qwerty"), None)
        .await
        .expect("created");
    assert_eq!(
        api.update_integration_credentials(id, &creds("qwerty_updated"), None)
            .await,
        Ok(CredentialsUpdate::Updated)
    );
    assert_eq!(env.sim.credentials(ENV)[0].password, "qwerty_updated");
    assert_eq!(
        api.update_integration_credentials(id + 100, &creds("x"), None)
            .await,
        Ok(CredentialsUpdate::NotFound)
    );
    let e = api
        .create_integration_credentials("nobody@example.com", &creds("x"), None)
        .await
        .expect_err("404");
    assert!(matches!(e, EnvApiError::NotFound(_)), "{e}");
    let bad = IntegrationCredentials {
        username: "not-an-email".into(),
        password: Secret::new("x"),
    };
    let e = api
        .create_integration_credentials("ann@example.com", &bad, None)
        .await
        .expect_err("400");
    assert!(e.to_string().contains("username"), "{e}");
    let paths: Vec<String> = env
        .server
        .log()
        .all()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(paths.contains(&"/example/IntegrationCredentialsApi/User/ann@example.com/".to_owned()));
    assert!(paths.contains(&format!("/example/IntegrationCredentialsApi/{id}/")));
    env.server.stop().await;
}

#[tokio::test]
async fn environment_api_credentials_and_faults() {
    let mut config = Workspace365EnvConfig::single(ENV, ADSYNC_TOKEN, API_TOKEN);
    config.environments[0].api_keys.push(ApiKey {
        name: "old".into(),
        token: "disabled-key".into(),
        enabled: false,
    });
    let env = EnvFixture::start(config);
    let mut wrong = env.settings();
    wrong.token = Some(Secret::new("not-a-key"));
    let api = EnvApi::new(&connector::Context::named("workspace365"), &wrong, ENV).expect("client");
    let e = api
        .app_icons(IconSource::Global, None)
        .await
        .expect_err("401");
    assert!(
        matches!(&e, EnvApiError::Failed(ConnectorError::Unauthorized { .. })),
        "{e}"
    );
    assert_eq!(env.server.log().len(), 1, "not retried");
    let mut disabled = env.settings();
    disabled.token = Some(Secret::new("disabled-key"));
    let e = EnvApi::new(&connector::Context::named("workspace365"), &disabled, ENV)
        .expect("client")
        .app_icons(IconSource::Global, None)
        .await
        .expect_err("403");
    assert!(
        matches!(&e, EnvApiError::Failed(ConnectorError::Unauthorized { .. })),
        "{e}"
    );

    // Reads are retried through 503s; a POST never is.
    let api = env.api();
    env.server.log().clear();
    env.server.faults().push(
        FaultRule::always(
            RouteMatch::new("GET", "/example/api/appicons"),
            Fault::Status(503),
        )
        .times(2),
    );
    api.app_icons(IconSource::Global, None)
        .await
        .expect("retried");
    assert_eq!(env.server.log().len(), 3);
    env.server.faults().push(
        FaultRule::always(
            RouteMatch::new("POST", "/example/api/announcements"),
            Fault::Status(503),
        )
        .times(1),
    );
    env.server.log().clear();
    let e = api
        .post_announcement(&NewAnnouncement::titled("x"), None)
        .await
        .expect_err("503");
    assert!(
        matches!(&e, EnvApiError::Failed(ConnectorError::Unavailable { .. })),
        "{e}"
    );
    assert_eq!(env.server.log().len(), 1);
    assert!(env.sim.announcements(ENV).is_empty());
    env.server.stop().await;
}

/// The default mapping sends exactly the calls the connector always sent: a transcript
/// recorded once in `tests/golden/`.
#[tokio::test]
async fn the_default_mapping_sends_what_it_always_sent() {
    let f = Fixture::start();
    let w = f.connector(|_| {});
    let created = apply(&w, None, Some(&ann()), &no_keys())
        .await
        .expect("created");
    let mut renamed = ann();
    renamed.shift_remove("password");
    renamed.insert(
        "name".into(),
        json!({"givenName": "Anne", "familyName": "Smith"}),
    );
    renamed.insert(EXTENSION_URN.into(), json!({"isAdministrator": true}));
    let keys = apply(&w, Some(&ann()), Some(&renamed), &created)
        .await
        .expect("updated");
    let mut inactive = renamed.clone();
    inactive.insert("active".into(), json!(false));
    let keys = apply(&w, Some(&renamed), Some(&inactive), &keys)
        .await
        .expect("deactivated");
    apply(&w, Some(&inactive), None, &keys)
        .await
        .expect("deleted");
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/provisioning_default_mapping.txt");
    vendor_sim::golden::assert_golden(&golden, &f.server.log().transcript());
    f.stop().await;
}

/// What `mapping preview` shows is what a real write then sends.
#[tokio::test]
async fn the_preview_is_what_a_write_sends() {
    let f = Fixture::start();
    let w = f.connector(|s| {
        s.mapping = serde_json::from_value(json!({"user": {"IsAdministrator": {
            "from": "roles.value", "transform": [{"map": {"admin": true}}], "default": false
        }}}))
        .expect("mapping");
    });
    let mut admin = ann();
    admin.insert("roles".into(), json!([{"value": "admin"}]));
    let planned = w
        .preview(ResourceKind::User, "u1", &admin)
        .expect("preview");
    assert_eq!(planned.len(), 2);
    assert!(
        planned[1].body.contains("\"IsAdministrator\":true"),
        "{planned:?}"
    );
    assert!(
        planned[1].body.contains("\"Password\":\"***\""),
        "secrets are never shown"
    );
    apply(&w, None, Some(&admin), &no_keys())
        .await
        .expect("created");
    let sent = f.server.log().all();
    for call in &planned {
        assert!(
            sent.iter().any(|r| call.call
                == format!("{} {}{}", r.method, f.server.base_url(), r.path)
                && r.body == call.body),
            "{call:?} was not sent; sent {sent:?}"
        );
    }
    f.stop().await;
}
