//! Every vendor connector's live status and probe, against the simulators over real sockets:
//! what a success, a failure and a recovery leave in the status, that a probe really calls
//! the vendor (the simulator's request log) and fails when the vendor does, the limiter's
//! queue and pause while throttled, and that no configured secret reaches the serialized
//! status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connector::mytimetable::MyTimetableSettings;
use connector::outbound::OutboundRate;
use connector::timeedit::{TimeEdit, TimeEditSettings};
use connector::workspace365::{PROBE_ADDRESS, Workspace365, Workspace365Settings};
use connector::workspace365_adsync::{AdSyncSettings, Workspace365AdSync};
use connector::workspace365_env::EnvironmentApiSettings;
use connector::{
    Connector, ConnectorError, ConnectorStatus, Directory, EndpointStatus, MyTimetable,
};
use scim::ResourceKind;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::timeedit::{self as tesim, TimeEditConfig, TimeEditSim};
use vendor_sim::workspace365::{DEMO_PROVISIONING_KEY, Workspace365Config, Workspace365Sim};
use vendor_sim::workspace365_env::{Workspace365EnvConfig, Workspace365EnvSim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

fn options() -> SimOptions {
    SimOptions {
        workers: 2,
        ..SimOptions::default()
    }
}

/// The one endpoint of a single-endpoint connector.
fn endpoint(connector: &dyn Connector) -> EndpointStatus {
    let ConnectorStatus { endpoints } = connector.status();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    endpoints.into_iter().next().expect("one endpoint")
}

/// The status as the admin API will serialize it.
fn json(connector: &dyn Connector) -> String {
    serde_json::to_string(&connector.status()).expect("serializes")
}

fn assert_rfc3339(value: &serde_json::Value) {
    let text = value.as_str().expect("a timestamp string");
    OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339");
}

/// `METHOD path` of every request so far, then clears the log.
fn calls(server: &SimServer) -> Vec<String> {
    let calls = server
        .log()
        .all()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    server.log().clear();
    calls
}

fn fast(http: &mut connector::http::HttpSettings) {
    http.initial_backoff_ms = 10;
    http.max_backoff_ms = 40;
    http.timeout_secs = 2;
}

// ---- MyTimetable ------------------------------------------------------------------------

fn mytimetable() -> (MyTimetableSim, SimServer) {
    let sim = MyTimetableSim::new(MyTimetableConfig::default());
    let server = sim.start(options()).expect("simulator");
    (sim, server)
}

fn mtt_settings(server: &SimServer, token: &str) -> MyTimetableSettings {
    let mut settings = MyTimetableSettings::new(format!("{}/api/v0", server.base_url()), token);
    fast(&mut settings.http);
    settings
}

#[tokio::test]
async fn calls_set_success_failure_and_recovery() {
    let (_sim, server) = mytimetable();
    let mtt = MyTimetable::new(mtt_settings(&server, DEMO_ADMIN_TOKEN)).expect("connector");
    let fresh = endpoint(&mtt);
    assert_eq!(fresh.name, "mytimetable");
    assert_eq!(fresh.base_url, format!("{}/api/v0", server.base_url()));
    assert_eq!(fresh.reachable, None, "never called");
    assert_eq!((fresh.calls, fresh.failures), (0, 0));
    assert!(fresh.last_success.is_none() && fresh.last_failure.is_none());
    assert!(fresh.limiter.is_none(), "no rate limit configured");

    let before = OffsetDateTime::now_utc();
    mtt.list_accounts(ResourceKind::User, None)
        .await
        .expect("listed");
    let up = endpoint(&mtt);
    assert_eq!(up.reachable, Some(true));
    assert_eq!((up.calls, up.failures, up.retries), (2, 0, 0), "{up:?}");
    assert!(up.last_success.is_some_and(|at| at >= before));
    assert_eq!(up.consecutive_failures, 0);

    server.faults().push(FaultRule::always(
        RouteMatch::path("/api/v0/users"),
        Fault::Status(503),
    ));
    for streak in 1..=2 {
        let e = mtt
            .list_accounts(ResourceKind::User, None)
            .await
            .expect_err("the vendor is down");
        assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
        let down = endpoint(&mtt);
        assert_eq!(down.reachable, Some(false));
        assert_eq!(down.consecutive_failures, streak);
        assert_eq!(down.failures, u64::from(streak));
        assert_eq!(down.retries, 3 * u64::from(streak), "three retries a call");
        assert!(
            down.last_failure
                .is_some_and(|f| Some(f) >= down.last_success)
        );
        let error = down.last_error.expect("an error");
        assert!(
            error.contains("list users") && error.contains("503"),
            "{error}"
        );
    }
    let value: serde_json::Value = serde_json::from_str(&json(&mtt)).expect("json");
    let shown = &value["endpoints"][0];
    assert_rfc3339(&shown["lastSuccess"]);
    assert_rfc3339(&shown["lastFailure"]);
    assert_eq!(shown["consecutiveFailures"], 2);

    server.faults().clear();
    mtt.list_accounts(ResourceKind::User, None)
        .await
        .expect("back");
    let back = endpoint(&mtt);
    assert_eq!(back.reachable, Some(true));
    assert_eq!(back.consecutive_failures, 0, "a success ends the streak");
    assert!(back.last_success > back.last_failure);
    assert_eq!(back.failures, 2, "the failures stay counted");
    server.stop().await;
}

#[tokio::test]
async fn a_vendor_that_does_not_answer_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut settings =
        MyTimetableSettings::new(format!("http://127.0.0.1:{port}/api/v0"), DEMO_ADMIN_TOKEN);
    fast(&mut settings.http);
    let mtt = MyTimetable::new(settings).expect("connector");
    let e = mtt.probe().await.expect_err("nobody listens");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    let down = endpoint(&mtt);
    assert_eq!(down.reachable, Some(false));
    assert_eq!(down.retries, 0, "a probe tries once");
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("could not connect")),
        "{down:?}"
    );
}

