//! Every vendor connector's live status and probe, against the simulators over real sockets:
//! what a success, a failure and a recovery leave in the status, that a probe really calls
//! the vendor (the simulator's request log) and fails when the vendor does, the limiter's
//! queue and pause while throttled, and that no configured secret reaches the serialized
//! status.

use connector::{Connector, ConnectorError, ConnectorStatus, EndpointStatus};
use connector_timeedit::{TimeEdit, TimeEditSettings};
use vendor_sim::timeedit::{self as tesim, TimeEditConfig, TimeEditSim};
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

fn fast(http: &mut connector::http::HttpSettings) {
    http.initial_backoff_ms = 10;
    http.max_backoff_ms = 40;
    http.timeout_secs = 2;
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
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        te_settings(&sim, &server, tesim::DEFAULT_PASSWORD),
    )
    .expect("te");
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
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        te_settings(&sim, &server, password),
    )
    .expect("te");
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
    let forged = TimeEdit::new(&connector::Context::named("timeedit"), settings).expect("te");
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
