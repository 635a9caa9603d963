//! Every vendor connector's live status and probe, against the simulators over real sockets:
//! what a success, a failure and a recovery leave in the status, that a probe really calls
//! the vendor (the simulator's request log) and fails when the vendor does, the limiter's
//! queue and pause while throttled, and that no configured secret reaches the serialized
//! status.

use connector::{Connector, ConnectorError, ConnectorStatus, EndpointStatus};
use connector_workspace365::adsync::{AdSyncSettings, Workspace365AdSync};
use connector_workspace365::environment::EnvironmentApiSettings;
use connector_workspace365::provisioning::{PROBE_ADDRESS, Workspace365, Workspace365Settings};
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
    let w365 = Workspace365::new(
        &connector::Context::named("workspace365"),
        settings(DEMO_PROVISIONING_KEY, API_TOKEN),
    )
    .expect("w365");
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
    let wrong = Workspace365::new(
        &connector::Context::named("workspace365"),
        settings("wrong-provisioning-s3cret", "wrong-env-s3cret"),
    )
    .expect("w365");
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
    let w365 =
        Workspace365::new(&connector::Context::named("workspace365"), settings).expect("w365");
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
    let adsync = Workspace365AdSync::new(
        &connector::Context::named("workspace365-adsync"),
        settings(ADSYNC_TOKEN),
    )
    .expect("adsync");
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

    let wrong = Workspace365AdSync::new(
        &connector::Context::named("workspace365-adsync"),
        settings("wrong-adsync-s3cret"),
    )
    .expect("adsync");
    let e = wrong.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let shown = json(&wrong);
    assert!(!shown.contains("wrong-adsync-s3cret"), "{shown}");
    assert!(!json(&adsync).contains(ADSYNC_TOKEN));
    server.stop().await;
}