#[tokio::test]
async fn mytimetable_probe_lists_users_once_and_fails_with_the_vendor() {
    let (_sim, server) = mytimetable();
    let mtt = MyTimetable::new(mtt_settings(&server, DEMO_ADMIN_TOKEN)).expect("connector");
    mtt.probe().await.expect("the vendor answers");
    mtt.probe().await.expect("again");
    assert_eq!(calls(&server), ["GET /api/v0/users", "GET /api/v0/users"]);
    assert_eq!(endpoint(&mtt).reachable, Some(true));

    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = mtt.probe().await.expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(
        calls(&server),
        ["GET /api/v0/users"],
        "one attempt, no retries"
    );
    let down = endpoint(&mtt);
    assert_eq!(down.reachable, Some(false));
    assert_eq!(down.consecutive_failures, 1);

    server.stop().await;
}

#[tokio::test]
async fn a_probe_answer_that_is_not_as_documented_is_a_failure_of_a_reachable_vendor() {
    // A vendor (or a proxy in front of it) answering 200 with something else than M1's JSON.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<html></html>",
                )
                .await;
        }
    });
    let mut settings =
        MyTimetableSettings::new(format!("http://127.0.0.1:{port}/api/v0"), DEMO_ADMIN_TOKEN);
    fast(&mut settings.http);
    let mtt = MyTimetable::new(settings).expect("connector");
    let e = mtt.probe().await.expect_err("not the documented JSON");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    let status = endpoint(&mtt);
    assert_eq!(status.reachable, Some(true));
    assert_eq!((status.calls, status.failures), (1, 1));
    assert_eq!(status.consecutive_failures, 1);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("not the documented JSON")),
        "{status:?}"
    );
    server.abort();
}

#[tokio::test]
async fn refused_credentials_are_a_failure_of_a_reachable_vendor_and_stay_secret() {
    let (_sim, server) = mytimetable();
    let secret = "s3cret-wrong-token";
    let mut settings = mtt_settings(&server, secret);
    // Credentials in the URL must not show either.
    settings.base_url = settings
        .base_url
        .replace("http://", "http://operator:hunter2@");
    let mtt = MyTimetable::new(settings).expect("connector");
    let e = mtt.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let refused = endpoint(&mtt);
    assert_eq!(refused.reachable, Some(true), "the vendor answered");
    assert_eq!(refused.consecutive_failures, 1);
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("credentials refused")),
        "{refused:?}"
    );
    let shown = json(&mtt);
    for secret in [secret, "hunter2", "operator"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains(&server.base_url()["http://".len()..]));

    let good = MyTimetable::new(mtt_settings(&server, DEMO_ADMIN_TOKEN)).expect("connector");
    good.probe().await.expect("accepted");
    assert!(!json(&good).contains(DEMO_ADMIN_TOKEN));
    server.stop().await;
}

#[tokio::test]
async fn the_limiter_shows_waiting_calls_and_the_vendors_pause() {
    let (_sim, server) = mytimetable();
    let mut settings = mtt_settings(&server, DEMO_ADMIN_TOKEN);
    settings.http.rate_limit = Some(OutboundRate {
        per_second: 2,
        burst: 1,
        max_wait_ms: 10_000,
    });
    let mtt = Arc::new(MyTimetable::new(settings).expect("connector"));
    let idle = endpoint(mtt.as_ref()).limiter.expect("a limiter");
    assert_eq!(
        (
            idle.rate_per_second,
            idle.burst,
            idle.max_wait_ms,
            idle.waiting
        ),
        (2, 1, 10_000, 0)
    );
    assert!(idle.paused_until.is_none());

    // At 2/s with a burst of 1, four probes at once leave three waiting.
    let probes: Vec<_> = (0..4)
        .map(|_| {
            let mtt = mtt.clone();
            tokio::spawn(async move { mtt.probe().await })
        })
        .collect();
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let now = endpoint(mtt.as_ref());
        let waiting = now.limiter.as_ref().expect("a limiter").waiting;
        assert!(now.in_flight >= waiting, "{now:?}");
        most = most.max(waiting);
        if most >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(most >= 2, "at most {most} waited");
    for probe in probes {
        probe.await.expect("joined").expect("each gets its turn");
    }
    let after = endpoint(mtt.as_ref());
    assert_eq!(after.limiter.expect("a limiter").waiting, 0);
    assert_eq!((after.in_flight, after.calls), (0, 4));

    // The vendor's 429 pauses the endpoint; the status says until when.
    server.faults().push(
        FaultRule::always(
            RouteMatch::path("/api/v0/users"),
            Fault::TooManyRequests {
                retry_after_secs: 2,
            },
        )
        .times(1),
    );
    let listing = {
        let mtt = mtt.clone();
        tokio::spawn(async move { mtt.list_accounts(ResourceKind::User, None).await })
    };
    let started = Instant::now();
    let paused = loop {
        let limiter = endpoint(mtt.as_ref()).limiter.expect("a limiter");
        if let Some(until) = limiter.paused_until {
            break until;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "no pause shown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let left = paused - OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::ZERO && left <= time::Duration::seconds(2),
        "{left}"
    );
    listing
        .await
        .expect("joined")
        .expect("served after the pause");
    let done = endpoint(mtt.as_ref());
    assert!(done.limiter.expect("a limiter").paused_until.is_none());
    assert_eq!(done.consecutive_failures, 0, "the retry succeeded");
    server.stop().await;
}

// ---- TimeEdit ---------------------------------------------------------------------------

fn timeedit() -> (TimeEditSim, SimServer) {
    let sim = TimeEditSim::new(TimeEditConfig::default());
    let server = sim.start(options()).expect("simulator");
    (sim, server)
}

fn te_settings(sim: &TimeEditSim, server: &SimServer, password: &str) -> TimeEditSettings {
    let mut settings = TimeEditSettings::new(
        format!("{}{}", server.base_url(), sim.endpoint_path()),
        tesim::DEFAULT_USERNAME,
        password,
        tesim::DEFAULT_CERTIFICATE,
    );
    fast(&mut settings.http);
    settings
}

/// The SOAP operation of each POST so far (`GET` for the WSDL), then clears the log.
fn soap_calls(server: &SimServer) -> Vec<String> {
    let ops = server
        .log()
        .all()
        .into_iter()
        .map(|r| {
            if r.method == "GET" {
                return "GET".to_owned();
            }
            ["register", "getAuthServers"]
                .into_iter()
                .find(|op| r.body.contains(&format!(":{op}>")))
                .unwrap_or("other")
                .to_owned()
        })
        .collect();
    server.log().clear();
    ops
}

#[tokio::test]
async fn timeedit_probe_calls_get_auth_servers_every_time() {
    let (sim, server) = timeedit();
    let te = TimeEdit::new(te_settings(&sim, &server, tesim::DEFAULT_PASSWORD)).expect("te");
    te.probe().await.expect("the vendor answers");
    assert_eq!(
        soap_calls(&server),
        ["GET", "register", "getAuthServers"],
        "the WSDL, the session, then the call"
    );
    te.probe().await.expect("again");
    assert_eq!(
        soap_calls(&server),
        ["getAuthServers"],
        "a probe is never answered from the cache"
    );
    let up = endpoint(&te);
    assert_eq!(up.name, "timeedit");
    assert_eq!(up.reachable, Some(true));
    assert_eq!((up.calls, up.failures), (4, 0));

    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = te.probe().await.expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(soap_calls(&server), ["getAuthServers"], "one attempt");
    let down = endpoint(&te);
    assert_eq!(down.reachable, Some(false));
    assert_eq!(down.consecutive_failures, 1);
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("getAuthServers") && e.contains("503")),
        "{down:?}"
    );
    server.faults().clear();
    te.probe().await.expect("back");
    assert_eq!(endpoint(&te).consecutive_failures, 0);
    server.stop().await;
}

#[tokio::test]
async fn timeedit_refused_credentials_show_as_a_failure_without_the_secrets() {
    let (sim, server) = timeedit();
    let password = "wrong-password-s3cret";
    let te = TimeEdit::new(te_settings(&sim, &server, password)).expect("te");
    let e = te.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let refused = endpoint(&te);
    // The SOAP fault came with HTTP 500, and yet the vendor answered: reachable, failing.
    assert_eq!(refused.reachable, Some(true));
    assert!(refused.consecutive_failures >= 1, "{refused:?}");
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Invalid credentials")),
        "{refused:?}"
    );
    let shown = json(&te);
    for secret in [password, tesim::DEFAULT_CERTIFICATE] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }

    // A certificate the vendor refuses fails at `register`.
    let mut settings = te_settings(&sim, &server, tesim::DEFAULT_PASSWORD);
    settings.certificate = Some(connector::Secret::new("forged-certificate-s3cret"));
    let forged = TimeEdit::new(settings).expect("te");
    let e = forged.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let status = endpoint(&forged);
    assert_eq!(status.consecutive_failures, 1, "{status:?}");
    let shown = json(&forged);
    for secret in ["forged-certificate-s3cret", tesim::DEFAULT_PASSWORD] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    server.stop().await;
}

// ---- Workspace 365 ----------------------------------------------------------------------

const ENV: &str = "example";
const API_TOKEN: &str = "9f1c2d3e-0000-4000-8000-00000000a001";
const ADSYNC_TOKEN: &str = "9f1c2d3e-0000-4000-8000-00000000b002";

fn environment_api() -> (Workspace365EnvSim, SimServer) {
    let sim = Workspace365EnvSim::new(Workspace365EnvConfig::single(ENV, ADSYNC_TOKEN, API_TOKEN));
    let server = sim.start(options()).expect("environment simulator");
    (sim, server)
}

#[tokio::test]
async fn workspace365_probe_validates_a_made_up_user_and_reads_icons() {
    let sim = Workspace365Sim::new(Workspace365Config::default());
    let server = sim.start(options()).expect("simulator");
    let (_env_sim, env_server) = environment_api();
    let settings = |key: &str, env_token: &str| {
        let mut s = Workspace365Settings::new(sim.api_base(&server), ENV, key);
        fast(&mut s.http);
        let mut env = EnvironmentApiSettings::new(env_server.base_url(), env_token);
        fast(&mut env.http);
        s.environment_api = Some(env);
        s
    };
    let w365 = Workspace365::new(settings(DEMO_PROVISIONING_KEY, API_TOKEN)).expect("w365");
    let names: Vec<_> = w365
        .status()
        .endpoints
        .into_iter()
        .map(|e| (e.name, e.reachable))
        .collect();
    assert_eq!(
        names,
        [
            ("workspace365".to_owned(), None),
            ("workspace365-environment".to_owned(), None)
        ]
    );
    w365.probe().await.expect("both answer");
    let validate = server.log().all();
    assert_eq!(validate.len(), 1);
    assert_eq!(
        (validate[0].method.as_str(), validate[0].path.as_str()),
        ("POST", "/Provisioning/example/User/Validate/")
    );
    assert!(validate[0].body.contains(PROBE_ADDRESS));
    assert!(sim.users(ENV).is_empty(), "validation creates nobody");
    assert_eq!(
        calls(&env_server),
        ["GET /example/api/appicons/environment"]
    );
    let status = w365.status();
    assert!(
        status
            .endpoints
            .iter()
            .all(|e| e.reachable == Some(true) && e.calls == 1)
    );

    // Each endpoint fails on its own.
    env_server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = w365.probe().await.expect_err("the environment API is down");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    let status = w365.status();
    assert_eq!(status.endpoints[0].consecutive_failures, 0);
    assert_eq!(status.endpoints[1].consecutive_failures, 1);
    assert_eq!(status.endpoints[1].reachable, Some(false));

    // Wrong keys: refused, reachable, and neither key in the status.
    env_server.faults().clear();
    let wrong =
        Workspace365::new(settings("wrong-provisioning-s3cret", "wrong-env-s3cret")).expect("w365");
    let e = wrong.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    for endpoint in wrong.status().endpoints {
        assert_eq!(endpoint.reachable, Some(true), "{endpoint:?}");
        assert_eq!(endpoint.consecutive_failures, 1, "{endpoint:?}");
    }
    let shown = serde_json::to_string(&wrong.status()).expect("json");
    for secret in ["wrong-provisioning-s3cret", "wrong-env-s3cret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let shown = serde_json::to_string(&w365.status()).expect("json");
    for secret in [DEMO_PROVISIONING_KEY, API_TOKEN] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    server.stop().await;
    env_server.stop().await;
}

#[tokio::test]
async fn workspace365_probe_reports_an_unknown_environment() {
    let sim = Workspace365Sim::new(Workspace365Config::default());
    let server = sim.start(options()).expect("simulator");
    let mut settings =
        Workspace365Settings::new(sim.api_base(&server), "nosuchenv", DEMO_PROVISIONING_KEY);
    fast(&mut settings.http);
    let w365 = Workspace365::new(settings).expect("w365");
    let e = w365.probe().await.expect_err("404");
    assert!(e.to_string().contains("nosuchenv"), "{e}");
    let status = endpoint(&w365);
    // The vendor answered, and the probe still failed: the status says both.
    assert_eq!(status.reachable, Some(true));
    assert_eq!((status.calls, status.failures), (1, 1));
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("nosuchenv")),
        "{status:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn adsync_probe_removes_a_membership_nobody_has() {
    let (sim, server) = environment_api();
    let settings = |token: &str| {
        let mut s = AdSyncSettings::new(server.base_url(), ENV, token);
        fast(&mut s.http);
        s
    };
    let adsync = Workspace365AdSync::new(settings(ADSYNC_TOKEN)).expect("adsync");
    adsync.probe().await.expect("the vendor answers");
    let nil = uuid::Uuid::nil();
    assert_eq!(
        calls(&server),
        [format!(
            "DELETE /{ENV}/ActiveDirectorySyncAPI/Groups/{nil}/Users/{nil}/"
        )]
    );
    assert!(sim.users(ENV).is_empty() && sim.groups(ENV).is_empty());
    let up = endpoint(&adsync);
    assert_eq!(up.name, "workspace365-adsync");
    assert_eq!(up.reachable, Some(true));

    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = adsync.probe().await.expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(calls(&server).len(), 1, "one attempt");
    assert_eq!(endpoint(&adsync).consecutive_failures, 1);
    server.faults().clear();

    let wrong = Workspace365AdSync::new(settings("wrong-adsync-s3cret")).expect("adsync");
    let e = wrong.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let shown = json(&wrong);
    assert!(!shown.contains("wrong-adsync-s3cret"), "{shown}");
    assert!(!json(&adsync).contains(ADSYNC_TOKEN));
    server.stop().await;
}

#[tokio::test]
async fn the_directory_has_no_endpoints_and_nothing_to_probe() {
    assert_eq!(Directory.status(), ConnectorStatus::default());
    assert_eq!(json(&Directory), r#"{"endpoints":[]}"#);
    Directory.probe().await.expect("nothing to reach");
}
